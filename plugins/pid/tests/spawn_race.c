/* A parent that posix_spawns children back to back, so that a checkpoint
 * almost always finds a child that glibc has made (clone + exec) but whose
 * new program has not yet joined the coordinator.  Each child is waited
 * for by its pid and must exit with the code it was given.  Before the
 * core's posix_spawn wrapper waited for the child to join, the round ran
 * without that child: after a restart the parent's waitpid() failed with
 * ECHILD (GNU make: "make: wait: No child processes", e2e.make_j2). */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

extern char** environ;

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "child") == 0) {
    /* Not at once: a child whose exit() races a round's order leaves the
     * round and may end after its parent noted its zombies (docs/pid.md,
     * "Not done yet"); this test is about the start. */
    usleep(20 * 1000);
    return atoi(argv[2]);
  }
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  E2E_CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
  self[n] = '\0';
  unsigned long spawned = 0;
  int go = 0;
  /* After GO, a few more: the restored program must go on spawning. */
  for (int after_go = 0; after_go < 20; after_go += go) {
    char code[16];
    int want = (int)(spawned % 100) + 1;
    snprintf(code, sizeof code, "%d", want);
    char* args[] = {self, "child", code, NULL};
    pid_t pid = -1;
    int r = spawned % 2 == 0
                ? posix_spawn(&pid, self, NULL, NULL, args, environ)
                : posix_spawnp(&pid, self, NULL, NULL, args, environ);
    E2E_CHECK(r == 0, "posix_spawn #%lu: %s", spawned, strerror(r));
    int status = 0;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    E2E_CHECK(got == pid, "waitpid(%d) of child #%lu: %d (%s)", pid, spawned,
              got, strerror(errno));
    E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == want,
              "child #%lu (%d): status 0x%x, want exit %d", spawned, pid,
              status, want);
    if (++spawned == 20) {
      e2e_say("READY");
    }
    go = go || (spawned > 20 && e2e_go_seen());
  }
  E2E_CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD,
            "a child is left over");
  printf("%lu children spawned and reaped\n", spawned);
  e2e_say("PASS");
  return 0;
}
