/* Lazy restart (docs/lazy-restart.md): a buffer of random, repetitive and
 * zero pages (so raw, compressed and missing chunks) that comes back
 * through the userfaultfd helper.  After a restart:
 *   touch  8 threads read random pages at once, each checked byte for byte;
 *   fork   the program forks at once (a tick of its wait loop sees the
 *          restart), the child checks every page and exits 0;
 *   ckpt   the program checkpoints again at once (dmtcp_checkpoint()).
 * Each mode reports how many pages were resident (mincore) when it acted
 * ("LAZY resident a/b"): fewer than all shows the action came before the
 * helper was done.  Then every page is checked.  Usage: lazy MODE [MiB] */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../../../core/include/dmtcp.h"
#include "e2e.h"

enum { kPage = 4096, kThreads = 8 };

static unsigned char *g_buf;
static size_t g_pages;
static const char *g_mode;
static int g_restarts_seen;

static unsigned long long word(size_t page, size_t k) {
  switch (page % 5) {
    case 0:
      return 0; /* never written: no chunk */
    case 1:
      return page; /* repetitive: compresses */
    default: {
      unsigned long long s = page * 0x9e3779b97f4a7c15ull + k + 1;
      return e2e_next(&s);
    }
  }
}

static void fill(size_t page) {
  if (page % 5 == 0) {
    return;
  }
  unsigned long long *w = (unsigned long long *)(g_buf + page * kPage);
  for (size_t k = 0; k < kPage / 8; ++k) {
    w[k] = word(page, k);
  }
}

static void check_page(size_t page) {
  const unsigned long long *w =
      (const unsigned long long *)(g_buf + page * kPage);
  for (size_t k = 0; k < kPage / 8; ++k) {
    E2E_CHECK(w[k] == word(page, k), "page %zu word %zu: %llx, expected %llx",
              page, k, w[k], word(page, k));
  }
}

static void check_all(void) {
  for (size_t p = 0; p < g_pages; ++p) {
    check_page(p);
  }
}

static size_t resident(void) {
  static unsigned char vec[1u << 20];
  size_t n = g_pages < sizeof vec ? g_pages : sizeof vec;
  if (mincore(g_buf, n * kPage, vec) != 0) {
    return 0;
  }
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    count += vec[i] & 1;
  }
  return count;
}

static void *toucher(void *arg) {
  unsigned long long rng = 0x1234567ull + (unsigned long long)(size_t)arg;
  for (int i = 0; i < 2000; ++i) {
    check_page((size_t)(e2e_next(&rng) % g_pages));
  }
  return NULL;
}

/* Called every 10 ms while waiting for the go file: acts at once after a
 * restart. */
static void tick(void) {
  int ckpts = 0, restarts = 0;
  dmtcp_get_local_status(&ckpts, &restarts);
  if (restarts == g_restarts_seen) {
    return;
  }
  g_restarts_seen = restarts;
  size_t before = resident();
  if (strcmp(g_mode, "touch") == 0) {
    pthread_t t[kThreads];
    for (size_t i = 0; i < kThreads; ++i) {
      E2E_CHECK(pthread_create(&t[i], NULL, toucher, (void *)i) == 0,
                "pthread_create");
    }
    for (size_t i = 0; i < kThreads; ++i) {
      pthread_join(t[i], NULL);
    }
  } else if (strcmp(g_mode, "fork") == 0) {
    pid_t pid = fork();
    E2E_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
      check_all();
      _exit(0);
    }
    int status = 0;
    E2E_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the child found its memory wrong (status %x)", status);
  } else if (strcmp(g_mode, "ckpt") == 0) {
    int r = dmtcp_checkpoint();
    E2E_CHECK(r == DMTCP_AFTER_CHECKPOINT || r == DMTCP_AFTER_RESTART,
              "dmtcp_checkpoint returned %d", r);
    dmtcp_get_local_status(&ckpts, &g_restarts_seen);
  }
  printf("LAZY resident %zu/%zu\n", before, g_pages);
  fflush(stdout);
}

int main(int argc, char **argv) {
  g_mode = argc > 1 ? argv[1] : "touch";
  size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 128;
  g_pages = mib * 1024 * 1024 / kPage;
  g_buf = mmap(NULL, g_pages * kPage, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  E2E_CHECK(g_buf != MAP_FAILED, "mmap: %s", strerror(errno));
  for (size_t p = 0; p < g_pages; ++p) {
    fill(p);
  }
  int ckpts = 0;
  dmtcp_get_local_status(&ckpts, &g_restarts_seen);
  e2e_say("READY");
  e2e_wait_for_go(tick);
  check_all();
  e2e_say("PASS");
  return 0;
}
