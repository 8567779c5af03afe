/* A plugin whose constructor crashes: dmtcp_launch must name it and the
 * signal, in one line, and start nothing. */
#include <signal.h>

__attribute__((constructor)) static void crash_plugin_loaded(void) {
  raise(SIGSEGV);
}
