// file_util.cpp -- small helpers shared by the file plugin's parts.
#include "file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace dmtcp::file {

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

bool copy_fd_to(int src, int dst) {
  off_t in_off = 0;
  for (;;) {
    ssize_t n = copy_file_range(src, &in_off, dst, nullptr, 1 << 30, 0);
    if (n == 0) {
      return true;
    }
    if (n > 0) {
      continue;
    }
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS) {
      return false;
    }
    break;  // not between these files: plain reads and writes
  }
  char buf[65536];
  ssize_t n;
  while ((n = pread(src, buf, sizeof buf, in_off)) > 0) {
    if (!write_all(dst, buf, static_cast<size_t>(n))) {
      return false;
    }
    in_off += n;
  }
  return n == 0;
}

}  // namespace dmtcp::file
