/* A process group of children, reached by the group id seen before the
 * checkpoint: A leads the group, B and C joined it, D stays in the root's
 * group.  kill(-A) reaches A, B and C; once A is reaped the group keeps
 * its id for getpgid(), killpg(A), waitid(P_PGID, A) and waitpid(-A); D
 * gets nothing of it.  Each child checks its own group and
 * session ids after the signal. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"
#include "pid_test.h"

static pid_t g_root_sid;

/* A, B and C: SIG_A from kill(-A); then A exits and B and C wait for SIG_B
 * from killpg(A). */
static void member(pid_t leader) {
  if (wait_signal(SIG_A, 600) != 0) {
    e2e_fail("member %d: no SIG_A from kill(-%d)", getpid(), leader);
  }
  E2E_CHECK(getpgrp() == leader && getpgid(0) == leader &&
                getpgid(getpid()) == leader,
            "member %d: getpgrp %d getpgid(0) %d getpgid(self) %d, want %d",
            getpid(), getpgrp(), getpgid(0), getpgid(getpid()), leader);
  E2E_CHECK(getsid(0) == g_root_sid, "member %d: getsid %d, want %d", getpid(),
            getsid(0), g_root_sid);
  if (getpid() == leader) {
    _exit(0); /* the group lives on without its leader */
  }
  E2E_CHECK(wait_signal(SIG_B, 60) == 0, "member %d: no SIG_B from killpg",
            getpid());
  _exit(0);
}

/* D: in the root's group; only its own SIG_C may come. */
static void outsider(void) {
  if (wait_signal(SIG_C, 600) != 0) {
    e2e_fail("outsider %d: no SIG_C", getpid());
  }
  E2E_CHECK(!signal_pending(SIG_A) && !signal_pending(SIG_B),
            "outsider %d got a signal sent to another group", getpid());
  _exit(0);
}

static void check_groups(pid_t a, pid_t b, pid_t c, pid_t d) {
  pid_t ga = getpgid(a), gb = getpgid(b), gc = getpgid(c), gd = getpgid(d);
  E2E_CHECK(ga == a && gb == a && gc == a && gd == getpgrp(),
            "getpgid of A %d B %d C %d D %d = %d %d %d %d, want %d %d %d %d "
            "(%s)",
            a, b, c, d, ga, gb, gc, gd, a, a, a, getpgrp(), strerror(errno));
  E2E_CHECK(getsid(a) == g_root_sid && getsid(b) == g_root_sid,
            "getsid(A) %d getsid(B) %d, want %d", getsid(a), getsid(b),
            g_root_sid);
}

static pid_t reap_one(pid_t how, pid_t b, pid_t c) {
  int st = -1;
  pid_t r = waitpid(how, &st, 0);
  E2E_CHECK((r == b || r == c) && WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "waitpid(%d) = %d status %#x (%s)", how, r, st, strerror(errno));
  return r;
}

int main(void) {
  block_test_signals();
  g_root_sid = getsid(0);
  pid_t a = fork();
  E2E_CHECK(a >= 0, "fork: %s", strerror(errno));
  if (a == 0) {
    setpgid(0, 0);
    member(getpid());
  }
  /* Also here, as shells do: the group exists before B and C join. */
  setpgid(a, a);
  pid_t bc[2];
  for (int i = 0; i < 2; ++i) {
    bc[i] = fork();
    E2E_CHECK(bc[i] >= 0, "fork: %s", strerror(errno));
    if (bc[i] == 0) {
      E2E_CHECK(setpgid(0, a) == 0, "setpgid(0, %d): %s", a, strerror(errno));
      member(a);
    }
    setpgid(bc[i], a);
  }
  pid_t d = fork();
  E2E_CHECK(d >= 0, "fork: %s", strerror(errno));
  if (d == 0) {
    outsider();
  }
  pid_t b = bc[0], c = bc[1];
  check_groups(a, b, c, d);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  check_groups(a, b, c, d);
  E2E_CHECK(killpg(a, 0) == 0, "killpg(%d, 0): %s", a, strerror(errno));
  E2E_CHECK(kill(-a, SIG_A) == 0, "kill(-%d): %s", a, strerror(errno));
  /* The leader exits first: its group, now leaderless, keeps its id. */
  int st = -1;
  E2E_CHECK(waitpid(a, &st, 0) == a && WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "leader %d: status %#x (%s)", a, st, strerror(errno));
  E2E_CHECK(kill(a, 0) < 0 && errno == ESRCH, "reaped leader %d answers", a);
  E2E_CHECK(getpgid(b) == a && getpgid(c) == a,
            "leaderless group: getpgid of B %d C %d = %d %d, want %d", b, c,
            getpgid(b), getpgid(c), a);
  E2E_CHECK(killpg(a, SIG_B) == 0, "killpg(%d): %s", a, strerror(errno));
  /* Reap the group by its id: waitid(P_PGID), then waitpid(-pgid). */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  E2E_CHECK(waitid(P_PGID, (id_t)a, &si, WEXITED) == 0,
            "waitid(P_PGID, %d): %s", a, strerror(errno));
  E2E_CHECK((si.si_pid == b || si.si_pid == c) && si.si_code == CLD_EXITED &&
                si.si_status == 0,
            "waitid(P_PGID, %d): pid %d code %d status %d", a, si.si_pid,
            si.si_code, si.si_status);
  pid_t r = reap_one(-a, b, c);
  E2E_CHECK(r != si.si_pid, "reaped %d twice", r);
  E2E_CHECK(waitpid(-a, NULL, WNOHANG) < 0 && errno == ECHILD,
            "group %d still has children to wait for", a);
  E2E_CHECK(killpg(a, 0) < 0 && errno == ESRCH, "empty group %d answers", a);
  E2E_CHECK(kill(d, SIG_C) == 0, "kill(D %d): %s", d, strerror(errno));
  E2E_CHECK(waitpid(d, &st, 0) == d && WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "outsider %d: status %#x (%s)", d, st, strerror(errno));
  e2e_say("PASS");
  return 0;
}
