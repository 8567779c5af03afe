// file_util.cpp -- small helpers shared by the file plugin's parts.
#include "file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace dmtcp::file {

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

int park_fd(int fd, int min) {
  if (fd < 0 || fd >= min) {
    return fd;
  }
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, min);
  int err = errno;
  close(fd);
  errno = err;
  return moved;
}

bool write_all(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool pwrite_all(int fd, const void* data, size_t len, off_t offset) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, offset);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

}  // namespace dmtcp::file
