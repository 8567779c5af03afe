/* Application-initiated checkpoint: dmtcp_checkpoint() returns
 * DMTCP_AFTER_CHECKPOINT in the running process and DMTCP_AFTER_RESTART
 * when the process comes back from that image.  Natively it reports
 * DMTCP_NOT_PRESENT (weak symbols: the same binary runs without DMTCP). */
#include <string.h>

#include "../../../core/include/dmtcp.h"
#include "e2e.h"

int main(void) {
  static char marker[4096];
  strcpy(marker, "before checkpoint");
  int r = dmtcp_checkpoint(); /* natively: DMTCP_NOT_PRESENT, no crash */
  if (r == DMTCP_AFTER_RESTART) {
    e2e_say("RESTARTED");
  } else if (r == DMTCP_AFTER_CHECKPOINT) {
    e2e_say("CHECKPOINTED");
  } else {
    E2E_CHECK(r == DMTCP_NOT_PRESENT, "dmtcp_checkpoint returned %d", r);
    E2E_CHECK(!dmtcp_is_enabled(), "enabled but not present");
    e2e_say("NATIVE");
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  E2E_CHECK(strcmp(marker, "before checkpoint") == 0, "marker: %s", marker);
  int ckpts = -1, restarts = -1;
  int status = dmtcp_get_local_status(&ckpts, &restarts);
  if (dmtcp_is_enabled()) {
    E2E_CHECK(status == DMTCP_IS_PRESENT, "local status %d", status);
    E2E_CHECK(ckpts >= 1, "generation %d", ckpts);
    E2E_CHECK((r == DMTCP_AFTER_RESTART) == (restarts > 0),
              "result %d but %d restarts", r, restarts);
  } else {
    E2E_CHECK(status == DMTCP_NOT_PRESENT && ckpts == -1,
              "local status %d natively", status);
  }
  e2e_say("PASS");
  return 0;
}
