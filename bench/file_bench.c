/* file plugin overhead (targets: open+close within 1.3x of native,
 * read/write on a tracked fd within 1.05x).  Timed inside the program, so
 * launcher start-up is not counted.
 *
 *   file_bench openclose|rw [ITERATIONS]   one loop, prints ns/iteration
 *   file_bench read [ITERATIONS [cpu-timed]]
 *                                          read() of 512 B from /dev/zero
 *                                          (the event plugin's read
 *                                          wrapper: one flag test when no
 *                                          inotify fd has saved events)
 *   file_bench --compare BIN               both loops, native and under
 *                                          BIN/dmtcp_launch, best of 5
 *   file_bench --read-medians BIN [RUNS]   the read loop, CPU-timed, RUNS
 *                                          interleaved runs natively, under
 *                                          dmtcp_launch and under
 *                                          dmtcp_launch
 *                                          --disable-event-plugin (compare.h)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>

#include "compare.h"

static int run_read(long iterations, clockid_t timing) {
  int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  static char block[512];
  if (fd < 0) {
    return 1;
  }
  long sum = 0;
  double t0 = bench_seconds(timing);
  for (long i = 0; i < iterations; ++i) {
    sum += read(fd, block, sizeof block);
  }
  double t1 = bench_seconds(timing);
  close(fd);
  printf("%.2f ns/iteration (%ld)\n", (t1 - t0) * 1e9 / (double)iterations,
         sum & 1);
  return 0;
}

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
  if (argc >= 3 && strcmp(argv[1], "--read-medians") == 0) {
    char *args[] = {"read", "1000000", "cpu-timed"};
    bench_compare_medians(argv[2], "read 512 B from /dev/zero", args, 3,
                          argc > 3 ? atoi(argv[3]) : 11,
                          "--disable-event-plugin");
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: file_bench openclose|rw|read [N] | --compare "
                    "BIN | --read-medians BIN [RUNS]\n");
    return 2;
  }
  if (strcmp(argv[1], "read") == 0) {
    clockid_t timing = argc > 3 && strcmp(argv[3], "cpu-timed") == 0
                           ? CLOCK_THREAD_CPUTIME_ID
                           : CLOCK_MONOTONIC;
    return run_read(argc > 2 ? atol(argv[2]) : 1000000, timing);
  }
  return run(argv[1], argc > 2 ? atol(argv[2]) : 500000);
}
