/* Helpers shared by the timer plugin's test programs (besides e2e.h). */
#ifndef DMTCP_TIMER_TEST_H
#define DMTCP_TIMER_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline int64_t ts_ns(struct timespec t) {
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline int64_t now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return ts_ns(t);
}

static inline struct timespec ns_ts(int64_t ns) {
  struct timespec t = {ns / 1000000000, ns % 1000000000};
  return t;
}

/* The harness's --down: how long the computation stays down before each
 * restart (0: not given).  Relative timers must not lose it. */
static inline int64_t test_down_ns(void) {
  const char* d = getenv("DMTCP_TEST_DOWN");
  return d == NULL ? 0 : (int64_t)(atof(d) * 1e9);
}

/* Burns about `ns` of this thread's CPU time. */
static inline void burn_cpu(int64_t ns) {
  int64_t end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
  volatile uint64_t x = 0;
  while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end) {
    for (int i = 0; i < 1000; ++i) {
      x += (uint64_t)i * x + 1;
    }
  }
}

/* Sleeps `ns` of monotonic time, resuming after signals. */
static inline void sleep_ns(int64_t ns) {
  struct timespec t = ns_ts(now_ns(CLOCK_MONOTONIC) + ns);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0) {
  }
}

#endif
