/* Benchmark payload for the program-visible pause of a checkpoint: fills
 * SIZE MiB with random bytes, prints READY, then spins reading
 * CLOCK_MONOTONIC and keeps the longest gap between two consecutive reads
 * (a frozen program sees its whole freeze as one gap).  With "dirty" it
 * also writes one byte of a different page on every pass (so a forked
 * checkpoint's copy-on-write shows in the gaps).  Exits when the file named
 * by $DMTCP_TEST_GO exists (looked at once a millisecond), printing
 * "max_gap_us N gaps_over_1ms M passes P".  Forked checkpoints:
 * docs/benchmarks.md.
 *
 * "pause --clone-cost MIB": the machine's own price of the copy, natively:
 * the same memory, then five raw clone()s like the forked writer's (exit
 * signal 0, the child exits at once); prints the time of each call in
 * microseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: pause MIB [dirty] | pause --clone-cost MIB\n");
    return 1;
  }
  int clone_cost = strcmp(argv[1], "--clone-cost") == 0;
  if (clone_cost && argc < 3) {
    fprintf(stderr, "usage: pause --clone-cost MIB\n");
    return 1;
  }
  size_t len = strtoull(argv[clone_cost ? 2 : 1], NULL, 10) << 20;
  int dirty = !clone_cost && argc > 2 && strcmp(argv[2], "dirty") == 0;
  unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  unsigned long long s = 88172645463325252ull;
  unsigned long long *w = (unsigned long long *)p;
  for (size_t i = 0; i < len / 8; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    w[i] = s;
  }
  if (clone_cost) {
    for (int i = 0; i < 5; ++i) {
      long long t = now_ns();
      long pid = syscall(SYS_clone, 0, 0, 0, 0, 0);
      if (pid == 0) {
        syscall(SYS_exit_group, 0);
      }
      long long took = now_ns() - t;
      syscall(SYS_wait4, pid, 0, __WALL, 0);
      printf("%lld\n", took / 1000);
    }
    return 0;
  }
  printf("READY\n");
  fflush(stdout);
  const char *go = getenv("DMTCP_TEST_GO");
  struct stat st;
  long long last = now_ns(), max_gap = 0, next_look = last + 1000000;
  long long over_1ms = 0, passes = 0;
  size_t page = 0;
  for (;;) {
    long long t = now_ns();
    long long gap = t - last;
    if (gap > max_gap) {
      max_gap = gap;
    }
    if (gap > 1000000) {
      ++over_1ms;
    }
    ++passes;
    if (dirty && len != 0) {
      p[page * 4096] += 1;
      page = (page + 1) % (len / 4096);
    }
    if (t >= next_look) {
      if (go == NULL || stat(go, &st) == 0) {
        break;
      }
      /* The look itself is not the program's pause: start after it. */
      t = now_ns();
      next_look = t + 1000000;
    }
    last = t;
  }
  printf("max_gap_us %lld gaps_over_1ms %lld passes %lld\n", max_gap / 1000,
         over_1ms, passes);
  return 0;
}
