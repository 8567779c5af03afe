/* Restart reads memory back with several threads and huge pages
 * (docs/restore.md, "Reading memory back"); every kind of data comes back
 * byte for byte, and sparse memory stays sparse:
 *  - random bytes in a region that starts 20 KiB past a 2 MiB boundary;
 *  - repetitive text (stored compressed);
 *  - 1 MiB pieces of random, zero and text in turn;
 *  - one random page in every 2 MiB of 64 MiB: after restart the region
 *    must still hold about that many pages (Rss from /proc/self/smaps),
 *    not a huge page per 2 MiB. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "e2e.h"

#define MIB (1ul << 20)
#define HUGE (2 * MIB)
#define SPARSE (64 * MIB)

static const char kLine[] =
    "restart me in parallel, page by page; 0123456789\n";

static void fill(unsigned char* p, size_t n, int kind,
                 unsigned long long seed) {
  if (kind == 0) {
    for (size_t i = 0; i + 8 <= n; i += 8) {
      unsigned long long v = e2e_next(&seed);
      memcpy(p + i, &v, 8);
    }
  } else if (kind == 1) {
    memset(p, 0, n);
  } else {
    for (size_t i = 0; i < n; ++i) {
      p[i] = (unsigned char)kLine[(i + seed) % (sizeof kLine - 1)];
    }
  }
}

static void verify(const unsigned char* p, size_t n, int kind,
                   unsigned long long seed, const char* what) {
  unsigned char* want = malloc(n);
  E2E_CHECK(want != NULL, "malloc");
  fill(want, n, kind, seed);
  for (size_t i = 0; i < n; ++i) {
    E2E_CHECK(p[i] == want[i], "%s: byte %zu is %d, want %d", what, i, p[i],
              want[i]);
  }
  free(want);
}

/* Rss of the mapping that starts at p, in KiB (-1 if not found). */
static long rss_kib(const void* p) {
  FILE* f = fopen("/proc/self/smaps", "r");
  E2E_CHECK(f != NULL, "open smaps");
  char line[512];
  char want[32];
  snprintf(want, sizeof want, "%lx-", (unsigned long)p);
  int in = 0;
  long rss = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    size_t first = strcspn(line, " ");
    if (first > 0 && line[first - 1] != ':') { /* a mapping's own line */
      in = strncmp(line, want, strlen(want)) == 0;
    } else if (in && strncmp(line, "Rss:", 4) == 0) {
      rss = strtol(line + 4, NULL, 10);
      in = 0;
    }
  }
  fclose(f);
  return rss;
}

int main(void) {
  size_t rlen = 20 * MIB + 12345 * 4096ul % MIB;
  unsigned char* area = mmap(NULL, rlen + 2 * HUGE, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char* text = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char* mixed = mmap(NULL, 24 * MIB, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  /* Between guard pages, so it stays a mapping of its own (smaps). */
  unsigned char* guarded = mmap(NULL, SPARSE + 2 * 4096, PROT_NONE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char* sparse = guarded + 4096;
  E2E_CHECK(guarded != MAP_FAILED &&
                mprotect(sparse, SPARSE, PROT_READ | PROT_WRITE) == 0,
            "guarded mmap");
  E2E_CHECK(area != MAP_FAILED && text != MAP_FAILED && mixed != MAP_FAILED,
            "mmap");
  /* 20 KiB past a 2 MiB boundary, whatever the kernel chose. */
  unsigned char* aligned =
      (unsigned char*)(((unsigned long)area + HUGE - 1) & ~(HUGE - 1));
  unsigned char* random = aligned + 5 * 4096;
  munmap(area, (size_t)(random - area));
  munmap(random + rlen, (size_t)(area + rlen + 2 * HUGE - (random + rlen)));

  fill(random, rlen, 0, 7);
  fill(text, 16 * MIB, 2, 3);
  for (size_t k = 0; k < 24; ++k) {
    fill(mixed + k * MIB, MIB, (int)(k % 3), 100 + k);
  }
  for (size_t w = 0; w < SPARSE / HUGE; ++w) {
    fill(sparse + w * HUGE + 7 * 4096, 4096, 0, 1000 + w);
  }
  long sparse_before = rss_kib(sparse);
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  /* Each 2 MiB holds one page of data: 32 pages, 128 KiB; a huge page per
   * window would be 64 MiB.  Measured before anything below reads the
   * region: reading a never-touched page maps the shared zero page on
   * most kernels, which Rss counts, and on some (6.18 as built for our CI
   * machines) a fresh page of its own, so afterwards the whole region
   * would show resident even natively. */
  long sparse_after = rss_kib(sparse);
  E2E_CHECK(sparse_after >= 0 && sparse_after < 8 * 1024,
            "sparse region holds %ld KiB after restart (%ld before)",
            sparse_after, sparse_before);
  verify(random, rlen, 0, 7, "random");
  verify(text, 16 * MIB, 2, 3, "text");
  for (size_t k = 0; k < 24; ++k) {
    verify(mixed + k * MIB, MIB, (int)(k % 3), 100 + k, "mixed");
  }
  for (size_t w = 0; w < SPARSE / HUGE; ++w) {
    for (size_t pg = 0; pg < HUGE / 4096; ++pg) {
      const unsigned char* p = sparse + w * HUGE + pg * 4096;
      if (pg == 7) {
        verify(p, 4096, 0, 1000 + w, "sparse page");
      } else {
        for (size_t i = 0; i < 4096; i += 512) {
          E2E_CHECK(p[i] == 0, "sparse: window %zu page %zu not zero", w, pg);
        }
      }
    }
  }
  /* Still ours to change. */
  random[0] ^= 1;
  sparse[0] = 1;
  e2e_say("PASS");
  return 0;
}
