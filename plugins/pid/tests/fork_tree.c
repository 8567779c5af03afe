/* A 3-level fork tree exchanging signals by the pids it saw before the
 * checkpoint: P kill()s its child C and grandchild G; G answers C and C
 * answers P with kill(getppid(), ...).  Every process also checks its own
 * getpid()/getppid() against what it saw at the start. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e.h"
#include "pid_test.h"

/* Not SIGUSR2: that is DMTCP's checkpoint signal. */
#define SIG_ANSWER (SIGRTMIN + 3)

static pid_t g_me, g_parent;

static void check_ids(const char *who) {
  E2E_CHECK(getpid() == g_me, "%s: getpid %d, was %d", who, getpid(), g_me);
  E2E_CHECK(getppid() == g_parent, "%s: getppid %d, was %d", who, getppid(),
            g_parent);
}

/* C and G: wait for P's SIGUSR1 (G: then answer C; C: also wait for G's
 * SIG_ANSWER, then answer P). */
static void child_main(const char *who, int has_child) {
  if (wait_signal(SIGUSR1, 600) != 0) {
    e2e_fail("%s: no SIGUSR1 from the root", who);
  }
  check_ids(who);
  if (has_child && wait_signal(SIG_ANSWER, 60) != 0) {
    e2e_fail("%s: no answer from the grandchild", who);
  }
  E2E_CHECK(kill(getppid(), SIG_ANSWER) == 0, "%s: kill(getppid()) failed: %s",
            who, strerror(errno));
}

int main(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIG_ANSWER);
  sigprocmask(SIG_BLOCK, &set, NULL);
  g_me = getpid();
  g_parent = getppid();
  int fds[2];
  E2E_CHECK(pipe(fds) == 0, "pipe");
  pid_t c = fork();
  E2E_CHECK(c >= 0, "fork");
  if (c == 0) {
    g_parent = g_me;
    g_me = getpid();
    pid_t g = fork();
    if (g == 0) {
      g_parent = g_me;
      g_me = getpid();
      child_main("grandchild", 0);
      _exit(0);
    }
    E2E_CHECK(write(fds[1], &g, sizeof g) == sizeof g, "write");
    child_main("child", 1);
    int st = 0;
    E2E_CHECK(waitpid(g, &st, 0) == g, "child: waitpid(%d): %s", g,
              strerror(errno));
    E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "grandchild failed");
    _exit(0);
  }
  pid_t g = 0;
  E2E_CHECK(read(fds[0], &g, sizeof g) == sizeof g, "read");
  E2E_CHECK(g > 0 && g != c && c != g_me, "pids %d %d %d", g_me, c, g);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  E2E_CHECK(getpid() == g_me, "root: getpid %d, was %d", getpid(), g_me);
  E2E_CHECK(kill(c, 0) == 0, "kill(child %d, 0): %s", c, strerror(errno));
  E2E_CHECK(kill(g, 0) == 0, "kill(grandchild %d, 0): %s", g, strerror(errno));
  E2E_CHECK(kill(c, SIGUSR1) == 0, "kill(child): %s", strerror(errno));
  E2E_CHECK(kill(g, SIGUSR1) == 0, "kill(grandchild): %s", strerror(errno));
  E2E_CHECK(wait_signal(SIG_ANSWER, 60) == 0, "root: no answer from the child");
  int st = 0;
  E2E_CHECK(waitpid(c, &st, 0) == c, "root: waitpid(%d): %s", c,
            strerror(errno));
  E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed (%#x)", st);
  E2E_CHECK(kill(c, 0) < 0 && errno == ESRCH, "reaped child %d still there", c);
  e2e_say("PASS");
  return 0;
}
