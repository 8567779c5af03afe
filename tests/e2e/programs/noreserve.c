/* A huge sparse mapping (docs/image-format.md, "Which pages are stored"):
 * GiB (default 2 TiB, as upstream DMTCP's mmap-noreserve test maps) of
 * MAP_NORESERVE anonymous memory, with a few pages written at scattered
 * places (both ends, and across what would be many pagemap batches).  The
 * checkpoint must find those pages without walking a page table entry
 * per page (512 million for 2 TiB: over 30 s); after the go they must hold
 * their bytes and untouched pages read as zero.  Usage: noreserve [GiB] */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "e2e.h"

enum { kPage = 4096, kTouched = 24 };

int main(int argc, char **argv) {
  size_t gib = argc > 1 ? (size_t)atol(argv[1]) : 2048;
  size_t len = gib << 30;
  size_t pages = len / kPage;
  unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  E2E_CHECK(p != MAP_FAILED, "mmap of %zu GiB: %s", gib, strerror(errno));
  size_t at[kTouched];
  unsigned long long rng = 0x2545f4914f6cdd1dull;
  for (int i = 0; i < kTouched; ++i) {
    at[i] = i == 0 ? 0 : i == 1 ? pages - 1 : e2e_next(&rng) % pages;
    for (int k = 0; k < kPage; k += 8) {
      unsigned long long v = e2e_next(&rng);
      memcpy(p + at[i] * kPage + k, &v, 8);
    }
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  rng = 0x2545f4914f6cdd1dull;
  for (int i = 0; i < kTouched; ++i) {
    size_t want = i == 0 ? 0 : i == 1 ? pages - 1 : e2e_next(&rng) % pages;
    E2E_CHECK(want == at[i], "page list differs at %d", i);
    for (int k = 0; k < kPage; k += 8) {
      unsigned long long v = e2e_next(&rng), got;
      memcpy(&got, p + at[i] * kPage + k, 8);
      /* A later page may have overwritten an earlier one (same index). */
      int later = 0;
      for (int j = i + 1; j < kTouched; ++j) {
        later |= at[j] == at[i];
      }
      E2E_CHECK(later || got == v, "page %zu differs at byte %d", at[i], k);
    }
  }
  /* Pages nobody wrote are zero (and reading them must not fail). */
  for (int i = 0; i < 64; ++i) {
    size_t q = (e2e_next(&rng) % pages) * kPage;
    int touched = 0;
    for (int j = 0; j < kTouched; ++j) {
      touched |= at[j] * kPage == q;
    }
    E2E_CHECK(touched || p[q] == 0, "untouched page %zu is not zero",
              q / kPage);
  }
  e2e_say("PASS");
  return 0;
}
