/* Incremental checkpoints and fork (docs/incremental.md): the parent's
 * first image (dmtcp_checkpoint()) is full; then it forks, each process
 * changes a page of the memory they share a copy of, and the harness
 * checkpoints.  The parent's image is incremental; the child's must be
 * full (what the parent's tables say is about the parent's images: a
 * child building on them would name its parent's image as predecessor
 * and dmtcp_restart would refuse it).  After the go both check their
 * pages; the parent prints PASS once the child exited 0. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../../../core/include/dmtcp.h"
#include "e2e.h"

enum { kPage = 4096, kPages = 2048 };

static unsigned char expected(size_t i) { return (unsigned char)(i * 7 + 3); }

static int check(const unsigned char *p, size_t mine, unsigned char value) {
  for (size_t i = 0; i < kPages * kPage; ++i) {
    unsigned char want = i / kPage == mine ? value : expected(i);
    if (p[i] != want) {
      printf("byte %zu is %u, not %u\n", i, p[i], want);
      return 0;
    }
  }
  return 1;
}

int main(void) {
  unsigned char *p = mmap(NULL, kPages * kPage, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  E2E_CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
  for (size_t i = 0; i < kPages * kPage; ++i) {
    p[i] = expected(i);
  }
  int r = dmtcp_checkpoint();
  E2E_CHECK(r == DMTCP_AFTER_CHECKPOINT || r == DMTCP_NOT_PRESENT,
            "dmtcp_checkpoint returned %d", r);
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork: %s", strerror(errno));
  size_t mine = child == 0 ? 5 : 9;
  unsigned char value = child == 0 ? 0x11 : 0x22;
  memset(p + mine * kPage, value, kPage);
  if (child == 0) {
    e2e_wait_for_go(NULL);
    _exit(check(p, mine, value) ? 0 : 3);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  int status = 0;
  E2E_CHECK(waitpid(child, &status, 0) == child, "waitpid: %s",
            strerror(errno));
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "child status 0x%x", status);
  E2E_CHECK(check(p, mine, value), "the parent's memory differs");
  e2e_say("PASS");
  return 0;
}
