/* Helpers for the end-to-end test programs: set state, print READY, wait
 * for the harness's go file (a checkpoint or restart happens meanwhile),
 * verify, print PASS. */
#ifndef DMTCP_E2E_H
#define DMTCP_E2E_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void e2e_say(const char *word) {
  printf("%s\n", word);
  fflush(stdout);
}

__attribute__((noreturn, format(printf, 1, 2))) static inline void e2e_fail(
    const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("FAIL: ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  fflush(stdout);
  exit(1);
}

#define E2E_CHECK(cond, ...) \
  do {                       \
    if (!(cond)) {           \
      e2e_fail(__VA_ARGS__); \
    }                        \
  } while (0)

static inline int e2e_go_seen(void) {
  const char *go = getenv("DMTCP_TEST_GO");
  struct stat st;
  return go == NULL || stat(go, &st) == 0;
}

/* Waits for the go file; calls tick() (if any) between polls. */
static inline void e2e_wait_for_go(void (*tick)(void)) {
  while (!e2e_go_seen()) {
    if (tick != NULL) {
      tick();
    }
    usleep(10000);
  }
}

/* A parent and a child: the child writes one byte to `ready` once its
 * state is set; then READY, and the go file. */
static inline void e2e_ready_when_child_is(int ready) {
  char c;
  E2E_CHECK(read(ready, &c, 1) == 1, "child never started");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
}

/* After the go file: the child must exit with status 0 (`what`: what
 * another status means). */
static inline void e2e_child_exited_ok(pid_t child, const char *what) {
  int status = 0;
  E2E_CHECK(waitpid(child, &status, 0) == child, "waitpid");
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "child: status %#x (%s)", status, what);
}

/* A deterministic byte stream: xorshift64*. */
static inline unsigned long long e2e_next(unsigned long long *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

#endif
