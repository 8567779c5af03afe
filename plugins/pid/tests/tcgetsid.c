/* A session leader's terminal names its session by the leader's pid:
 * tcgetsid() gives the virtual one, as getsid() does (upstream DMTCP's
 * pty2 compares tcgetsid() of its pty slave with getpid()).  A child
 * calls setsid(); after each restart (a new real pid) it takes a new pty
 * as controlling terminal and checks tcgetsid() and tcgetpgrp() on it.
 * Before the fix tcgetsid() gave the kernel's pid after a restart.  The
 * pty is made after the restart: no file plugin needed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "e2e.h"

static void leader(int ready) {
  E2E_CHECK(setsid() == getpid(), "setsid: %s", strerror(errno));
  E2E_CHECK(write(ready, "x", 1) == 1, "write");
  e2e_wait_for_go(NULL);
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    printf("no pty (%s): tcgetsid not checked\n", strerror(errno));
    _exit(0);
  }
  int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  E2E_CHECK(slave >= 0 && ioctl(slave, TIOCSCTTY, 0) == 0,
            "controlling tty %s: %s", ptsname(master), strerror(errno));
  pid_t me = getpid();
  pid_t sid = tcgetsid(slave);
  pid_t fg = tcgetpgrp(slave);
  if (sid != me || fg != me || getsid(0) != me) {
    printf("FAIL: tcgetsid %d, tcgetpgrp %d, getsid %d, want %d\n", sid, fg,
           getsid(0), me);
    fflush(stdout);
    _exit(3);
  }
  _exit(0);
}

int main(void) {
  int ready[2];
  E2E_CHECK(pipe(ready) == 0, "pipe");
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    leader(ready[1]);
  }
  e2e_ready_when_child_is(ready[0]);
  e2e_child_exited_ok(child, "3: tcgetsid or tcgetpgrp gave another pid");
  e2e_say("PASS");
  return 0;
}
