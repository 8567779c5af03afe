/* event plugin overhead on the hot path: an epoll_wait loop whose events
 * are always ready (target: within 1.03x of native), with a timeout (the
 * wrapper notes the round and a coarse time) and without (straight
 * through); and poll likewise.  Timed inside the program on the thread's
 * CPU clock (user + system time), so that time spent waiting for a CPU on
 * a loaded machine is not counted; native and launched runs interleave and
 * medians are compared (bench_compare_medians).
 *
 * "raw" is the same epoll_wait loop as the bare syscall instruction (not
 * libc's syscall(), which the pid plugin wraps), which no wrapper sees:
 * what a launched process pays with no wrapper at all (the limit the
 * wrapped calls are measured against, in the same run).
 *
 * A third argument "thread" starts an idle thread first.  A launched
 * process always has one (the checkpoint thread), and the kernel and libc
 * charge every multi-threaded process more per call: the kernel takes a
 * reference on each file a call uses (fdget/fput, skipped while a process
 * has one thread) and glibc switches cancellation on and off around each
 * blocking call (skipped while single-threaded).  perf on the launched
 * epoll_wait loop put those at about 10% and 14% of the time, our wrapper
 * at about 1%.  Native with an idle thread against launched is the
 * wrapper's own cost.
 *
 *   event_bench epoll|epoll0|poll|raw [ITERATIONS [thread]]
 *                                               one loop, ns/iteration
 *   event_bench --compare BIN [RUNS]            each loop, native and
 *                                               under BIN/dmtcp_launch,
 *                                               RUNS (21) interleaved runs
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "compare.h"

/* epoll_wait(ep, ev, 1, timeout) with no libc function in between. */
static long raw_epoll_wait(int ep, struct epoll_event *ev, int timeout) {
#if defined(__x86_64__)
  long r;
  register long r10 __asm__("r10") = timeout;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"((long)SYS_epoll_wait), "D"((long)ep), "S"(ev),
                     "d"(1L), "r"(r10)
                   : "rcx", "r11", "memory");
  return r;
#else
  return syscall(SYS_epoll_wait, ep, ev, 1, timeout);
#endif
}

static void *idle(void *arg) {
  (void)arg;
  for (;;) {
    pause();
  }
  return NULL;
}

static int run(const char *what, long iterations, int with_thread) {
  pthread_t t;
  if (with_thread && pthread_create(&t, NULL, idle, NULL) != 0) {
    return 1;
  }
  int efd = eventfd(1, EFD_NONBLOCK); /* always readable */
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
  if (efd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) != 0) {
    return 1;
  }
  struct pollfd p = {.fd = efd, .events = POLLIN};
  long sum = 0;
  double t0 = bench_seconds(CLOCK_THREAD_CPUTIME_ID);
  if (strcmp(what, "epoll") == 0) {
    for (long i = 0; i < iterations; ++i) {
      sum += epoll_wait(ep, &ev, 1, 1000);
    }
  } else if (strcmp(what, "epoll0") == 0) {
    for (long i = 0; i < iterations; ++i) {
      sum += epoll_wait(ep, &ev, 1, 0);
    }
  } else if (strcmp(what, "raw") == 0) {
    for (long i = 0; i < iterations; ++i) {
      sum += raw_epoll_wait(ep, &ev, 1000);
    }
  } else {
    for (long i = 0; i < iterations; ++i) {
      sum += poll(&p, 1, 1000);
    }
  }
  double t1 = bench_seconds(CLOCK_THREAD_CPUTIME_ID);
  printf("%.2f ns/iteration (%ld)\n", (t1 - t0) * 1e9 / (double)iterations,
         sum);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--compare") == 0) {
    int runs = argc > 3 ? atoi(argv[3]) : 11;
    static const char *const loops[][2] = {
        {"epoll", "epoll_wait, ready, timeout 1 s"},
        {"epoll0", "epoll_wait, ready, timeout 0"},
        {"poll", "poll, ready, timeout 1 s"},
        {"raw", "raw epoll_wait syscall (no wrapper), timeout 1 s"}};
    for (size_t i = 0; i < sizeof loops / sizeof loops[0]; ++i) {
      char label[160];
      char *one[] = {(char *)loops[i][0], "300000"};
      char *two[] = {(char *)loops[i][0], "300000", "thread"};
      bench_compare_medians(argv[2], loops[i][1], one, 2, runs, NULL);
      snprintf(label, sizeof label, "%s, native with an idle thread",
               loops[i][1]);
      bench_compare_medians(argv[2], label, two, 3, runs, NULL);
    }
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr,
            "usage: event_bench epoll|epoll0|poll|raw [N [thread]] | "
            "--compare BIN [RUNS]\n");
    return 2;
  }
  return run(argv[1], argc > 2 ? atol(argv[2]) : 2000000,
             argc > 3 && strcmp(argv[3], "thread") == 0);
}
