# cmake -DLOWDOWN=... -DIN=docs/plugins.md -DOUT=x.7 -DNAME=dmtcp-plugins
#       -DSECTION=7 -DWHATIS="one line" -P md2man.cmake
# A man page from a markdown page of docs/ (its one source), through
# Debian's lowdown.  Only the NAME section (for whatis/apropos) is added.
file(READ "${IN}" body)
get_filename_component(dir "${OUT}" DIRECTORY)
set(tmp "${OUT}.md")
file(WRITE "${tmp}" "# NAME\n\n${NAME} - ${WHATIS}\n\n${body}")
execute_process(
  COMMAND "${LOWDOWN}" -s -Tman -M "title=${NAME}" -M "section=${SECTION}"
          -M "source=dmtcp-cpp" -o "${OUT}" "${tmp}"
  RESULT_VARIABLE rc)
file(REMOVE "${tmp}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "lowdown failed on ${IN}: ${rc}")
endif()
