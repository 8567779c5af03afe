/* The tutorial's first plugin (section 3.2.1), in our words: announce the
 * three events a user cares about.
 *
 * Algorithm:
 *  1. WRITE_CKPT: print the "before checkpointing" line, then pass the
 *     event on (work on the way into a checkpoint comes first).
 *  2. RESUME / RESTART: pass the event on first (inner plugins restore
 *     their state before us), then print.
 * Lines are written with write(2): the hook runs in the checkpoint thread
 * while user threads may hold the stdio lock. */
#include "dmtcp/plugin.h"
#include "say.h"

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t *data) {
  switch (event) {
    case DMTCP_EVENT_WRITE_CKPT:
      say("*** The plugin is being called before checkpointing. ***");
      DMTCP_NEXT_EVENT_HOOK(event, data);
      return;
    case DMTCP_EVENT_RESUME:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      say("*** Resume: the plugin has now been checkpointed. ***");
      return;
    case DMTCP_EVENT_RESTART:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      say("*** The plugin is now being restarted. ***");
      return;
    default:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      return;
  }
}
