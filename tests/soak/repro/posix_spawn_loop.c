/* Reproducer (docs/soak.md, "Found"): posix_spawn()s /bin/true and waits
 * for it, over and over.  A checkpoint that starts after posix_spawn()
 * returned but before the new program has joined the computation writes
 * the parent with the child in its pid table and no image of the child;
 * after the restart waitpid() fails with ECHILD and this prints FAIL. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char** environ;

int main(void) {
  for (unsigned long n = 0;; ++n) {
    pid_t pid;
    char* argv[] = {"true", NULL};
    int r = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
    if (r != 0) {
      printf("FAIL: posix_spawn: %s\n", strerror(r));
      return 1;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
      printf("FAIL: waitpid(%d) after %lu spawns: %s\n", (int)pid, n,
             strerror(errno));
      return 1;
    }
  }
}
