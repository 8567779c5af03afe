/* Benchmark payload: fills SIZE MiB with random bytes, zeros (touched),
 * repetitive text, or a mix (4 MiB of each in turn), prints READY, then exits
 * as soon as the file named by $DMTCP_TEST_GO exists (polled every
 * millisecond). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void fill(unsigned char* p, size_t len, const char* kind) {
  if (strcmp(kind, "random") == 0) {
    static unsigned long long s = 88172645463325252ull;
    unsigned long long* w = (unsigned long long*)p;
    for (size_t i = 0; i < len / 8; ++i) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      w[i] = s;
    }
  } else if (strcmp(kind, "zero") == 0) {
    memset(p, 0, len);
  } else {
    static const char line[] =
        "The quick brown fox jumps over the lazy dog; checkpoint me!\n";
    for (size_t i = 0; i < len; ++i) {
      p[i] = (unsigned char)line[i % (sizeof line - 1)];
    }
  }
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: fill random|zero|text|mix MIB\n");
    return 1;
  }
  size_t len = strtoull(argv[2], NULL, 10) << 20;
  unsigned char* p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  int mix = strcmp(argv[1], "mix") == 0;
  size_t piece = mix ? (size_t)4 << 20 : len;
  for (size_t at = 0, k = 0; at < len; at += piece, ++k) {
    size_t n = len - at < piece ? len - at : piece;
    const char* kind = mix ? (k % 3 == 0   ? "random"
                              : k % 3 == 1 ? "zero"
                                           : "text")
                           : argv[1];
    fill(p + at, n, kind);
  }
  printf("READY\n");
  fflush(stdout);
  const char* go = getenv("DMTCP_TEST_GO");
  struct stat st;
  while (go != NULL && stat(go, &st) != 0) {
    usleep(1000);
  }
  volatile unsigned char sink = p[len / 2];
  (void)sink;
  return 0;
}
