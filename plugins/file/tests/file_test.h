/* Helpers for the file plugin's test programs. */
#ifndef DMTCP_FILE_TEST_H
#define DMTCP_FILE_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <string.h>
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

static inline void test_path(char* out, size_t cap, const char* name) {
  snprintf(out, cap, "%s/%s", test_dir(), name);
}

static inline void fill_pattern(unsigned char* buf, size_t len,
                                unsigned long long seed) {
  for (size_t i = 0; i < len; ++i) {
    buf[i] = (unsigned char)(e2e_next(&seed) >> 56);
  }
}

static inline void write_exact(int fd, const void* buf, size_t len) {
  const char* p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    E2E_CHECK(n > 0, "write(%d): %s", fd, strerror(errno));
    p += n;
    len -= (size_t)n;
  }
}

static inline void read_exact(int fd, void* buf, size_t len) {
  char* p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    E2E_CHECK(n > 0, "read(%d): %s", fd,
              n == 0 ? "end of file" : strerror(errno));
    p += n;
    len -= (size_t)n;
  }
}

static inline off_t offset_of(int fd) {
  return lseek(fd, 0, SEEK_CUR);
}

/* Reaps the child and fails unless it exited with status 0. */
static inline void expect_child_ok(pid_t pid) {
  int st = 0;
  E2E_CHECK(waitpid(pid, &st, 0) == pid, "waitpid(%d): %s", pid,
            strerror(errno));
  E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed (%x)", st);
}

#endif
