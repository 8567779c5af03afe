// file_util.h -- small helpers shared by the file plugin's parts.
#pragma once

#include <dirent.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>

#include "dmtcp/raw_syscall.h"

namespace dmtcp::file {

// The kernel's own ids and fcntl, past every wrapper: the pid plugin
// translates pids in getpid() and in fcntl(F_SETOWN), and the leader
// election needs the kernel's (core/runtime/raw_syscall.h).
inline pid_t raw_getpid() {
  return raw::getpid();
}

// fcntl with a pointer argument (F_GETOWN_EX / F_SETOWN_EX); returns the
// kernel's result (negative errno on failure).
inline long raw_fcntl_ptr(int fd, int cmd, void* arg) {
  return raw::syscall3(SYS_fcntl, fd, cmd, reinterpret_cast<long>(arg));
}

// Calls f(name) for each entry of the directory open at `dir`, in the
// kernel's order, until f returns false.  getdents64: no malloc, so hooks
// may use it.
template <class F>
void for_each_dir_entry(int dir, F&& f) {
  char buf[4096];
  ssize_t n;
  while ((n = getdents64(dir, buf, sizeof buf)) > 0) {
    for (ssize_t off = 0; off < n;) {
      auto* e = reinterpret_cast<struct dirent64*>(buf + off);
      off += e->d_reclen;
      if (!f(static_cast<const char*>(e->d_name))) {
        return;
      }
    }
  }
}

// readlink("/proc/self/fd/<fd>") into buf, NUL-terminated.
bool read_fd_link(int fd, char* buf, size_t cap);

// The lowest free fd at or above `min` that no saved fd will need: where
// re-made descriptions wait before they move to their numbers.
int park_fd(int fd, int min);

// write() all of it (EINTR and short writes), false on error.
bool write_all(int fd, const void* data, size_t len);
// The same with pwrite() from `offset`.
bool pwrite_all(int fd, const void* data, size_t len, off_t offset);

// Copies all of src (from its start, whatever its offset) to dst at dst's
// offset: copy_file_range, or reads and writes where that is refused.
bool copy_fd_to(int src, int dst);

}  // namespace dmtcp::file
