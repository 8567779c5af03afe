/* A program that closes every fd from 3 up, as daemons and screen do:
 *   (no argument)  syscall(SYS_close_range, 3, ~0, 0), the raw form a
 *                  program may call instead of close_range();
 *   loop           close(fd) for each fd up to getdtablesize().
 * The runtime's own fds (its coordinator connection) must stay open, so
 * that the checkpoint after it still happens.  Both closed it before the
 * syscall() and close() wrappers (upstream DMTCP's syscall-tester and
 * screen tests: "lost the coordinator", no image). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "e2e.h"

int main(int argc, char** argv) {
  int fd = open("/dev/null", O_RDONLY);
  E2E_CHECK(fd >= 3, "open /dev/null");
  if (argc > 1 && strcmp(argv[1], "loop") == 0) {
    for (int f = getdtablesize() - 1; f > 2; --f) {
      close(f);
    }
  } else {
    E2E_CHECK(syscall(SYS_close_range, 3u, ~0u, 0) == 0, "close_range");
  }
  E2E_CHECK(fcntl(fd, F_GETFD) == -1, "fd %d still open after closing all", fd);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 0;
}
