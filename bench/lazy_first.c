/* Lazy restart bench program (bench/lazy_bench.py): fills MiB of random
 * data, prints READY, then polls every 0.5 ms for a restart.  Right after
 * one it prints "FIRST <CLOCK_REALTIME ns>" (its first instructions), reads
 * every page and prints "RESIDENT <ns>" (all of its memory usable), then
 * exits.  Usage: lazy_first MiB [results file] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../core/include/dmtcp.h"

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int main(int argc, char **argv) {
  size_t len = (size_t)atol(argc > 1 ? argv[1] : "1024") << 20;
  unsigned long long *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED) {
    return 1;
  }
  unsigned long long s = 88172645463325252ull;
  for (size_t i = 0; i < len / 8; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    buf[i] = s;
  }
  int ckpts = 0, restarts = 0, seen = 0;
  dmtcp_get_local_status(&ckpts, &seen);
  printf("READY\n");
  fflush(stdout);
  for (;;) {
    dmtcp_get_local_status(&ckpts, &restarts);
    if (restarts != seen) {
      break;
    }
    usleep(500);
  }
  long long first = now_ns();
  unsigned long long sum = 0;
  for (size_t i = 0; i < len / 8; i += 512) {
    sum += buf[i];
  }
  long long resident = now_ns();
  FILE *out = fopen(argc > 2 ? argv[2] : "/dev/stdout", "a");
  if (out == NULL) {
    return 1;
  }
  fprintf(out, "FIRST %lld\nRESIDENT %lld\nSUM %llx\n", first, resident, sum);
  fclose(out);
  return 0;
}
