#include "common/proc_stat.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dmtcp {

namespace {

// The text after the ')' that ends field 2 (the program name, which may
// hold spaces and parentheses), into buf; nullptr when unreadable.
const char* after_comm(int pid, char* buf, size_t size) {
  char path[64];
  if (pid == 0) {
    snprintf(path, sizeof path, "/proc/self/stat");
  } else {
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
  }
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return nullptr;
  }
  ssize_t n = ::read(fd, buf, size - 1);
  ::close(fd);
  if (n <= 0) {
    return nullptr;
  }
  buf[n] = '\0';
  return strrchr(buf, ')');
}

}  // namespace

uint64_t proc_stat_field(int pid, int field) {
  char buf[4096];
  const char* p = after_comm(pid, buf, sizeof buf);
  if (p == nullptr || field < 3) {
    return 0;
  }
  for (int f = 2; f < field && *p != '\0'; ++p) {
    if (*p == ' ') {
      ++f;
    }
  }
  return *p != '\0' ? strtoull(p, nullptr, 10) : 0;
}

char proc_stat_state(int pid) {
  char buf[4096];
  const char* p = after_comm(pid, buf, sizeof buf);
  return p != nullptr && p[1] == ' ' ? p[2] : '\0';
}

}  // namespace dmtcp
