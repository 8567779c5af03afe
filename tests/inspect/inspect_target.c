/* The process tests/inspect/inspect_test.py checkpoints and then looks at
 * with dmtcp_inspect: state the test knows exactly.
 *
 *   - its arguments (the test passes them), its pid (printed);
 *   - 16 pages at kDataAddr, rw-p, private anonymous: the even pages hold
 *     pseudo-random (incompressible) bytes, the odd pages stay untouched,
 *     so the image stores exactly 8 pages of it raw;
 *   - 4 pages at kReadOnlyAddr filled and then made read-only (r--p);
 *   - a file it opened ($DMTCP_CHECKPOINT_DIR/inspect.data), at offset 3;
 *   - a pipe holding 5 unread bytes;
 *   - a POSIX timer on CLOCK_MONOTONIC, SIGEV_NONE, armed for 1000 s with
 *     a 100 s interval;
 *   - an eventfd whose counter is 7;
 *   - a SysV semaphore set of 2 (the test removes it).
 *
 * Prints "PID n", "FD n", "PIPE r w", "TIMER id", "EVENTFD n", "SEM id",
 * READY.  When the file named
 * by $INSPECT_CHANGE appears it rewrites page 4 of the data region (prints
 * CHANGED); then it waits for the go file and prints PASS. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <time.h>

#include "../e2e/programs/e2e.h"

#define kDataAddr ((void*)0x5a5a00000000ull)
#define kReadOnlyAddr ((void*)0x5a5b00000000ull)
#define kPage 4096

static void fill(unsigned char* p, size_t n, unsigned long long seed) {
  for (size_t i = 0; i < n; i += 8) {
    unsigned long long v = e2e_next(&seed);
    memcpy(p + i, &v, 8);
  }
}

static void* map_at(void* addr, size_t len) {
  void* p = mmap(addr, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  E2E_CHECK(p == addr, "mmap at %p failed", addr);
  return p;
}

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  unsigned char* data = map_at(kDataAddr, 16 * kPage);
  for (int i = 0; i < 16; i += 2) {
    fill(data + i * kPage, kPage, 1000 + (unsigned long long)i);
  }
  unsigned char* ro = map_at(kReadOnlyAddr, 4 * kPage);
  fill(ro, 4 * kPage, 77);
  E2E_CHECK(mprotect(ro, 4 * kPage, PROT_READ) == 0, "mprotect");

  const char* dir = getenv("DMTCP_CHECKPOINT_DIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/inspect.data", dir != NULL ? dir : ".");
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  E2E_CHECK(fd >= 0, "open %s", path);
  E2E_CHECK(write(fd, "hello", 5) == 5, "write");
  E2E_CHECK(lseek(fd, 3, SEEK_SET) == 3, "lseek");

  int p[2];
  E2E_CHECK(pipe(p) == 0, "pipe");
  E2E_CHECK(write(p[1], "12345", 5) == 5, "write to the pipe");

  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_NONE;
  timer_t timer;
  E2E_CHECK(timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0, "timer_create");
  struct itimerspec its = {{100, 0}, {1000, 0}};
  E2E_CHECK(timer_settime(timer, 0, &its, NULL) == 0, "timer_settime");

  int efd = eventfd(7, EFD_CLOEXEC);
  E2E_CHECK(efd >= 0, "eventfd");

  int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  E2E_CHECK(sem >= 0, "semget");

  printf("PID %d\nFD %d\nPIPE %d %d\nTIMER %d\nEVENTFD %d\nSEM %d\n",
         (int)getpid(), fd, p[0], p[1], (int)(intptr_t)timer, efd, sem);
  e2e_say("READY");

  const char* change = getenv("INSPECT_CHANGE");
  struct stat st;
  while (change != NULL && stat(change, &st) != 0 && !e2e_go_seen()) {
    usleep(10000);
  }
  if (change != NULL && stat(change, &st) == 0) {
    fill(data + 4 * kPage, kPage, 4242);
    e2e_say("CHANGED");
  }
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 0;
}
