#include "common/proc_stat.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dmtcp {

uint64_t proc_stat_field(int pid, int field) {
  char path[64];
  if (pid == 0) {
    snprintf(path, sizeof path, "/proc/self/stat");
  } else {
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
  }
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) {
    return 0;
  }
  buf[n] = '\0';
  const char* p = strrchr(buf, ')');  // ends field 2
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

}  // namespace dmtcp
