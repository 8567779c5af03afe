/* Test plugin: makes every checkpoint round last at least 1.5 s (it waits
 * in WRITE_CKPT), so that a signal the program arranged for a moment after
 * READY surely arrives while its threads are frozen. */
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dmtcp/plugin.h"

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t *data) {
  if (event == DMTCP_EVENT_WRITE_CKPT) {
    struct timespec t = {1, 500000000};
    syscall(SYS_nanosleep, &t, NULL); /* past every wrapper */
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
}
