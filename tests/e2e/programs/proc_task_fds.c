/* Open fds on /proc files of this process and thread, by number:
 * /proc/<pid>/maps and /proc/<pid>/task/<tid>/maps (upstream DMTCP's
 * procfd1 opens /proc/self/maps and /proc/self/task/<getpid()>/maps; the
 * kernel names both with real ids).  After each restart (real ids new)
 * both are open again on this process's own files, and read. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static int readable(int fd) {
  char c;
  return lseek(fd, 0, SEEK_SET) == 0 && read(fd, &c, 1) == 1;
}

int main(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", getpid());
  int maps = open(path, O_RDONLY);
  snprintf(path, sizeof path, "/proc/self/task/%d/maps", gettid());
  int task = open(path, O_RDONLY);
  E2E_CHECK(maps >= 0 && task >= 0, "open /proc maps");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  E2E_CHECK(readable(maps) && readable(task), "maps fds not readable");
  /* Our own: the fds hold this process's maps (its first line names the
   * same mapping as a fresh open of /proc/self/maps). */
  char a[128] = {0}, b[128] = {0};
  int self = open("/proc/self/maps", O_RDONLY);
  E2E_CHECK(self >= 0 && pread(self, a, sizeof a - 1, 0) > 0 &&
                pread(task, b, sizeof b - 1, 0) > 0,
            "read maps");
  E2E_CHECK(strcmp(a, b) == 0, "task maps fd is another process's: %s / %s", a,
            b);
  e2e_say("PASS");
  return 0;
}
