/* The program does not see DMTCP in its environment, and what it runs --
 * through exec, posix_spawn, system() and popen() -- joins the computation
 * all the same (and does not see it either).  After a restart too. */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "../../../core/include/dmtcp.h"
#include "e2e.h"

extern char** environ;

static int in_dmtcp(void) {
  return dmtcp_is_enabled();
}

/* What a started program checks; exit status 0 when all is well. */
static int child(int want_dmtcp) {
  const char* preload = getenv("LD_PRELOAD");
  if (preload != NULL) {
    printf("FAIL: child sees LD_PRELOAD=%s\n", preload);
    return 1;
  }
  if (in_dmtcp() != want_dmtcp) {
    printf("FAIL: child %s the computation\n",
           want_dmtcp ? "did not join" : "joined");
    return 1;
  }
  printf("child-ok\n");
  return 0;
}

static void expect_ok(const char* how, int status) {
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "child started by %s failed (status %x)", how, status);
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "child") == 0) {
    return child(atoi(argv[2]));
  }
  const char* preload = getenv("LD_PRELOAD");
  E2E_CHECK(preload == NULL, "the program sees LD_PRELOAD=%s", preload);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  E2E_CHECK(getenv("LD_PRELOAD") == NULL, "LD_PRELOAD after restart");
  char want[2] = {in_dmtcp() ? '1' : '0', '\0'};
  char* args[] = {argv[0], "child", want, NULL};
  char command[4200];
  snprintf(command, sizeof command, "%s child %s", argv[0], want);

  pid_t pid = fork();
  E2E_CHECK(pid >= 0, "fork");
  if (pid == 0) {
    execv(argv[0], args);
    _exit(127);
  }
  int st = 0;
  E2E_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
  expect_ok("execv", st);

  E2E_CHECK(posix_spawn(&pid, argv[0], NULL, NULL, args, environ) == 0,
            "posix_spawn: %s", strerror(errno));
  E2E_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
  expect_ok("posix_spawn", st);

  expect_ok("system", system(command));

  FILE* p = popen(command, "r");
  E2E_CHECK(p != NULL, "popen: %s", strerror(errno));
  char line[128] = {0};
  E2E_CHECK(
      fgets(line, sizeof line, p) != NULL && strcmp(line, "child-ok\n") == 0,
      "popen'ed child said '%s'", line);
  expect_ok("popen", pclose(p));
  E2E_CHECK(getenv("LD_PRELOAD") == NULL, "LD_PRELOAD left behind");
  e2e_say("PASS");
  return 0;
}
