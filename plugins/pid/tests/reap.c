/* A parent that reaps its children after restart by the pids fork()
 * returned before the checkpoint, with waitpid, wait4 and waitid, and
 * checks their exit codes; afterwards those pids are gone (ESRCH). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "e2e.h"

#define N 5

int main(void) {
  pid_t kids[N];
  pid_t me = getpid();
  for (int i = 0; i < N; ++i) {
    kids[i] = fork();
    E2E_CHECK(kids[i] >= 0, "fork");
    if (kids[i] == 0) {
      e2e_wait_for_go(NULL);
      if (getppid() != me) {
        _exit(99);
      }
      _exit(10 + i);
    }
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  /* Reverse order, so we never just take "the next one to exit". */
  for (int i = N - 1; i >= 0; --i) {
    int st = 0;
    pid_t r;
    if (i % 3 == 0) {
      r = waitpid(kids[i], &st, 0);
    } else if (i % 3 == 1) {
      struct rusage ru;
      r = wait4(kids[i], &st, 0, &ru);
    } else {
      siginfo_t si;
      memset(&si, 0, sizeof si);
      r = waitid(P_PID, (id_t)kids[i], &si, WEXITED) == 0 ? si.si_pid : -1;
      st = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : -1;
    }
    E2E_CHECK(r == kids[i], "wait for child %d returned %d (%s)", kids[i], r,
              strerror(errno));
    E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 10 + i,
              "child %d: status %#x, want exit %d", kids[i], st, 10 + i);
    E2E_CHECK(kill(kids[i], 0) < 0 && errno == ESRCH,
              "reaped child %d still answers kill()", kids[i]);
  }
  /* Not wait(-1): after a restart through dmtcp_restart_script.sh the
   * root may have inherited bash's process-substitution child. */
  for (int i = 0; i < N; ++i) {
    E2E_CHECK(waitpid(kids[i], NULL, WNOHANG) < 0 && errno == ECHILD,
              "child %d can be waited for twice", kids[i]);
  }
  e2e_say("PASS");
  return 0;
}
