/* A session leader with a child in its own group: L calls setsid() and
 * forks M, which leads its own group, and N, which stays in L's.  After
 * the checkpoint getsid()/getpgid() give the same ids (to L, and to the
 * root, which learned M's pid through a pipe), kill(-M) reaches M only,
 * kill(-L) reaches L and N only, and tcsetpgrp()/tcgetpgrp() on a new pty
 * take and give M's group id. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "e2e.h"
#include "pid_test.h"

static pid_t g_leader;

/* M and N: wait for their group's signal, then check their ids. */
static void member(const char* who, int sig, int other, pid_t pgid) {
  if (wait_signal(sig, 600) != 0) {
    e2e_fail("%s %d: no signal %d", who, getpid(), sig);
  }
  E2E_CHECK(!signal_pending(other), "%s %d got a signal for another group", who,
            getpid());
  E2E_CHECK(getsid(0) == g_leader && getpgrp() == pgid && getppid() == g_leader,
            "%s %d: getsid %d getpgrp %d getppid %d, want %d %d %d", who,
            getpid(), getsid(0), getpgrp(), getppid(), g_leader, pgid,
            g_leader);
  _exit(0);
}

static void check_ids(const char* who, pid_t m, pid_t n) {
  pid_t l = g_leader;
  pid_t got[6] = {getsid(l),  getpgid(l), getsid(m),
                  getpgid(m), getsid(n),  getpgid(n)};
  E2E_CHECK(got[0] == l && got[1] == l && got[2] == l && got[3] == m &&
                got[4] == l && got[5] == l,
            "%s: getsid/getpgid of L %d: %d/%d, M %d: %d/%d, N %d: %d/%d "
            "(%s)",
            who, l, got[0], got[1], m, got[2], got[3], n, got[4], got[5],
            strerror(errno));
}

/* The foreground group of a new controlling terminal: set to M's group
 * and back (virtual ids in, virtual ids out). */
static void check_tty(pid_t m) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    printf("no pty (%s): tcsetpgrp not checked\n", strerror(errno));
    return;
  }
  int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  E2E_CHECK(slave >= 0 && ioctl(slave, TIOCSCTTY, 0) == 0,
            "controlling tty %s: %s", ptsname(master), strerror(errno));
  E2E_CHECK(tcgetpgrp(slave) == g_leader, "tcgetpgrp %d, want %d",
            tcgetpgrp(slave), g_leader);
  E2E_CHECK(tcsetpgrp(slave, m) == 0, "tcsetpgrp(%d): %s", m, strerror(errno));
  E2E_CHECK(tcgetpgrp(slave) == m && tcgetpgrp(master) == m,
            "tcgetpgrp %d (master %d), want %d", tcgetpgrp(slave),
            tcgetpgrp(master), m);
  /* Back to our own group (we are in the background now: no SIGTTOU). */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTTOU);
  sigprocmask(SIG_BLOCK, &set, NULL);
  E2E_CHECK(tcsetpgrp(slave, g_leader) == 0 && tcgetpgrp(slave) == g_leader,
            "tcsetpgrp back to %d: %s", g_leader, strerror(errno));
}

static void leader_main(int out) {
  E2E_CHECK(setsid() == getpid(), "setsid: %s", strerror(errno));
  g_leader = getpid();
  pid_t m = fork();
  E2E_CHECK(m >= 0, "fork: %s", strerror(errno));
  if (m == 0) {
    setpgid(0, 0);
    member("M", SIG_A, SIG_B, getpid());
  }
  setpgid(m, m);
  pid_t n = fork();
  E2E_CHECK(n >= 0, "fork: %s", strerror(errno));
  if (n == 0) {
    member("N", SIG_B, SIG_A, g_leader);
  }
  pid_t kids[2] = {m, n};
  E2E_CHECK(write(out, kids, sizeof kids) == sizeof kids, "write");
  check_ids("L", m, n);
  e2e_wait_for_go(NULL);
  check_ids("L", m, n);
  signal(SIGHUP, SIG_IGN);
  check_tty(m);
  /* The root checks M too: wait until it is done. */
  E2E_CHECK(wait_signal(SIG_C, 60) == 0, "L: no SIG_C from the root");
  E2E_CHECK(kill(-g_leader, SIG_B) == 0, "kill(-%d): %s", g_leader,
            strerror(errno));
  E2E_CHECK(wait_signal(SIG_B, 60) == 0, "L: no SIG_B from kill(-%d)",
            g_leader);
  E2E_CHECK(kill(-m, SIG_A) == 0, "kill(-%d): %s", m, strerror(errno));
  for (int i = 0; i < 2; ++i) {
    int st = -1;
    E2E_CHECK(waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) &&
                  WEXITSTATUS(st) == 0,
              "L: child %d status %#x (%s)", kids[i], st, strerror(errno));
  }
  _exit(0);
}

int main(void) {
  block_test_signals();
  int fds[2];
  E2E_CHECK(pipe(fds) == 0, "pipe: %s", strerror(errno));
  pid_t l = fork();
  E2E_CHECK(l >= 0, "fork: %s", strerror(errno));
  if (l == 0) {
    leader_main(fds[1]);
  }
  g_leader = l;
  pid_t kids[2];
  E2E_CHECK(read(fds[0], kids, sizeof kids) == sizeof kids, "read");
  check_ids("root", kids[0], kids[1]);
  E2E_CHECK(getsid(0) != l && getpgrp() != l, "root in L's session");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  check_ids("root", kids[0], kids[1]);
  E2E_CHECK(kill(l, SIG_C) == 0, "kill(L %d): %s", l, strerror(errno));
  int st = -1;
  E2E_CHECK(waitpid(l, &st, 0) == l && WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "L %d: status %#x (%s)", l, st, strerror(errno));
  e2e_say("PASS");
  return 0;
}
