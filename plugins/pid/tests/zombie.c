/* Children that have exited but are not reaped at the checkpoint
 * (zombies) are still there after a resume and after a restart: kill(z, 0)
 * finds them, getpgid()/getsid() name their groups and sessions, and
 * waitpid, wait4, waitid (also by group) reap them with their status: an
 * exit code, a signal (SIGKILL, and SIGSEGV whose core dump is not
 * asked for), from a fork-only and from an exec'd child.  Before, a zombie
 * had no image and waitpid() gave ECHILD after a restart. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "e2e.h"

enum { EXIT3, KILLED, SEGV, EXEC5, GROUP6, SESSION7, N };

static atomic_int sigchld_count;

static void on_sigchld(int sig) {
  (void)sig;
  atomic_fetch_add(&sigchld_count, 1);
}

static pid_t spawn(int kind) {
  pid_t pid = fork();
  E2E_CHECK(pid >= 0, "fork: %s", strerror(errno));
  if (pid != 0) {
    return pid;
  }
  struct rlimit no_core = {0, 0};
  switch (kind) {
    case EXIT3:
      _exit(3);
    case KILLED:
      kill(getpid(), SIGKILL);
      break;
    case SEGV:
      setrlimit(RLIMIT_CORE, &no_core);
      signal(SIGSEGV, SIG_DFL);
      kill(getpid(), SIGSEGV);
      break;
    case EXEC5:
      execl("/bin/sh", "sh", "-c", "exit 5", (char*)NULL);
      break;
    case GROUP6:
      setpgid(0, 0);
      _exit(6);
    case SESSION7:
      setsid();
      _exit(7);
  }
  _exit(99);
}

static void check_status(int kind, pid_t pid, int st) {
  static const int codes[N] = {3, -1, -1, 5, 6, 7};
  if (kind == KILLED || kind == SEGV) {
    int sig = kind == KILLED ? SIGKILL : SIGSEGV;
    E2E_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == sig,
              "zombie %d: status %#x, want killed by signal %d", pid, st, sig);
    return;
  }
  E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == codes[kind],
            "zombie %d: status %#x, want exit %d", pid, st, codes[kind]);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  pid_t z[N];
  for (int k = 0; k < N; ++k) {
    z[k] = spawn(k);
  }
  for (int k = 0; k < N; ++k) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r;
    do {
      r = waitid(P_PID, (id_t)z[k], &si, WEXITED | WNOWAIT);
    } while (r < 0 && errno == EINTR);
    E2E_CHECK(r == 0 && si.si_pid == z[k], "waitid(WNOWAIT) %d: %s", z[k],
              strerror(errno));
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  for (int k = 0; k < N; ++k) {
    E2E_CHECK(kill(z[k], 0) == 0, "zombie %d is gone: kill: %s", z[k],
              strerror(errno));
  }
  E2E_CHECK(getpgid(z[GROUP6]) == z[GROUP6], "getpgid(%d) = %d", z[GROUP6],
            getpgid(z[GROUP6]));
  E2E_CHECK(getsid(z[SESSION7]) == z[SESSION7], "getsid(%d) = %d", z[SESSION7],
            getsid(z[SESSION7]));
  for (int k = N - 1; k >= 0; --k) {
    int st = 0;
    pid_t r;
    if (k == GROUP6) {
      r = waitpid(-z[k], &st, 0);
    } else if (k % 3 == 0) {
      r = waitpid(z[k], &st, 0);
    } else if (k % 3 == 1) {
      struct rusage ru;
      r = wait4(z[k], &st, 0, &ru);
    } else {
      siginfo_t si;
      memset(&si, 0, sizeof si);
      r = waitid(P_PID, (id_t)z[k], &si, WEXITED) == 0 ? si.si_pid : -1;
      if (si.si_code == CLD_EXITED) {
        st = (si.si_status & 0xff) << 8;
      } else if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED) {
        st = si.si_status & 0x7f;
      } else {
        st = -1;
      }
    }
    E2E_CHECK(r == z[k], "wait for zombie %d returned %d (%s)", z[k], r,
              strerror(errno));
    check_status(k, z[k], st);
  }
  for (int k = 0; k < N; ++k) {
    E2E_CHECK(waitpid(z[k], NULL, WNOHANG) < 0 && errno == ECHILD,
              "zombie %d can be reaped twice", z[k]);
  }
  E2E_CHECK(atomic_load(&sigchld_count) > 0, "no SIGCHLD at all");
  e2e_say("PASS");
  return 0;
}
