/* Mutex overhead: the core wraps pthread_mutex_lock/unlock so that mutexes
 * held across a checkpoint keep their owner after restart (docs/threads.md,
 * "Mutex owners").  An uncontended lock+unlock loop on a default mutex and
 * on a recursive one, timed inside the program.
 *
 *   mutex_bench default|recursive [ITERATIONS]   one loop, ns/iteration
 *   mutex_bench --compare BIN                     both, natively and under
 *                                                 BIN/dmtcp_launch
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "compare.h"

static int run(const char *kind, long iterations) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (strcmp(kind, "recursive") == 0) {
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  }
  pthread_mutex_t m;
  pthread_mutex_init(&m, &attr);
  double t0 = bench_now();
  for (long i = 0; i < iterations; ++i) {
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
  }
  double t1 = bench_now();
  printf("%.2f ns/iteration\n", (t1 - t0) * 1e9 / (double)iterations);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--compare") == 0) {
    char *plain[] = {"default", "20000000"};
    char *recursive[] = {"recursive", "20000000"};
    bench_compare(argv[2], "pthread_mutex lock+unlock", plain, 2);
    bench_compare(argv[2], "recursive mutex lock+unlock", recursive, 2);
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: mutex_bench default|recursive [N] | --compare BIN\n");
    return 2;
  }
  return run(argv[1], argc > 2 ? atol(argv[2]) : 20000000);
}
