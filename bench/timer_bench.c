/* timer plugin overhead: a loop of timer_gettime() and timer_settime() on
 * one POSIX timer (the wrappers translate its id through the id table),
 * timed inside the program.
 *
 *   timer_bench [ITERATIONS [cpu-timed]]
 *                                       run the loop, print ns per iteration
 *                                       (cpu-timed: by this thread's CPU
 *                                       time, which other processes running
 *                                       meanwhile do not inflate)
 *   timer_bench --compare BIN [ITER]    natively and under BIN/dmtcp_launch
 *   timer_bench --medians BIN [RUNS]    RUNS interleaved runs (default 11),
 *                                       CPU-timed, natively, under
 *                                       dmtcp_launch and under dmtcp_launch
 *                                       --disable-timer-plugin: medians,
 *                                       ratios, load average (compare.h)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <time.h>

#include "compare.h"

static int run_loop(long iterations, clockid_t timing) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_NONE;
  timer_t t;
  if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0) {
    perror("timer_create");
    return 1;
  }
  struct itimerspec its = {{0, 0}, {3600, 0}}, cur;
  long sum = 0;
  double t0 = bench_seconds(timing);
  for (long i = 0; i < iterations; ++i) {
    sum += timer_settime(t, 0, &its, NULL);
    sum += timer_gettime(t, &cur);
  }
  double t1 = bench_seconds(timing);
  printf("%.2f ns/iteration (%ld)\n", (t1 - t0) * 1e9 / (double)iterations,
         sum & 1);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "--compare") == 0) {
    char* iters[] = {argc > 3 ? argv[3] : "1000000"};
    bench_compare(argv[2], "timer_settime+timer_gettime", iters, 1);
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "--medians") == 0) {
    char* args[] = {"200000", "cpu-timed"};
    bench_compare_medians(argv[2], "timer_settime+timer_gettime", args, 2,
                          argc > 3 ? atoi(argv[3]) : 11,
                          "--disable-timer-plugin");
    return 0;
  }
  clockid_t timing = argc > 2 && strcmp(argv[2], "cpu-timed") == 0
                         ? CLOCK_THREAD_CPUTIME_ID
                         : CLOCK_MONOTONIC;
  return run_loop(argc > 1 ? atol(argv[1]) : 1000000, timing);
}
