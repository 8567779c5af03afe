#include "common/log.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/env.h"
#include "dmtcp/raw_syscall.h"

namespace dmtcp::log {
namespace {

std::atomic<int> g_level{-1};
const char* g_tag = "dmtcp";

int level_from_env() {
  // env_value is safe before main and does not allocate.
  const char* quiet = env_value("DMTCP_QUIET");
  if (quiet != nullptr && (quiet[0] == '1' || quiet[0] == '2')) {
    return kError;
  }
  const char* v = env_value("DMTCP_LOG_LEVEL");
  if (v != nullptr && v[0] >= '0' && v[0] <= '9') {
    return atoi(v);
  }
  return kWarn;
}

const char* basename_of(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

// DMTCP_LOG_FILE (upstream's variable): the log goes to that file instead
// of stderr, appended (created 0600, no symlink followed).  Opened for each
// line and closed again, raw (past every wrapper): no fd of ours to keep
// across checkpoints, forks and restarts, and safe wherever we log.
std::atomic<bool> g_use_log_file{false};

const char* log_file() {
  return g_use_log_file.load(std::memory_order_relaxed)
             ? env_value("DMTCP_LOG_FILE")
             : nullptr;
}

int open_log_file(const char* path) {
  long fd = dmtcp::raw::syscall3(
      SYS_open, reinterpret_cast<long>(path),
      O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  return fd >= 0 ? static_cast<int>(fd) : -1;
}

void emit(char* buf, size_t used, size_t cap) {
  if (used >= cap - 1) {
    used = cap - 2;
  }
  buf[used++] = '\n';
  const char* path = log_file();
  int fd = path != nullptr && path[0] != '\0' ? open_log_file(path) : -1;
  int out = fd >= 0 ? fd : STDERR_FILENO;
  size_t off = 0;
  while (off < used) {
    ssize_t n = ::write(out, buf + off, used - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    off += static_cast<size_t>(n);
  }
  if (fd >= 0) {
    dmtcp::raw::syscall3(SYS_close, fd);
  }
}

}  // namespace

int level() {
  int l = g_level.load(std::memory_order_relaxed);
  if (l < 0) {
    l = level_from_env();
    g_level.store(l, std::memory_order_relaxed);
  }
  return l;
}

void set_level(int l) { g_level.store(l, std::memory_order_relaxed); }

void set_tag(const char* tag) { g_tag = tag; }

void use_log_file_from_env() {
  g_use_log_file.store(true, std::memory_order_relaxed);
  // The file exists from the start, even if nothing is ever logged.
  const char* path = log_file();
  int fd = path != nullptr && path[0] != '\0' ? open_log_file(path) : -1;
  if (fd >= 0) {
    dmtcp::raw::syscall3(SYS_close, fd);
  }
}

void vwrite_line(int lvl, const char* file, int line, const char* fmt,
                 va_list ap) {
  int saved = errno;
  char buf[1024];
  static const char* const kNames[] = {"error", "warning", "info", "debug",
                                       "trace"};
  const char* name = (lvl >= 0 && lvl <= kTrace) ? kNames[lvl] : "log";
  int n;
  if (lvl >= kDebug) {
    n = snprintf(buf, sizeof buf, "[%s %d] %s:%d: ", g_tag,
                 static_cast<int>(getpid()), basename_of(file), line);
  } else {
    n = snprintf(buf, sizeof buf, "%s: %s: ", g_tag, name);
  }
  if (n < 0) {
    n = 0;
  }
  size_t used = static_cast<size_t>(n);
  if (used < sizeof buf) {
    int m = vsnprintf(buf + used, sizeof buf - used, fmt, ap);
    if (m > 0) {
      used += static_cast<size_t>(m);
    }
  }
  emit(buf, used < sizeof buf ? used : sizeof buf - 1, sizeof buf);
  errno = saved;
}

void write_line(int lvl, const char* file, int line, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwrite_line(lvl, file, line, fmt, ap);
  va_end(ap);
}

void assert_failed(const char* file, int line, const char* expr,
                   int saved_errno, const char* fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  write_line(kError, file, line,
             "assertion failed at %s:%d: %s: %s (errno %d: %s)",
             basename_of(file), line, expr, msg, saved_errno,
             strerror(saved_errno));
  abort();
}

}  // namespace dmtcp::log
