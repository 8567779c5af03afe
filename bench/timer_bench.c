/* timer plugin overhead: a loop of timer_gettime() and timer_settime() on
 * one POSIX timer (the wrappers translate its id through the id table),
 * timed inside the program.
 *
 *   timer_bench [ITERATIONS]            run the loop, print ns per iteration
 *   timer_bench --compare BIN [ITER]    natively and under BIN/dmtcp_launch
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <time.h>

#include "compare.h"

static int run_loop(long iterations) {
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
  double t0 = bench_now();
  for (long i = 0; i < iterations; ++i) {
    sum += timer_settime(t, 0, &its, NULL);
    sum += timer_gettime(t, &cur);
  }
  double t1 = bench_now();
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
  return run_loop(argc > 1 ? atol(argv[1]) : 1000000);
}
