/* A plugin that does nothing but note each load: one line with its pid in
 * $LAUNCH_TEST_PLUGIN_LOG (dmtcp_launch's trial load, then the program). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void noop_plugin_loaded(void) {
  const char* log = getenv("LAUNCH_TEST_PLUGIN_LOG");
  if (log == NULL || *log == '\0') {
    return;
  }
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return;
  }
  char line[32];
  int n = snprintf(line, sizeof line, "loaded %d\n", (int)getpid());
  if (write(fd, line, (size_t)n) < 0) {
    /* nothing to do: the test sees the line missing */
  }
  close(fd);
}
