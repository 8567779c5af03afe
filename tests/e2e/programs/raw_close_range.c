/* syscall(SYS_close_range, ...), the raw form a program may call instead
 * of close_range(): closing every fd from 3 up must leave the runtime's
 * own (its coordinator connection) open, so that the checkpoint after it
 * still happens.  The fds of ours closed it before the syscall() wrapper
 * (upstream DMTCP's syscall-tester: "lost the coordinator", no image). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "e2e.h"

int main(void) {
  int fd = open("/dev/null", O_RDONLY);
  E2E_CHECK(fd >= 3, "open /dev/null");
  E2E_CHECK(syscall(SYS_close_range, 3u, ~0u, 0) == 0, "close_range");
  E2E_CHECK(fcntl(fd, F_GETFD) == -1, "fd %d still open after close_range", fd);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 0;
}
