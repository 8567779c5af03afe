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

namespace {

// write() (offset < 0) or pwrite() all of it, through EINTR and short
// writes.
bool write_loop(int fd, const void* data, size_t len, off_t offset) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = offset < 0 ? write(fd, p, len) : pwrite(fd, p, len, offset);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
    if (offset >= 0) {
      offset += n;
    }
  }
  return true;
}

}  // namespace

bool write_all(int fd, const void* data, size_t len) {
  return write_loop(fd, data, len, -1);
}

bool pwrite_all(int fd, const void* data, size_t len, off_t offset) {
  return write_loop(fd, data, len, offset);
}

}  // namespace dmtcp::file
