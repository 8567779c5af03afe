/* The tutorial's applic-delayed-ckpt, in our words: a periodic checkpoint
 * (dmtcp_launch -i 1) that arrives while the program is between
 * dmtcp_disable_ckpt() and dmtcp_enable_ckpt() waits for the enable.
 *
 * 1. Disable, note our generation g.
 * 2. Wait until the coordinator has a round running (it is waiting for
 *    us): the checkpoint was requested while we were disabled.
 * 3. A second later our generation is still g: it is held back.
 * 4. Enable; the held round completes: our generation becomes g + 1. */
#include <time.h>

#include "dmtcp.h"
#include "e2e.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int generation(void) {
  int ckpts = -1, restarts = -1;
  E2E_CHECK(dmtcp_get_local_status(&ckpts, &restarts) == DMTCP_IS_PRESENT,
            "local status");
  return ckpts;
}

static int round_running(void) {
  int peers = -1, running = -1;
  E2E_CHECK(dmtcp_get_coordinator_status(&peers, &running) ==
                DMTCP_IS_PRESENT,
            "coordinator status");
  E2E_CHECK(peers >= 1, "%d processes", peers);
  return !running;
}

int main(void) {
  E2E_CHECK(dmtcp_is_enabled(), "run under dmtcp_launch -i 1");
  E2E_CHECK(dmtcp_disable_ckpt() == 1, "disable");
  int g = generation();
  e2e_say("applic: checkpoints disabled");
  double deadline = now() + 30;
  while (!round_running()) {
    E2E_CHECK(now() < deadline, "no periodic checkpoint was requested");
    usleep(20000);
  }
  e2e_say("applic: a checkpoint was requested while disabled");
  usleep(1000 * 1000);
  E2E_CHECK(round_running(), "the round ended without us");
  E2E_CHECK(generation() == g, "checkpointed while disabled (%d -> %d)", g,
            generation());
  e2e_say("applic: held back for a second");
  E2E_CHECK(dmtcp_enable_ckpt() == 1, "enable");
  e2e_say("applic: checkpoints enabled");
  deadline = now() + 30;
  while (generation() == g) {
    E2E_CHECK(now() < deadline, "no checkpoint after enable");
    usleep(20000);
  }
  e2e_say("applic: checkpointed after enable");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 0;
}
