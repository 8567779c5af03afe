// fd_util.cpp -- small fd facilities of dmtcp/fd_share.h (part 3).
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "dmtcp/fd_share.h"
#include "dmtcp/raw_syscall.h"

namespace dmtcp::share {

int same_description(int a, int b) {
  pid_t self = raw_getpid();
  long r = syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);
  return r < 0 ? -1 : r == 0 ? 1 : 0;
}

int highest_fd() {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return -1;
  }
  int highest = -1;
  for_each_dir_entry(dir, [&](const char* name) {
    if (name[0] >= '0' && name[0] <= '9') {
      int fd = atoi(name);
      highest = fd != dir && fd > highest ? fd : highest;
    }
    return true;
  });
  close(dir);
  return highest;
}

int park_fd(int fd, int floor) {
  if (fd < 0 || fd >= floor) {
    return fd;
  }
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, floor);
  int err = errno;
  close(fd);
  errno = err;
  return moved;
}

bool read_fd_link(int fd, char* buf, size_t cap) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(proc, buf, cap - 1);
  if (n < 0) {
    return false;
  }
  buf[n] = '\0';
  return true;
}

pid_t raw_getpid() {
  return raw::getpid();
}

long raw_fcntl_ptr(int fd, int cmd, void* arg) {
  return raw::syscall3(SYS_fcntl, fd, cmd, reinterpret_cast<long>(arg));
}

}  // namespace dmtcp::share
