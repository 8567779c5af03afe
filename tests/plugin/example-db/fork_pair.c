/* Two processes of one computation for example-db: the parent forks, both
 * wait for the go file (checkpoints and restarts happen meanwhile), the
 * child leaves a marker file, the parent waits for it and prints PASS. */
#include <sys/wait.h>

#include "e2e.h"

static const char *done_path(void) {
  static char path[4096];
  snprintf(path, sizeof path, "%s.child-done", getenv("DMTCP_TEST_GO"));
  return path;
}

int main(void) {
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork failed");
  if (child == 0) {
    e2e_wait_for_go(NULL);
    FILE *f = fopen(done_path(), "w");
    E2E_CHECK(f != NULL, "child: create %s", done_path());
    fclose(f);
    _exit(0);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  /* Without the pid plugin a restarted child need not be our child any
   * more (its pid changed): it reports through a file instead. */
  struct stat st;
  for (int i = 0; i < 3000 && stat(done_path(), &st) != 0; ++i) {
    usleep(10000);
  }
  E2E_CHECK(stat(done_path(), &st) == 0, "the child never finished");
  waitpid(-1, NULL, WNOHANG);
  e2e_say("PASS");
  return 0;
}
