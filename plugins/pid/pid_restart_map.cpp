// pid_restart_map.cpp -- see pid_restart_map.h.  System calls are made raw:
// an outer plugin's open()/read() wrappers must not see our private file,
// and these run in restart hooks where only raw calls are safe anyway.
#include "pid_restart_map.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "dmtcp/plugin.h"
#include "pid_state.h"

namespace dmtcp::pid::restart_map {
namespace {

Pair* g_extra = nullptr;
size_t g_extra_count = 0;

void file_path(char* path, size_t len) {
  snprintf(path, len, "%s/dmtcp-pids-%s", dmtcp_get_tmpdir(),
           dmtcp_get_computation_id_str());
}

// The file sits in the (possibly shared) temporary directory under a name
// others can predict: never through a link, and only a plain file of ours
// that nobody else can write is used (else -EACCES), so a planted name can
// neither receive our records nor feed us its own.
int open_file(int flags) {
  char path[4096];
  file_path(path, sizeof path);
  int fd = static_cast<int>(raw_syscall(SYS_openat, AT_FDCWD,
                                        reinterpret_cast<long>(path),
                                        flags | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd < 0) {
    return fd;
  }
  struct stat st {};
  if (raw_syscall(SYS_fstat, fd, reinterpret_cast<long>(&st)) != 0 ||
      !S_ISREG(st.st_mode) || st.st_uid != static_cast<uid_t>(raw_syscall(
                                              SYS_geteuid)) ||
      st.st_nlink != 1 || (st.st_mode & 022) != 0) {
    raw_syscall(SYS_close, fd);
    return -EACCES;
  }
  return fd;
}

}  // namespace

void append_self(pid_t virt) {
  int fd = open_file(O_WRONLY | O_APPEND | O_CREAT);
  if (fd < 0) {
    dmtcp_log("pid: cannot open the computation's pid list: %ld", -1L * fd);
    return;
  }
  // One small O_APPEND write: records of concurrent writers never mix.
  raw_syscall(SYS_write, fd, reinterpret_cast<long>(&virt), sizeof virt);
  raw_syscall(SYS_close, fd);
}

void remove_file() {
  char path[4096];
  file_path(path, sizeof path);
  raw_syscall(SYS_unlinkat, AT_FDCWD, reinterpret_cast<long>(path), 0);
}

pid_t* read_all(size_t* count) {
  *count = 0;
  int fd = open_file(O_RDONLY);
  if (fd < 0) {
    return nullptr;
  }
  struct stat st {};
  if (raw_syscall(SYS_fstat, fd, reinterpret_cast<long>(&st)) != 0 ||
      st.st_size < static_cast<off_t>(sizeof(pid_t))) {
    raw_syscall(SYS_close, fd);
    return nullptr;
  }
  size_t n = static_cast<size_t>(st.st_size) / sizeof(pid_t);
  auto* list = static_cast<pid_t*>(dmtcp_alloc(n * sizeof(pid_t)));
  if (list == nullptr) {
    raw_syscall(SYS_close, fd);
    return nullptr;
  }
  size_t got = 0;
  while (got < n * sizeof(pid_t)) {
    long r = raw_syscall(SYS_read, fd,
                         reinterpret_cast<long>(list) + static_cast<long>(got),
                         static_cast<long>(n * sizeof(pid_t) - got));
    if (r <= 0) {
      break;
    }
    got += static_cast<size_t>(r);
  }
  raw_syscall(SYS_close, fd);
  n = got / sizeof(pid_t);
  std::sort(list, list + n);
  *count = static_cast<size_t>(std::unique(list, list + n) - list);
  return list;
}

void set_extra(Pair* pairs, size_t count) {
  std::sort(pairs, pairs + count,
            [](const Pair& a, const Pair& b) { return a.virt < b.virt; });
  if (g_extra != nullptr) {
    dmtcp_free(g_extra);
  }
  g_extra = pairs;
  g_extra_count = pairs != nullptr ? count : 0;
}

std::optional<pid_t> extra_to_real(pid_t virt) {
  Pair* end = g_extra + g_extra_count;
  Pair* it = std::lower_bound(
      g_extra, end, virt, [](const Pair& p, pid_t v) { return p.virt < v; });
  if (it == end || it->virt != virt) {
    return std::nullopt;
  }
  return it->real;
}

std::optional<pid_t> extra_to_virt(pid_t real) {
  for (size_t i = 0; i < g_extra_count; ++i) {
    if (g_extra[i].real == real) {
      return g_extra[i].virt;
    }
  }
  return std::nullopt;
}

}  // namespace dmtcp::pid::restart_map
