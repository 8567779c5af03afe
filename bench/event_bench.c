/* event plugin overhead on the hot path: an epoll_wait loop whose events
 * are always ready (target: within 1.03x of native), with a timeout (the
 * wrapper notes the round and a coarse time) and without (straight
 * through); and poll likewise.  Timed inside the program.
 *
 * "raw" is the same epoll_wait loop as the bare syscall instruction (not
 * libc's syscall(), which the pid plugin wraps), which no wrapper sees:
 * what a launched process pays with no wrapper at all (the limit the
 * wrapped calls are measured against, in the same run).
 *
 *   event_bench epoll|epoll0|poll|raw [ITERATIONS]  one loop, ns/iteration
 *   event_bench --compare BIN                   each loop, native and
 *                                               under BIN/dmtcp_launch
 */
#define _GNU_SOURCE
#include <poll.h>
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

static int run(const char *what, long iterations) {
  int efd = eventfd(1, EFD_NONBLOCK); /* always readable */
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
  if (efd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) != 0) {
    return 1;
  }
  struct pollfd p = {.fd = efd, .events = POLLIN};
  long sum = 0;
  double t0 = bench_now();
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
  double t1 = bench_now();
  printf("%.2f ns/iteration (%ld)\n", (t1 - t0) * 1e9 / (double)iterations,
         sum);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--compare") == 0) {
    char *a[] = {"epoll", "2000000"};
    char *b[] = {"epoll0", "2000000"};
    char *c[] = {"poll", "2000000"};
    char *d[] = {"raw", "2000000"};
    bench_compare(argv[2], "epoll_wait, ready, timeout 1 s", a, 2);
    bench_compare(argv[2], "epoll_wait, ready, timeout 0", b, 2);
    bench_compare(argv[2], "poll, ready, timeout 1 s", c, 2);
    bench_compare(argv[2], "raw epoll_wait syscall (no wrapper), timeout 1 s",
                  d, 2);
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr,
            "usage: event_bench epoll|epoll0|poll|raw [N] | --compare BIN\n");
    return 2;
  }
  return run(argv[1], argc > 2 ? atol(argv[2]) : 2000000);
}
