/* Helpers for the event plugin's test programs. */
#ifndef DMTCP_EVENT_TEST_H
#define DMTCP_EVENT_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

/* The run's own directory (the go file's), so runs never share files. */
static inline const char* test_dir(void) {
  static char dir[4096];
  const char* go = getenv("DMTCP_TEST_GO");
  snprintf(dir, sizeof dir, "%s", go != NULL ? go : "/tmp/x");
  return dirname(dir);
}

/* `name` under the run's own directory. */
static inline void test_path(char* out, size_t cap, const char* name) {
  snprintf(out, cap, "%s/%s", test_dir(), name);
}

static inline void test_mkdir(const char* name) {
  char p[4200];
  test_path(p, sizeof p, name);
  E2E_CHECK(mkdir(p, 0700) == 0, "mkdir %s: %s", p, strerror(errno));
}

static inline uint64_t efd_read(int fd) {
  uint64_t v = 0;
  ssize_t n = read(fd, &v, sizeof v);
  E2E_CHECK(n == (ssize_t)sizeof v, "read eventfd %d: %s", fd,
            n < 0 ? strerror(errno) : "short");
  return v;
}

static inline void efd_write(int fd, uint64_t v) {
  E2E_CHECK(write(fd, &v, sizeof v) == (ssize_t)sizeof v,
            "write eventfd %d: %s", fd, strerror(errno));
}

static inline void expect_child_ok(pid_t pid) {
  int status;
  E2E_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "child failed (status %#x)", status);
}

#endif
