/* Incremental checkpoints (docs/incremental.md): five checkpoints
 * (dmtcp_checkpoint()), each after random changes to the pages of a
 * buffer: new data, pages set to zero, pages dropped with MADV_DONTNEED,
 * zero pages given data, and once a part unmapped and mapped again; the
 * same in a private mapping of a file (whose unchanged pages come from the
 * file: a page set to zeros is data there, a dropped one the file's).  Under
 * dmtcp_launch --incremental each image stores only what changed, so a
 * restart must lay five images and the harness's own checkpoint over one
 * another.  Before READY the buffer is written to $DMTCP_TEST_GO.expected;
 * after the go it must equal that file byte for byte.  While it waits for
 * the go, the file $DMTCP_TEST_GO1 appearing (a restarted process, before
 * its next checkpoint: failure_modes.py incrrestart) makes it change its
 * pages once more, write the expected file again and print MUTATED.  After
 * the expected file is written, 1% of the pages are dropped (and zero
 * there): holes nothing reads before the checkpoint.
 * Usage: incremental [MiB] */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../../core/include/dmtcp.h"
#include "e2e.h"

enum { kPage = 4096 };

static unsigned char *g_buf;
static size_t g_pages;
enum { kFilePages = 64 };
static unsigned char *g_fbuf; /* MAP_PRIVATE of $DMTCP_TEST_GO.data */

static void fill_page(size_t i, unsigned long long *rng) {
  unsigned long long *w = (unsigned long long *)(g_buf + i * kPage);
  for (size_t k = 0; k < kPage / 8; ++k) {
    w[k] = e2e_next(rng);
  }
}

static void mutate(int round, unsigned long long *rng) {
  size_t changes = g_pages / 50 + 1; /* about 2% of the pages */
  for (size_t n = 0; n < changes; ++n) {
    size_t i = (size_t)(e2e_next(rng) % g_pages);
    switch (e2e_next(rng) % 4) {
      case 0:
      case 1:
        fill_page(i, rng);
        break;
      case 2:
        memset(g_buf + i * kPage, 0, kPage);
        break;
      default:
        E2E_CHECK(madvise(g_buf + i * kPage, kPage, MADV_DONTNEED) == 0,
                  "madvise: %s", strerror(errno));
        break;
    }
  }
  for (int n = 0; n < 6; ++n) {
    size_t i = (size_t)(e2e_next(rng) % kFilePages);
    unsigned char *page = g_fbuf + i * kPage;
    switch (e2e_next(rng) % 3) {
      case 0:
        memset(page, 0, kPage);
        break;
      case 1:
        E2E_CHECK(madvise(page, kPage, MADV_DONTNEED) == 0, "madvise: %s",
                  strerror(errno));
        break;
      default:
        for (size_t k = 0; k < kPage / 8; ++k) {
          ((unsigned long long *)page)[k] = e2e_next(rng);
        }
        break;
    }
  }
  /* One byte changed in a page: the hash must see it. */
  g_buf[(size_t)(e2e_next(rng) % g_pages) * kPage + 100] ^= 0x5a;
  if (round == 3) {
    /* A hole punched and mapped again: another mapping at the same place,
     * zero where the new one is not written. */
    size_t at = g_pages / 3, len = g_pages / 10 + 1;
    void *p = mmap(g_buf + at * kPage, len * kPage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    E2E_CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
    for (size_t i = at; i < at + len; i += 3) {
      fill_page(i, rng);
    }
  }
}

static void write_expected(void) {
  char expected[4096];
  snprintf(expected, sizeof expected, "%s.expected", getenv("DMTCP_TEST_GO"));
  unlink(expected);
  int fd = open(expected, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  E2E_CHECK(fd >= 0, "%s: %s", expected, strerror(errno));
  for (size_t off = 0; off < g_pages * kPage;) {
    ssize_t w = write(fd, g_buf + off, g_pages * kPage - off);
    E2E_CHECK(w > 0, "write %s: %s", expected, strerror(errno));
    off += (size_t)w;
  }
  E2E_CHECK(write(fd, g_fbuf, kFilePages * kPage) == kFilePages * kPage,
            "write %s: %s", expected, strerror(errno));
  E2E_CHECK(close(fd) == 0, "close: %s", strerror(errno));
}

/* Pages dropped with MADV_DONTNEED after the expected file was written:
 * holes that nothing reads before the checkpoint (the expected file says
 * zero there).  A checkpoint that trusts "not written" for a hole keeps the
 * predecessor's data. */
static void drop_after_expected(unsigned long long *rng) {
  static const unsigned char zero[kPage];
  char expected[4096];
  snprintf(expected, sizeof expected, "%s.expected", getenv("DMTCP_TEST_GO"));
  int fd = open(expected, O_WRONLY);
  E2E_CHECK(fd >= 0, "%s: %s", expected, strerror(errno));
  for (size_t n = 0; n < g_pages / 100 + 1; ++n) {
    size_t i = (size_t)(e2e_next(rng) % g_pages);
    E2E_CHECK(madvise(g_buf + i * kPage, kPage, MADV_DONTNEED) == 0,
              "madvise: %s", strerror(errno));
    E2E_CHECK(pwrite(fd, zero, kPage, (off_t)(i * kPage)) == kPage,
              "pwrite %s: %s", expected, strerror(errno));
  }
  E2E_CHECK(close(fd) == 0, "close: %s", strerror(errno));
}

static unsigned long long g_rng;
static int g_mutated;

/* While waiting for the go: $DMTCP_TEST_GO1 asks for one more round of
 * changes (after a restart, so that the next image continues the chain). */
static void maybe_mutate(void) {
  char go1[4096];
  snprintf(go1, sizeof go1, "%s1", getenv("DMTCP_TEST_GO"));
  if (g_mutated || access(go1, F_OK) != 0) {
    return;
  }
  g_mutated = 1;
  mutate(7, &g_rng);
  write_expected();
  drop_after_expected(&g_rng);
  e2e_say("MUTATED");
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 32;
  const char *go = getenv("DMTCP_TEST_GO");
  E2E_CHECK(go != NULL, "DMTCP_TEST_GO is not set");
  g_pages = mib * 1024 * 1024 / kPage;
  g_buf = mmap(NULL, g_pages * kPage, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  E2E_CHECK(g_buf != MAP_FAILED, "mmap: %s", strerror(errno));
  unsigned long long rng = 0x9e3779b97f4a7c15ull ^ (unsigned long long)mib;
  char data[4096];
  snprintf(data, sizeof data, "%s.data", go);
  int dfd = open(data, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  E2E_CHECK(dfd >= 0, "%s: %s", data, strerror(errno));
  for (int i = 0; i < kFilePages * kPage / 8; ++i) {
    unsigned long long v = e2e_next(&rng);
    E2E_CHECK(write(dfd, &v, 8) == 8, "write %s", data);
  }
  g_fbuf = mmap(NULL, kFilePages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                dfd, 0);
  E2E_CHECK(g_fbuf != MAP_FAILED, "mmap %s: %s", data, strerror(errno));
  close(dfd);
  for (size_t i = 0; i < g_pages; ++i) {
    if (i % 7 != 0) { /* every 7th page stays untouched (zero) */
      fill_page(i, &rng);
    }
  }
  int checkpoints = 0;
  for (int round = 1; round <= 5; ++round) {
    mutate(round, &rng);
    int r = dmtcp_checkpoint();
    E2E_CHECK(r == DMTCP_AFTER_CHECKPOINT || r == DMTCP_NOT_PRESENT,
              "dmtcp_checkpoint returned %d in round %d", r, round);
    checkpoints += r == DMTCP_AFTER_CHECKPOINT;
  }
  mutate(6, &rng);
  write_expected();
  drop_after_expected(&rng);
  g_rng = rng;
  printf("checkpoints %d\n", checkpoints);
  e2e_say("READY");
  e2e_wait_for_go(maybe_mutate);

  char expected[4096];
  snprintf(expected, sizeof expected, "%s.expected", go);
  int fd = open(expected, O_RDONLY);
  E2E_CHECK(fd >= 0, "%s: %s", expected, strerror(errno));
  static unsigned char page[kPage];
  size_t bad = 0, first_bad = 0;
  for (size_t i = 0; i < g_pages; ++i) {
    E2E_CHECK(read(fd, page, kPage) == kPage, "short read of %s", expected);
    if (memcmp(page, g_buf + i * kPage, kPage) != 0) {
      first_bad = bad == 0 ? i : first_bad;
      ++bad;
    }
  }
  size_t fbad = 0;
  for (size_t i = 0; i < kFilePages; ++i) {
    E2E_CHECK(read(fd, page, kPage) == kPage, "short read of %s", expected);
    fbad += memcmp(page, g_fbuf + i * kPage, kPage) != 0;
  }
  close(fd);
  unlink(expected);
  unlink(data);
  E2E_CHECK(fbad == 0, "%zu of %d pages of the file mapping differ", fbad,
            kFilePages);
  E2E_CHECK(bad == 0, "%zu of %zu pages differ from before the checkpoint "
            "(first: page %zu)", bad, g_pages, first_bad);
  E2E_CHECK(!dmtcp_is_enabled() || checkpoints == 5,
            "%d application checkpoints", checkpoints);
  e2e_say("PASS");
  return 0;
}
