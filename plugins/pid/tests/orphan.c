/* An orphan: P forks O and exits before the checkpoint, so O's parent is
 * whoever adopted it (init or a subreaper).  O's image has no parent image
 * and is restored as a tree of its own, a child of dmtcp_restart.  After
 * restart O keeps its pid, getppid() reports its current parent as the
 * kernel does (adopted orphans see their adopter, not the dead parent),
 * the dead parent stays dead for kill(), and O and the root still signal
 * each other by the pids they saw. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"
#include "pid_test.h"

static void orphan_main(pid_t root, pid_t dead_parent) {
  pid_t me = getpid();
  /* Until the kernel has reparented us. */
  for (int i = 0; i < 6000 && getppid() == dead_parent; ++i) {
    usleep(10000);
  }
  pid_t adopter = getppid();
  E2E_CHECK(adopter != dead_parent, "O: still a child of %d", dead_parent);
  E2E_CHECK(kill(root, SIG_A) == 0, "O: kill(root %d): %s", root,
            strerror(errno));
  e2e_wait_for_go(NULL);
  pid_t now = getppid();
  printf("orphan: parent %d, adopted by %d, now %d\n", dead_parent, adopter,
         now);
  E2E_CHECK(getpid() == me, "O: getpid %d, was %d", getpid(), me);
  E2E_CHECK(now > 0 && now != dead_parent && now != me, "O: getppid %d", now);
  /* init may refuse our signals (EPERM); it must exist. */
  E2E_CHECK(kill(now, 0) == 0 || errno == EPERM, "O: kill(getppid %d): %s", now,
            strerror(errno));
  E2E_CHECK(kill(dead_parent, 0) < 0 && errno == ESRCH,
            "O: dead parent %d answers kill()", dead_parent);
  /* Not gone before the root has reached us (our new parent reaps us). */
  E2E_CHECK(wait_signal(SIG_C, 60) == 0, "O: no SIG_C from the root");
  E2E_CHECK(kill(root, SIG_B) == 0, "O: kill(root %d): %s", root,
            strerror(errno));
  exit(0);
}

int main(void) {
  block_test_signals();
  pid_t root = getpid();
  int fds[2];
  E2E_CHECK(pipe(fds) == 0, "pipe: %s", strerror(errno));
  pid_t p = fork();
  E2E_CHECK(p >= 0, "fork: %s", strerror(errno));
  if (p == 0) {
    pid_t me = getpid();
    pid_t o = fork();
    E2E_CHECK(o >= 0, "P: fork: %s", strerror(errno));
    if (o == 0) {
      orphan_main(root, me); /* not getppid(): P may be gone already */
    }
    E2E_CHECK(write(fds[1], &o, sizeof o) == sizeof o, "write");
    _exit(0);
  }
  pid_t o = 0;
  E2E_CHECK(read(fds[0], &o, sizeof o) == sizeof o, "read");
  int st = -1;
  E2E_CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "P %d: status %#x (%s)", p, st, strerror(errno));
  E2E_CHECK(wait_signal(SIG_A, 60) == 0, "root: O %d was not reparented", o);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  E2E_CHECK(kill(o, 0) == 0 && kill(o, SIG_C) == 0, "root: kill(O %d): %s", o,
            strerror(errno));
  E2E_CHECK(wait_signal(SIG_B, 60) == 0, "root: no SIG_B from O %d", o);
  e2e_say("PASS");
  return 0;
}
