/* The tutorial's applic-initiated-ckpt, in our words: the program asks for
 * its own checkpoint.  dmtcp_checkpoint() returns DMTCP_AFTER_CHECKPOINT
 * in the running process and DMTCP_AFTER_RESTART when the process comes
 * back from that image; the same binary runs without DMTCP (weak symbols
 * behind macros: DMTCP_NOT_PRESENT). */
#include <string.h>

#include "dmtcp.h"
#include "e2e.h"

int main(void) {
  static char state[64];
  strcpy(state, "set before the checkpoint");
  if (dmtcp_is_enabled()) {
    e2e_say("applic: checkpointing");
  }
  int r = dmtcp_checkpoint();
  if (r == DMTCP_AFTER_CHECKPOINT) {
    e2e_say("applic: after checkpoint");
  } else if (r == DMTCP_AFTER_RESTART) {
    e2e_say("applic: after restart");
  } else if (r == DMTCP_NOT_PRESENT) {
    e2e_say("applic: no DMTCP");
  } else {
    e2e_fail("dmtcp_checkpoint returned %d", r);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  E2E_CHECK(strcmp(state, "set before the checkpoint") == 0, "state %s",
            state);
  e2e_say("PASS");
  return 0;
}
