/* Helpers shared by the sysvipc plugin's test programs (besides e2e.h).
 * The harness runs them with --remove-ipc: in an IPC namespace of their
 * own, so fixed keys never meet another test's objects, and every object
 * is removed between kill and restart, as a reboot would. */
#ifndef DMTCP_SYSVIPC_TEST_H
#define DMTCP_SYSVIPC_TEST_H

#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "e2e.h"

static inline void fill_pattern(unsigned char *p, size_t n,
                                unsigned long long seed) {
  unsigned long long s = seed;
  for (size_t i = 0; i < n; ++i) {
    p[i] = (unsigned char)e2e_next(&s);
  }
}

/* Index of the first byte that differs from the pattern, or -1. */
static inline long check_pattern(const unsigned char *p, size_t n,
                                 unsigned long long seed) {
  unsigned long long s = seed;
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != (unsigned char)e2e_next(&s)) {
      return (long)i;
    }
  }
  return -1;
}

static inline void expect_child_ok(pid_t child) {
  int status = 0;
  E2E_CHECK(waitpid(child, &status, 0) == child, "waitpid: %s",
            strerror(errno));
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "child ended with status %#x", status);
}

/* The /proc/self/maps line at addr (its permissions in perms[5]); 0 if
 * none starts there. */
static inline int maps_line_at(const void *addr, char perms[5], char *path,
                               size_t path_len) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  int found = 0;
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    unsigned long start = 0, end = 0;
    char p[5] = {0};
    char name[256] = {0};
    if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255[^\n]", &start, &end, p,
               name) >= 3 &&
        start == (unsigned long)addr) {
      memcpy(perms, p, 5);
      snprintf(path, path_len, "%s", name);
      found = 1;
      break;
    }
  }
  if (f != NULL) {
    fclose(f);
  }
  return found;
}

#endif
