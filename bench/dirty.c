/* Benchmark payload for incremental checkpoints: fills SIZE MiB with random
 * bytes and prints READY; then, each time a line arrives on stdin, rewrites
 * PERMILLE/1000 of its pages (distinct random pages, new random bytes) and
 * prints DIRTIED.  EOF ends it.  With SPARSE_GIB it also maps that many GiB
 * of MAP_NORESERVE memory and writes 16 scattered pages of it (upstream's
 * mmap-noreserve).  Usage: bench_dirty MIB PERMILLE [SPARSE_GIB] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static unsigned long long g_s = 88172645463325252ull;

static unsigned long long next(void) {
  g_s ^= g_s << 13;
  g_s ^= g_s >> 7;
  g_s ^= g_s << 17;
  return g_s;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_dirty MIB PERMILLE\n");
    return 1;
  }
  size_t len = strtoull(argv[1], NULL, 10) << 20;
  size_t permille = strtoull(argv[2], NULL, 10);
  size_t pages = len / 4096;
  unsigned long long *w = mmap(NULL, len, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (w == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  for (size_t i = 0; i < len / 8; ++i) {
    w[i] = next();
  }
  if (argc > 3) {
    size_t sparse = strtoull(argv[3], NULL, 10) << 30;
    unsigned char *q = mmap(NULL, sparse, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (q == MAP_FAILED) {
      perror("mmap (sparse)");
      return 1;
    }
    for (int i = 0; i < 16; ++i) {
      memset(q + (next() % (sparse / 4096)) * 4096, 0x5a, 4096);
    }
  }
  unsigned char *hit = calloc(pages, 1);
  printf("READY\n");
  fflush(stdout);
  char line[64];
  while (fgets(line, sizeof line, stdin) != NULL) {
    size_t want = pages * permille / 1000;
    memset(hit, 0, pages);
    for (size_t done = 0; done < want;) {
      size_t p = next() % pages;
      if (hit[p]) {
        continue;
      }
      hit[p] = 1;
      ++done;
      for (size_t k = 0; k < 512; ++k) {
        w[p * 512 + k] = next();
      }
    }
    printf("DIRTIED\n");
    fflush(stdout);
  }
  return 0;
}
