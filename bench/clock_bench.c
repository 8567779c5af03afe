/* clock_gettime overhead (upstream DMTCP's wrappers slow it about 5x).
 * The timer plugin wraps clock_gettime (CPU clock ids name pids and tids
 * it must translate, docs/timer.md); every other clock goes straight to
 * the vDSO's function, as in glibc, which restart moves back to where the
 * image expects it, so the call must stay as cheap as native, and after a
 * restart as before the checkpoint.  Timed inside the program.
 *
 *   clock_bench [ITERATIONS [monotonic|thread-cpu [cpu-timed]]]
 *                                     one loop, prints ns/iteration
 *                                     (thread-cpu: the id from
 *                                     pthread_getcpuclockid(self), which
 *                                     the plugin translates; cpu-timed:
 *                                     timed by the thread's CPU time)
 *   clock_bench --compare BIN         the loop natively and under
 *                                     BIN/dmtcp_launch (compare.h)
 *   clock_bench --medians BIN [RUNS]  both loops, RUNS interleaved runs
 *                                     (default 11) natively, under
 *                                     dmtcp_launch and under dmtcp_launch
 *                                     --disable-timer-plugin, CPU-timed:
 *                                     medians, ranges, ratios, load
 *                                     average
 *   clock_bench --across-restart      prints "<ns> before", waits for the
 *                                     file named by $DMTCP_TEST_GO, then
 *                                     prints "<ns> after" (ckpt_bench.py
 *                                     checkpoints and restarts in between)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "compare.h"

static volatile long sink; /* keeps the loop from being optimized away */

/* Timed by `timing`: CLOCK_MONOTONIC, or this thread's CPU time, which a
 * loaded machine (other processes running meanwhile) does not inflate. */
static double loop_ns_on(clockid_t clock, long iterations, clockid_t timing) {
  long sum = 0;
  struct timespec t;
  double t0 = bench_seconds(timing);
  for (long i = 0; i < iterations; ++i) {
    clock_gettime(clock, &t);
    sum += t.tv_nsec;
  }
  double t1 = bench_seconds(timing);
  sink = sum;
  return (t1 - t0) * 1e9 / (double)iterations;
}

static double loop_ns(long iterations) {
  return loop_ns_on(CLOCK_MONOTONIC, iterations, CLOCK_MONOTONIC);
}

/* Best of five, so one preemption does not decide the figure. */
static double best_loop_ns(long iterations) {
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    double v = loop_ns(iterations);
    best = v < best ? v : best;
  }
  return best;
}

static int across_restart(void) {
  printf("%.2f before\n", best_loop_ns(2000000));
  fflush(stdout);
  const char *go = getenv("DMTCP_TEST_GO");
  struct stat st;
  while (go != NULL && stat(go, &st) != 0) {
    usleep(1000);
  }
  printf("%.2f after\n", best_loop_ns(2000000));
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--compare") == 0) {
    char *iters[] = {"5000000"};
    bench_compare(argv[2], "clock_gettime", iters, 1);
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "--medians") == 0) {
    int runs = argc > 3 ? atoi(argv[3]) : 11;
    char *mono[] = {"5000000", "monotonic", "cpu-timed"};
    bench_compare_medians(argv[2], "clock_gettime(CLOCK_MONOTONIC)", mono, 3,
                          runs, "--disable-timer-plugin");
    char *cpu[] = {"500000", "thread-cpu", "cpu-timed"};
    bench_compare_medians(argv[2],
                          "clock_gettime(pthread_getcpuclockid(self))", cpu,
                          3, runs, "--disable-timer-plugin");
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "--across-restart") == 0) {
    return across_restart();
  }
  long iterations = argc > 1 ? atol(argv[1]) : 5000000;
  clockid_t clock = CLOCK_MONOTONIC;
  if (argc > 2 && strcmp(argv[2], "thread-cpu") == 0 &&
      pthread_getcpuclockid(pthread_self(), &clock) != 0) {
    return 1;
  }
  clockid_t timing = argc > 3 && strcmp(argv[3], "cpu-timed") == 0
                         ? CLOCK_THREAD_CPUTIME_ID
                         : CLOCK_MONOTONIC;
  printf("%.2f ns/iteration\n", loop_ns_on(clock, iterations, timing));
  return 0;
}
