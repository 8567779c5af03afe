/* A checkpoint that lands while the program forks takes every child its
 * parent knows of: fork returns in the parent only once the child has
 * joined, and a child that joins while the round suspends takes part in
 * it.  Children are forked every 2 ms from READY until the go file
 * appears (so the checkpoint falls in the middle); each waits for go and
 * exits with its own number.  After resume or restart the parent reaps
 * every child it forked, with the right status. */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "e2e.h"

enum { kMaxChildren = 64 };

int main(void) {
  pid_t children[kMaxChildren];
  int n = 0;
  e2e_say("READY");
  while (n < kMaxChildren && !e2e_go_seen()) {
    pid_t pid = fork();
    E2E_CHECK(pid >= 0, "fork %d", n);
    if (pid == 0) {
      e2e_wait_for_go(NULL);
      _exit(n % 100 + 1);
    }
    children[n++] = pid;
    usleep(2000);
  }
  e2e_wait_for_go(NULL);
  for (int i = 0; i < n; ++i) {
    int status = 0;
    pid_t got = waitpid(children[i], &status, 0);
    E2E_CHECK(got == children[i], "child %d (pid %d) is gone: waitpid %d",
              i, children[i], got);
    E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == i % 100 + 1,
              "child %d: status %#x", i, status);
  }
  printf("forked %d children\n", n);
  e2e_say("PASS");
  return 0;
}
