/* Calls publish/subscribe from the program's own thread, outside any
 * round: both must fail with -1 and errno set.  Then waits like the "wait"
 * program so the plugin's rounds can run. */
#include <errno.h>
#include <string.h>

#include "dmtcp/plugin.h"
#include "e2e.h"

/* Weak: the program links without libdmtcp.so, which provides them at run
 * time. */
#pragma weak dmtcp_send_key_val_pair_to_coordinator
#pragma weak dmtcp_send_query_to_coordinator

int main(void) {
  E2E_CHECK(dmtcp_send_query_to_coordinator != NULL, "not under DMTCP");
  errno = 0;
  int r = dmtcp_send_key_val_pair_to_coordinator("k", 1, "v", 1);
  E2E_CHECK(r == -1 && errno != 0, "publish from main: %d errno %d", r,
            errno);
  char v[4];
  size_t len = sizeof v;
  errno = 0;
  r = dmtcp_send_query_to_coordinator("k", 1, v, &len);
  E2E_CHECK(r == -1 && errno != 0, "query from main: %d errno %d", r, errno);
  e2e_say("prog: outside-round calls refused");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 0;
}
