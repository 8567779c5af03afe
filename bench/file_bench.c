/* file plugin overhead (targets: open+close within 1.3x of native,
 * read/write on a tracked fd within 1.05x).  Timed inside the program, so
 * launcher start-up is not counted.
 *
 *   file_bench openclose|rw [ITERATIONS]   one loop, prints ns/iteration
 *   file_bench --compare BIN               both loops, native and under
 *                                          BIN/dmtcp_launch, best of 5
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>

#include "compare.h"

static int run(const char *what, long iterations) {
  char path[] = "/tmp/dmtcp-file-bench-XXXXXX";
  int fd = mkstemp(path);
  static char block[4096];
  memset(block, 'x', sizeof block);
  if (fd < 0 || pwrite(fd, block, sizeof block, 0) != sizeof block) {
    return 1;
  }
  long sum = 0;
  double t0 = bench_now();
  if (strcmp(what, "openclose") == 0) {
    for (long i = 0; i < iterations; ++i) {
      int f = open(path, O_RDONLY | O_CLOEXEC);
      sum += f;
      close(f);
    }
  } else {
    for (long i = 0; i < iterations; ++i) {
      sum += pwrite(fd, block, 512, 0);
      sum += pread(fd, block, 512, 0);
    }
  }
  double t1 = bench_now();
  unlink(path);
  printf("%.2f ns/iteration (%ld)\n", (t1 - t0) * 1e9 / (double)iterations,
         sum & 1);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--compare") == 0) {
    char *oc[] = {"openclose", "500000"};
    char *rw[] = {"rw", "500000"};
    bench_compare(argv[2], "open+close", oc, 2);
    bench_compare(argv[2], "pread+pwrite 512 B", rw, 2);
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: file_bench openclose|rw [N] | --compare BIN\n");
    return 2;
  }
  return run(argv[1], argc > 2 ? atol(argv[2]) : 500000);
}
