/* A minimal out-of-tree plugin: announces INIT and wraps sleep().
 *
 * Algorithm:
 *  1. INIT: print "hello(<name>): INIT", pass the event on.
 *  2. sleep(): print "hello(<name>): sleep", call the next definition. */
#include <string.h>
#include <unistd.h>

#include <dmtcp/plugin.h>

#ifndef HELLO_NAME
#define HELLO_NAME "unnamed"
#endif

static void line(const char *what) {
  char buf[128];
  size_t n = 0;
  const char *parts[] = {"hello(", HELLO_NAME, "): ", what, "\n"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; ++i) {
    size_t len = strlen(parts[i]);
    if (n + len < sizeof buf) {
      memcpy(buf + n, parts[i], len);
      n += len;
    }
  }
  ssize_t w = write(STDOUT_FILENO, buf, n);
  (void)w;
}

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t *data) {
  if (event == DMTCP_EVENT_INIT) {
    line("INIT");
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
}

unsigned int sleep(unsigned int seconds) {
  line("sleep");
  return NEXT_FNC(sleep)(seconds);
}
