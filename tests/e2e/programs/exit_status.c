/* The restarted program keeps its exit status: dmtcp_restart (which became
 * the program) exits with what the program returns. */
#include "e2e.h"

int main(void) {
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 42;
}
