/* clock_gettime overhead (upstream DMTCP's wrappers slow it about 5x).
 * clock_gettime goes through the vDSO, which restart moves back to where
 * the image expects it, so the call must stay as cheap after a restart as
 * before the checkpoint.  Timed inside the program.
 *
 *   clock_bench [ITERATIONS]          one loop, prints ns/iteration
 *   clock_bench --compare BIN         the loop natively and under
 *                                     BIN/dmtcp_launch (compare.h)
 *   clock_bench --across-restart      prints "<ns> before", waits for the
 *                                     file named by $DMTCP_TEST_GO, then
 *                                     prints "<ns> after" (ckpt_bench.py
 *                                     checkpoints and restarts in between)
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/stat.h>

#include "compare.h"

static volatile long sink; /* keeps the loop from being optimized away */

static double loop_ns(long iterations) {
  long sum = 0;
  struct timespec t;
  double t0 = bench_now();
  for (long i = 0; i < iterations; ++i) {
    clock_gettime(CLOCK_MONOTONIC, &t);
    sum += t.tv_nsec;
  }
  double t1 = bench_now();
  sink = sum;
  return (t1 - t0) * 1e9 / (double)iterations;
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
  if (argc >= 2 && strcmp(argv[1], "--across-restart") == 0) {
    return across_restart();
  }
  printf("%.2f ns/iteration\n", loop_ns(argc > 1 ? atol(argv[1]) : 5000000));
  return 0;
}
