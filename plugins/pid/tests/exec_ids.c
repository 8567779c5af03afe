/* exec keeps the pid, so it keeps the virtual pid: a child that execs
 * itself after the restart sees the same getpid()/getppid() in the new
 * image, and its parent reaps it by the pid fork() returned. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--check") == 0) {
    pid_t want_pid = (pid_t)atoi(argv[2]);
    pid_t want_ppid = (pid_t)atoi(argv[3]);
    if (getpid() != want_pid || getppid() != want_ppid) {
      printf("FAIL: after exec: pid %d ppid %d, want %d %d\n", getpid(),
             getppid(), want_pid, want_ppid);
      return 1;
    }
    return 7;
  }
  pid_t me = getpid();
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    pid_t mine = getpid();
    e2e_wait_for_go(NULL);
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", mine);
    snprintf(b, sizeof b, "%d", me);
    execl(argv[0], argv[0], "--check", a, b, (char *)NULL);
    printf("FAIL: exec: %s\n", strerror(errno));
    _exit(1);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  int st = 0;
  E2E_CHECK(waitpid(child, &st, 0) == child, "waitpid(%d): %s", child,
            strerror(errno));
  E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "child status %#x", st);
  e2e_say("PASS");
  return 0;
}
