/* Periodic checkpoints (dmtcp_launch -i 1): the generation advances on its
 * own while the program computes; dmtcp_disable_ckpt() holds checkpoints
 * back until dmtcp_enable_ckpt(). */
#include <time.h>

#include "../../../core/include/dmtcp.h"
#include "e2e.h"

static int generation(void) {
  int ckpts = -1;
  return dmtcp_get_local_status(&ckpts, NULL) == DMTCP_IS_PRESENT ? ckpts
                                                                   : -1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
  if (!dmtcp_is_enabled()) {
    e2e_say("READY");
    e2e_wait_for_go(NULL);
    e2e_say("PASS");
    return 0;
  }
  int g0 = generation();
  double start = now();
  while (generation() < g0 + 2 && now() - start < 20) {
    usleep(10000);
  }
  E2E_CHECK(generation() >= g0 + 2, "no periodic checkpoints (gen %d)",
            generation());
  dmtcp_disable_ckpt();
  int held = generation();
  usleep(2500000);
  E2E_CHECK(generation() == held, "checkpoint while disabled (%d -> %d)",
            held, generation());
  dmtcp_enable_ckpt();
  start = now();
  while (generation() == held && now() - start < 20) {
    usleep(10000);
  }
  E2E_CHECK(generation() > held, "checkpoint not taken after enable");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 0;
}
