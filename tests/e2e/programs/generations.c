/* A computation that shrinks between two checkpoints: a parent and a child;
 * the child exits when the file $DMTCP_TEST_GO.child appears, the parent
 * reaps it (polling, so it never waits in waitpid at a checkpoint) and
 * says CHILD_GONE, then waits for the go file and says PASS.  For
 * dmtcp_restart given images of both generations (failure_modes.py
 * generations). */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int main(void) {
  const char *go = getenv("DMTCP_TEST_GO");
  E2E_CHECK(go != NULL, "DMTCP_TEST_GO is not set");
  char child_file[4096];
  snprintf(child_file, sizeof child_file, "%s.child", go);
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork: %s", strerror(errno));
  if (child == 0) {
    while (!exists(child_file)) {
      usleep(10000);
    }
    _exit(7);
  }
  e2e_say("READY");
  for (;;) {
    int status = 0;
    pid_t r = waitpid(child, &status, WNOHANG);
    E2E_CHECK(r >= 0, "waitpid: %s", strerror(errno));
    if (r == child) {
      E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7,
                "child status 0x%x", status);
      break;
    }
    usleep(10000);
  }
  e2e_say("CHILD_GONE");
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 0;
}
