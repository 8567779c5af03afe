/* Children made without fork(): posix_spawn, posix_spawnp (into a new
 * process group), clone() with its own memory, and clone(CLONE_VM |
 * CLONE_VFORK), each exec'ing this program as a child.  Every child tells
 * its getpid() to the root (sigqueue), which must be what the spawn call
 * returned; after the checkpoint the root signals each by that pid, gets
 * the same pid back and reaps it with its exit code.  A posix_spawn after
 * the checkpoint joins a group by the group id seen before it. */
#define _GNU_SOURCE
#include <sched.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"
#include "pid_test.h"

extern char** environ;
static char g_self[4096];

/* Child mode: argv = self "child" <root pid> <exit code>. */
static int child_main(char** argv) {
  pid_t root = (pid_t)atoi(argv[2]);
  pid_t me = getpid();
  E2E_CHECK(getppid() == root, "spawned %d: getppid %d, want %d", me, getppid(),
            root);
  union sigval v = {.sival_int = me};
  E2E_CHECK(sigqueue(root, SIG_B, v) == 0, "spawned %d: sigqueue: %s", me,
            strerror(errno));
  E2E_CHECK(wait_signal(SIG_A, 600) == 0, "spawned %d: no SIG_A", me);
  E2E_CHECK(getpid() == me && getppid() == root,
            "spawned %d: getpid %d getppid %d, want %d %d", me, getpid(),
            getppid(), me, root);
  E2E_CHECK(sigqueue(root, SIG_C, v) == 0, "spawned %d: sigqueue: %s", me,
            strerror(errno));
  return atoi(argv[3]);
}

/* The pid a child reported with `sig`. */
static pid_t reported(int sig) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  struct timespec t = {60, 0};
  siginfo_t si;
  E2E_CHECK(sigtimedwait(&set, &si, &t) == sig, "no report (signal %d): %s",
            sig, strerror(errno));
  return (pid_t)si.si_value.sival_int;
}

static char g_root_arg[16];

static void child_argv(char** argv, const char* code) {
  argv[0] = g_self;
  argv[1] = "child";
  argv[2] = g_root_arg;
  argv[3] = (char*)code;
  argv[4] = NULL;
}

static int exec_child(void* code) {
  char* argv[5];
  child_argv(argv, code);
  execv(g_self, argv);
  _exit(127);
}

static pid_t spawn_checked(const char* how, pid_t pid) {
  pid_t r = reported(SIG_B);
  E2E_CHECK(r == pid, "%s: returned %d, the child says %d", how, pid, r);
  return pid;
}

static void finish(pid_t pid, int code) {
  E2E_CHECK(kill(pid, 0) == 0 && kill(pid, SIG_A) == 0, "kill(%d): %s", pid,
            strerror(errno));
  pid_t r = reported(SIG_C);
  E2E_CHECK(r == pid, "child %d answered as %d", pid, r);
  int st = -1;
  E2E_CHECK(
      waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == code,
      "child %d: status %#x, want exit %d (%s)", pid, st, code,
      strerror(errno));
}

static pid_t spawn_into_group(pid_t pgroup, const char* code) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, pgroup);
  char* argv[5];
  child_argv(argv, code);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, g_self, NULL, &attr, argv, environ);
  E2E_CHECK(rc == 0, "posix_spawnp (group %d): %s", pgroup, strerror(rc));
  posix_spawnattr_destroy(&attr);
  return pid;
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "child") == 0) {
    return child_main(argv);
  }
  block_test_signals();
  ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
  E2E_CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
  snprintf(g_root_arg, sizeof g_root_arg, "%d", getpid());

  char* args[5];
  child_argv(args, "11");
  pid_t s1 = 0;
  int rc = posix_spawn(&s1, g_self, NULL, NULL, args, environ);
  E2E_CHECK(rc == 0, "posix_spawn: %s", strerror(rc));
  spawn_checked("posix_spawn", s1);
  pid_t s2 = spawn_checked("posix_spawnp", spawn_into_group(0, "12"));
  E2E_CHECK(getpgid(s2) == s2, "getpgid(%d) = %d", s2, getpgid(s2));

  static char stack[2][64 * 1024];
  pid_t s3 = clone(exec_child, stack[0] + sizeof stack[0], SIGCHLD, "13");
  E2E_CHECK(s3 > 0, "clone: %s", strerror(errno));
  spawn_checked("clone", s3);
  /* Shares our memory until it execs: done before the checkpoint. */
  pid_t s4 = clone(exec_child, stack[1] + sizeof stack[1],
                   CLONE_VM | CLONE_VFORK | SIGCHLD, "14");
  E2E_CHECK(s4 > 0, "clone(CLONE_VM): %s", strerror(errno));
  spawn_checked("clone(CLONE_VM)", s4);
  finish(s4, 14);

  e2e_say("READY");
  e2e_wait_for_go(NULL);
  E2E_CHECK(getpgid(s2) == s2, "getpgid(%d) = %d", s2, getpgid(s2));
  pid_t s5 = spawn_checked("posix_spawnp", spawn_into_group(s2, "15"));
  E2E_CHECK(getpgid(s5) == s2, "getpgid(%d) = %d, want %d", s5, getpgid(s5),
            s2);
  finish(s1, 11);
  finish(s2, 12);
  finish(s3, 13);
  finish(s5, 15);
  e2e_say("PASS");
  return 0;
}
