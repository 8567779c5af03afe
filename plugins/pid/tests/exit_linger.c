/* Children that leave the computation and are slow to die: each forked
 * child exits with its own code, and its exit lingers 100 ms in a
 * destructor, which runs after the runtime has told the coordinator it is
 * leaving.  A checkpoint nearly always finds one in that window: frozen
 * with the round, the parent notes which children are zombies, and one
 * that is still dying would be neither a zombie nor in an image, so after
 * a restart the parent's waitpid() would fail with ECHILD (make -j2:
 * "gcc: failed to get exit status: No child processes").  The coordinator
 * holds the round until such a child is dead (tools/coordinator/leavers.h).
 * Each child is waited for by its pid and must exit with its code. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

static int g_is_child;

__attribute__((destructor)) static void linger(void) {
  if (g_is_child) {
    usleep(100 * 1000);
  }
}

/* Two children alive at any time, reaped oldest first. */
enum { kInFlight = 2 };

int main(void) {
  pid_t pids[kInFlight];
  int codes[kInFlight];
  unsigned long forked = 0;
  unsigned long reaped = 0;
  int go = 0;
  for (int after_go = 0; after_go < 20; after_go += go) {
    if (forked - reaped == kInFlight) {
      int slot = (int)(reaped % kInFlight);
      int status = 0;
      pid_t got;
      while ((got = waitpid(pids[slot], &status, 0)) < 0 && errno == EINTR) {
      }
      E2E_CHECK(got == pids[slot], "waitpid(%d) of child #%lu: %d (%s)",
                pids[slot], reaped, got, strerror(errno));
      E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == codes[slot],
                "child #%lu (%d): status 0x%x, want exit %d", reaped,
                pids[slot], status, codes[slot]);
      if (++reaped == 20) {
        e2e_say("READY");
      }
      go = go || (reaped > 20 && e2e_go_seen());
      continue;
    }
    int slot = (int)(forked % kInFlight);
    codes[slot] = (int)(forked % 100) + 1;
    pid_t pid = fork();
    E2E_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
      g_is_child = 1;
      exit(codes[slot]);
    }
    pids[slot] = pid;
    ++forked;
  }
  for (; reaped < forked; ++reaped) {
    int slot = (int)(reaped % kInFlight);
    int status = 0;
    E2E_CHECK(waitpid(pids[slot], &status, 0) == pids[slot] &&
                  WIFEXITED(status) && WEXITSTATUS(status) == codes[slot],
              "last child #%lu (%d): %s", reaped, pids[slot], strerror(errno));
  }
  E2E_CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD,
            "a child is left over");
  printf("%lu children forked and reaped\n", forked);
  e2e_say("PASS");
  return 0;
}
