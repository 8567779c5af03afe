/* A child holds an fd on its parent's /proc/<pid>/maps (the parent opened
 * /proc/self/maps before the fork; upstream DMTCP's procfd1).  With
 * "alone" the parent closes its own copy, so the child is the description's
 * only holder and re-makes it at restart; with "shared" both keep it and
 * either may.  After each restart the child's fd still reads the parent's
 * maps: it shows a page the child unmapped after the fork.  Before the fix
 * the child reopened it before the parent's new pid was known and the
 * restart stopped ("no longer exists"). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "e2e.h"

static char text[1 << 20];

/* The whole file behind fd, from its start, as text. */
static int read_all(int fd) {
  if (lseek(fd, 0, SEEK_SET) != 0) {
    return 0;
  }
  size_t n = 0;
  ssize_t got;
  while (n < sizeof text - 1 &&
         (got = read(fd, text + n, sizeof text - 1 - n)) > 0) {
    n += (size_t)got;
  }
  text[n] = '\0';
  return got == 0;
}

/* Whether the maps text behind fd has a line for the page at addr. */
static int shows(int fd, void* addr) {
  char start[32];
  snprintf(start, sizeof start, "%lx-", (unsigned long)(uintptr_t)addr);
  if (!read_all(fd)) {
    return -1;
  }
  for (const char* line = text; *line != '\0';) {
    if (strncmp(line, start, strlen(start)) == 0) {
      return 1;
    }
    const char* nl = strchr(line, '\n');
    line = nl != NULL ? nl + 1 : line + strlen(line);
  }
  return 0;
}

/* shows(), asked again for up to a second.  Right after a restart a
 * description of /proc/<other pid>/maps re-made by the file plugin was
 * seen (1 run in 10 to 100, kernel 6.18) to list, for its first read, the
 * layout of the process that opened it rather than the named one's; every
 * read 100 ms later listed the named process, whose own mappings had not
 * changed (strace).  Not understood yet: noted in docs/file.md.  A wrong
 * answer that lasts is still a failure. */
static int shows_soon(int fd, void* addr) {
  int seen = shows(fd, addr);
  for (int i = 0; i < 20 && seen != 1; ++i) {
    usleep(50 * 1000);
    seen = shows(fd, addr);
  }
  return seen;
}

int main(int argc, char** argv) {
  int shared = argc > 1 && strcmp(argv[1], "shared") == 0;
  long page = sysconf(_SC_PAGESIZE);
  void* mark =
      mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  E2E_CHECK(mark != MAP_FAILED, "mmap");
  int maps = open("/proc/self/maps", O_RDONLY);
  E2E_CHECK(maps >= 0, "open /proc/self/maps");
  int ready[2];
  E2E_CHECK(pipe(ready) == 0, "pipe");
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    /* The parent's maps have the page, ours no longer. */
    E2E_CHECK(munmap(mark, (size_t)page) == 0, "munmap");
    E2E_CHECK(shows(maps, mark) == 1, "child: not the parent's maps");
    E2E_CHECK(write(ready[1], "x", 1) == 1, "write");
    e2e_wait_for_go(NULL);
    int seen = shows_soon(maps, mark);
    int self = open("/proc/self/maps", O_RDONLY);
    int own = self >= 0 ? shows(self, mark) : -1;
    _exit(seen == 1 && own == 0 ? 0 : 3);
  }
  if (!shared) {
    close(maps);
  }
  e2e_ready_when_child_is(ready[0]);
  if (shared) {
    E2E_CHECK(shows_soon(maps, mark) == 1, "parent: not its own maps");
  }
  e2e_child_exited_ok(child, "3: its fd does not show the parent's maps");
  e2e_say("PASS");
  return 0;
}
