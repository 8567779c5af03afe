/* Memory of every kind comes back byte for byte: a pseudo-random pattern
 * (size from argv[1], MiB), pages touched but all zero, pages never
 * touched, a read-only page, and data in .data and .bss. */
#include <string.h>
#include <sys/mman.h>

#include "e2e.h"

static unsigned long long g_data_word = 0x1122334455667788ull;
static char g_bss[1 << 16];

static void fill(unsigned long long *p, size_t words, unsigned long long seed) {
  for (size_t i = 0; i < words; ++i) {
    p[i] = e2e_next(&seed);
  }
}

static void verify(const unsigned long long *p, size_t words,
                   unsigned long long seed, const char *what) {
  for (size_t i = 0; i < words; ++i) {
    unsigned long long want = e2e_next(&seed);
    E2E_CHECK(p[i] == want, "%s: word %zu is %llx, want %llx", what, i, p[i],
              want);
  }
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
  size_t len = mib << 20;
  unsigned long long *random = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *zeros = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *untouched = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  E2E_CHECK(random != MAP_FAILED && zeros != MAP_FAILED &&
                untouched != MAP_FAILED && ro != MAP_FAILED,
            "mmap");
  fill(random, len / 8, 42);
  memset(zeros, 0, 16 << 20);
  strcpy(ro, "read-only page");
  mprotect(ro, 4096, PROT_READ);
  memset(g_bss, 0x5a, sizeof g_bss);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  verify(random, len / 8, 42, "random");
  for (size_t i = 0; i < (16u << 20); ++i) {
    E2E_CHECK(zeros[i] == 0, "zero page byte %zu is %d", i, zeros[i]);
  }
  for (size_t i = 0; i < (64u << 20); i += 4096) {
    E2E_CHECK(untouched[i] == 0, "untouched byte %zu is %d", i, untouched[i]);
  }
  E2E_CHECK(strcmp(ro, "read-only page") == 0, "read-only page: %s", ro);
  E2E_CHECK(g_data_word == 0x1122334455667788ull, ".data changed");
  for (size_t i = 0; i < sizeof g_bss; ++i) {
    E2E_CHECK(g_bss[i] == 0x5a, ".bss byte %zu", i);
  }
  /* The memory is still ours to change. */
  random[0] ^= 1;
  untouched[0] = 1;
  e2e_say("PASS");
  return 0;
}
