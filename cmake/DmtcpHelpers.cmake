# dmtcp_add_plugin(NAME SOURCES...): an internal plugin libdmtcp_NAME.so,
# hidden visibility (wrappers and dmtcp_event_hook are exported explicitly).
function(dmtcp_add_plugin name)
  add_library(dmtcp_${name} SHARED ${ARGN})
  target_link_libraries(dmtcp_${name} PRIVATE dmtcp_plugin_api)
  set_target_properties(dmtcp_${name} PROPERTIES
    CXX_VISIBILITY_PRESET hidden C_VISIBILITY_PRESET hidden
    OUTPUT_NAME dmtcp_${name})
  install(TARGETS dmtcp_${name} LIBRARY DESTINATION lib/dmtcp)
endfunction()

# dmtcp_add_unit_test(NAME SOURCES... LIBS libs... LABELS labels...)
function(dmtcp_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} Boost::unit_test_framework)
  target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK)
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES LABELS "unit;${T_LABELS}"
                       TIMEOUT 120)
endfunction()
