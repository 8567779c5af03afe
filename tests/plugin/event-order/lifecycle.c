/* The process-life events, for the recorder: a thread that returns, one
 * that calls pthread_exit, a fork whose child execs this program again
 * ("after-exec"), then exit.  Each step also appends a "prog ..." line to
 * the recorder's log so the test can place events around it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "e2e.h"

static void mark(const char *what) {
  int fd = open(getenv("DMTCP_TEST_EVENT_LOG"),
                O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  E2E_CHECK(fd >= 0, "open the event log");
  char line[128];
  int n = snprintf(line, sizeof line, "prog %s U %ld %d -\n", what,
                   syscall(SYS_gettid), (int)getpid());
  E2E_CHECK(write(fd, line, (size_t)n) == n, "write the event log");
  close(fd);
}

static void *returns(void *arg) {
  mark("thread-returns");
  return arg;
}

static void *exits(void *arg) {
  mark("thread-exits");
  pthread_exit(arg);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
    mark("after-exec");
    return 0;
  }
  mark("main");
  pthread_t t;
  E2E_CHECK(pthread_create(&t, NULL, returns, NULL) == 0, "create");
  E2E_CHECK(pthread_join(t, NULL) == 0, "join");
  E2E_CHECK(pthread_create(&t, NULL, exits, NULL) == 0, "create");
  E2E_CHECK(pthread_join(t, NULL) == 0, "join");
  mark("fork");
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    mark("child");
    execl(argv[0], argv[0], "after-exec", (char *)NULL);
    _exit(127);
  }
  int status = 0;
  E2E_CHECK(waitpid(child, &status, 0) == child, "waitpid");
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d",
            status);
  mark("end");
  e2e_say("PASS");
  return 0;
}
