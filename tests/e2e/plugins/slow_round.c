/* Test plugin: makes every checkpoint round last at least 1.5 s (it waits
 * in WRITE_CKPT), so that a signal the program arranged for a moment after
 * READY surely arrives while its threads are frozen; and every restart
 * (it waits in RESTART, before the RESTARTED barrier), so that progress
 * lines have a round to show (e2e.compat.progress). */
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dmtcp/plugin.h"

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t *data) {
  if (event == DMTCP_EVENT_WRITE_CKPT || event == DMTCP_EVENT_RESTART) {
    struct timespec t = {1, 500000000};
    syscall(SYS_nanosleep, &t, NULL); /* past every wrapper */
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
}
