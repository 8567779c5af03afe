# dmtcp_add_plugin(NAME SOURCES...): an internal plugin libdmtcp_NAME.so,
# hidden visibility (wrappers and dmtcp_event_hook are exported explicitly).
function(dmtcp_add_plugin name)
  add_library(dmtcp_${name} SHARED ${ARGN})
  target_link_libraries(dmtcp_${name} PRIVATE dmtcp_plugin_api)
  set_target_properties(dmtcp_${name} PROPERTIES
    CXX_VISIBILITY_PRESET hidden C_VISIBILITY_PRESET hidden
    OUTPUT_NAME dmtcp_${name})
  install(TARGETS dmtcp_${name}
          LIBRARY DESTINATION ${DMTCP_INSTALL_PKGLIBDIR})
endfunction()

# dmtcp_add_unit_test(NAME SOURCES... LIBS libs... LABELS labels...)
# Each runs for at most DMTCP_UNIT_TIMEOUT seconds (a sanitized build
# raises it: scripts/sanitize.sh, where a bit-flip sweep over an image
# took 118 s on a slow machine).
set(DMTCP_UNIT_TIMEOUT 120 CACHE STRING "Time limit of each unit test (s)")
function(dmtcp_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} Boost::unit_test_framework)
  target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK)
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES LABELS "unit;${T_LABELS}"
                       TIMEOUT ${DMTCP_UNIT_TIMEOUT})
endfunction()

# dmtcp_add_e2e_test(NAME COMMAND cmd... [PREFIX p] [MODES m...]
#                    [LABELS l...] [HARNESS_ARGS a...] [TIMEOUT s])
# One ctest per mode: PREFIX.NAME.MODE (PREFIX defaults to e2e), labelled
# e2e and LABELS.  The program must print READY, wait for the go file and
# print PASS (tests/e2e/harness.py).  Callers find Python3 first.
function(dmtcp_add_e2e_test name)
  cmake_parse_arguments(T "" "TIMEOUT;PREFIX"
                        "COMMAND;MODES;LABELS;HARNESS_ARGS" ${ARGN})
  if(NOT T_PREFIX)
    set(T_PREFIX e2e)
  endif()
  if(NOT T_MODES)
    set(T_MODES native launched resume restart restart2)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 180)
  endif()
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/e2e-work)
  foreach(mode IN LISTS T_MODES)
    add_test(NAME ${T_PREFIX}.${name}.${mode}
      COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/e2e/harness.py
              --bin ${CMAKE_BINARY_DIR}/bin --mode ${mode}
              --workdir ${CMAKE_BINARY_DIR}/e2e-work ${T_HARNESS_ARGS}
              -- ${T_COMMAND})
    set_tests_properties(${T_PREFIX}.${name}.${mode} PROPERTIES
      LABELS "e2e;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
      PASS_REGULAR_EXPRESSION "\\[harness\\] PASS ${mode}")
  endforeach()
endfunction()
