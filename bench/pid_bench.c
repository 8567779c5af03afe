/* pid plugin overhead: a loop of getpid(), kill(self, 0) and
 * waitpid(-1, WNOHANG) (one live child, so it returns 0), timed inside the
 * program so launcher start-up is not counted.
 *
 *   pid_bench [ITERATIONS]            run the loop, print ns per iteration
 *   pid_bench --compare BIN [ITER]    run it natively and under
 *                                     BIN/dmtcp_launch (compare.h)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

#include "compare.h"

static int run_loop(long iterations) {
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  long sum = 0;
  double t0 = bench_now();
  for (long i = 0; i < iterations; ++i) {
    sum += getpid();
    sum += kill(getpid(), 0);
    sum += waitpid(-1, NULL, WNOHANG);
  }
  double t1 = bench_now();
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  printf("%.2f ns/iteration (%ld)\n", (t1 - t0) * 1e9 / (double)iterations,
         sum & 1);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "--compare") == 0) {
    char* iters[] = {argc > 3 ? argv[3] : "2000000"};
    bench_compare(argv[2], "getpid+kill+waitpid", iters, 1);
    return 0;
  }
  return run_loop(argc > 1 ? atol(argv[1]) : 2000000);
}
