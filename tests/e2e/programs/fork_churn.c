/* Forks without pause while checkpoints come: each child lives a few
 * milliseconds and exits with a code of its own; the parent reaps them as
 * they go.  A fork lands, sooner or later, in the middle of the moment the
 * checkpoint thread prepares its buffers while the program still runs
 * (image_dump::prepare): the child must not inherit half of that (an image
 * that fails its checksum at restart, or a writer lock held forever).
 * After resume or restart every child still running is reaped with its
 * own status, and the parent says how many it forked. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e.h"

enum { kLiveMs = 40, kMaxLive = 64 };

static pid_t live[kMaxLive];
static int live_code[kMaxLive];

static void reap(int slot) {
  int status = 0;
  pid_t got = waitpid(live[slot], &status, 0);
  E2E_CHECK(got == live[slot], "child pid %d is gone: waitpid %d (%s)",
            live[slot], got, strerror(errno));
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == live_code[slot],
            "child pid %d: status %#x, wanted exit %d", live[slot], status,
            live_code[slot]);
  live[slot] = 0;
}

int main(void) {
  long forked = 0;
  e2e_say("READY");
  while (!e2e_go_seen()) {
    int slot = (int)(forked % kMaxLive);
    if (live[slot] != 0) {
      reap(slot);
    }
    int code = (int)(forked % 200) + 1;
    pid_t pid = fork();
    E2E_CHECK(pid >= 0, "fork %ld: %s", forked, strerror(errno));
    if (pid == 0) {
      struct timespec t = {0, kLiveMs * 1000000L};
      while (nanosleep(&t, &t) != 0 && errno == EINTR) {
      }
      _exit(code);
    }
    live[slot] = pid;
    live_code[slot] = code;
    ++forked;
  }
  for (int i = 0; i < kMaxLive; ++i) {
    if (live[i] != 0) {
      reap(i);
    }
  }
  printf("forked %ld children\n", forked);
  e2e_say("PASS");
  return 0;
}
