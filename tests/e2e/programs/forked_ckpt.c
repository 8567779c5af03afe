/* What a forked checkpoint (dmtcp_launch --forked-checkpoint) must give a
 * program that keeps running while its image is written:
 *  - the image writer is invisible: no SIGCHLD, and waitpid(-1, WNOHANG),
 *    wait4(-1) and waitid(P_ALL) never report anything (our own child
 *    lives until we are done looking), polled every pass while
 *    checkpoints happen;
 *  - the image is the memory at the copy: every pass writes its number
 *    into each page of a 64 MiB buffer of random bytes, after checking
 *    that the page holds the previous pass's number.  An image that took
 *    pages as the program changed them after the copy restarts with pages
 *    from later passes than its own counter, and the next pass fails.
 * A restarted program resumes inside a pass (the freeze can come at any
 * page): the check goes on from there. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "e2e.h"

#define MIB 64
#define PAGE 4096
#define NPAGES (MIB * 1024 * 1024 / PAGE)

static unsigned char *g_buf;
static volatile uint64_t g_pass = 0;
static volatile long g_bad_pages = 0;
static volatile uint64_t g_bad_value = 0;
static volatile sig_atomic_t g_sigchld = 0;
static volatile long g_foreign_waits = 0;
static volatile long g_wait_detail = 0;
static pid_t g_child;

static void on_sigchld(int sig) {
  (void)sig;
  g_sigchld++;
}

static void pass(void) {
  uint64_t me = ++g_pass;
  for (long i = 0; i < NPAGES; ++i) {
    uint64_t *word = (uint64_t *)(g_buf + (size_t)i * PAGE);
    if (word[0] != me - 1 && g_bad_pages++ == 0) {
      g_bad_value = word[0];
    }
    word[0] = me;
  }
}

static void look_for_foreign_children(void) {
  int status;
  pid_t r = waitpid(-1, &status, WNOHANG);
  if (r != 0) {
    g_foreign_waits++;
    g_wait_detail = r > 0 ? r : -errno;
  }
  r = wait4(-1, &status, WNOHANG, NULL);
  if (r != 0) {
    g_foreign_waits++;
    g_wait_detail = r > 0 ? r : -errno;
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      si.si_pid != 0) {
    g_foreign_waits++;
    g_wait_detail = si.si_pid;
  }
}

static void tick(void) {
  look_for_foreign_children();
  pass();
  look_for_foreign_children();
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  g_buf = mmap(NULL, (size_t)NPAGES * PAGE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  E2E_CHECK(g_buf != MAP_FAILED, "mmap");
  unsigned long long seed = 12345;
  for (size_t i = 0; i < (size_t)NPAGES * PAGE / 8; ++i) {
    ((uint64_t *)g_buf)[i] = e2e_next(&seed);
  }
  for (long i = 0; i < NPAGES; ++i) {
    ((uint64_t *)(g_buf + (size_t)i * PAGE))[0] = 0;
  }
  /* Our child lives until we close the pipe, after the last look. */
  int hold[2];
  E2E_CHECK(pipe(hold) == 0, "pipe");
  g_child = fork();
  E2E_CHECK(g_child >= 0, "fork");
  if (g_child == 0) {
    close(hold[1]);
    char c;
    ssize_t n;
    do {
      n = read(hold[0], &c, 1);
    } while (n > 0 || (n < 0 && errno == EINTR));
    _exit(n == 0 ? 0 : 2);
  }
  close(hold[0]);
  pass();
  e2e_say("READY");
  while (!e2e_go_seen()) {
    tick();
    usleep(2000);
  }
  E2E_CHECK(g_bad_pages == 0,
            "%ld pages did not hold the previous pass's number (first: "
            "%llu, pass %llu): the image has memory from after the copy",
            g_bad_pages, (unsigned long long)g_bad_value,
            (unsigned long long)g_pass);
  E2E_CHECK(g_foreign_waits == 0,
            "wait saw something that is not our child %d %ld times (%ld)",
            (int)g_child, g_foreign_waits, g_wait_detail);
  E2E_CHECK(g_sigchld == 0, "%d SIGCHLD before our child exited",
            (int)g_sigchld);
  close(hold[1]);
  int status = -1;
  E2E_CHECK(waitpid(g_child, &status, 0) == g_child && WIFEXITED(status) &&
                WEXITSTATUS(status) == 0,
            "our child %d: status %d", (int)g_child, status);
  E2E_CHECK(waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD,
            "another child is left");
  printf("passes %llu\n", (unsigned long long)g_pass);
  e2e_say("PASS");
  return 0;
}
