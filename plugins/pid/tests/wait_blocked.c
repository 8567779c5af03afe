/* A parent whose threads are blocked in waitpid, wait4 and waitid on
 * particular children while the checkpoint is taken (the kernel restarts
 * those calls after the round, after a restart too): a fork-only child, a
 * fork+exec'd child (exec'd with the environment the program started
 * with, as a shell does) and one that kills itself with a signal.  After
 * go each wait must return its own child with its status; before, the
 * restarted calls asked for the children's old kernel pids and got
 * ECHILD. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "e2e.h"

extern char** environ;

static pid_t kid_fork, kid_exec, kid_signal;
static atomic_int waiting;

/* The exec'd child: argv = {name, "child", parent pid, exit code}. */
static int child_main(char** argv) {
  pid_t parent = (pid_t)atoi(argv[2]);
  e2e_wait_for_go(NULL);
  if (getppid() != parent) {
    printf("FAIL: exec'd child: getppid() %d, want %d\n", getppid(), parent);
    fflush(stdout);
    _exit(99);
  }
  _exit(atoi(argv[3]));
}

static void* wait_exec(void* arg) {
  (void)arg;
  int st = 0;
  struct rusage ru;
  atomic_fetch_add(&waiting, 1);
  pid_t r = wait4(kid_exec, &st, 0, &ru);
  E2E_CHECK(r == kid_exec, "wait4(%d) returned %d (%s)", kid_exec, r,
            strerror(errno));
  E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 43,
            "exec'd child %d: status %#x, want exit 43", kid_exec, st);
  return NULL;
}

static void* wait_signal_kid(void* arg) {
  (void)arg;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  atomic_fetch_add(&waiting, 1);
  int r = waitid(P_PID, (id_t)kid_signal, &si, WEXITED);
  E2E_CHECK(r == 0 && si.si_pid == kid_signal, "waitid(%d): %d, si_pid %d (%s)",
            kid_signal, r, si.si_pid, strerror(errno));
  E2E_CHECK(si.si_code == CLD_KILLED && si.si_status == SIGTERM,
            "child %d: si_code %d si_status %d, want killed by SIGTERM",
            kid_signal, si.si_code, si.si_status);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "child") == 0) {
    return child_main(argv);
  }
  pid_t me = getpid();
  /* What a shell execs with: the environment as it was at the start. */
  size_t n = 0;
  while (environ[n] != NULL) {
    ++n;
  }
  char** start_env = calloc(n + 1, sizeof(char*));
  for (size_t i = 0; i < n; ++i) {
    start_env[i] = strdup(environ[i]);
  }
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  E2E_CHECK(len > 0, "readlink /proc/self/exe: %s", strerror(errno));
  self[len] = '\0';

  kid_fork = fork();
  E2E_CHECK(kid_fork >= 0, "fork: %s", strerror(errno));
  if (kid_fork == 0) {
    e2e_wait_for_go(NULL);
    _exit(getppid() == me ? 42 : 99);
  }
  /* A child that signals itself during the round would confuse the test
   * with the round: it waits for go. */
  kid_signal = fork();
  E2E_CHECK(kid_signal >= 0, "fork: %s", strerror(errno));
  if (kid_signal == 0) {
    e2e_wait_for_go(NULL);
    if (getppid() != me) {
      _exit(99);
    }
    signal(SIGTERM, SIG_DFL);
    kill(getpid(), SIGTERM);
    _exit(98);
  }
  kid_exec = fork();
  E2E_CHECK(kid_exec >= 0, "fork: %s", strerror(errno));
  if (kid_exec == 0) {
    char parent[16];
    snprintf(parent, sizeof parent, "%d", me);
    char* child_argv[] = {argv[0], "child", parent, "43", NULL};
    execve(self, child_argv, start_env);
    _exit(97);
  }
  pthread_t t1, t2;
  E2E_CHECK(pthread_create(&t1, NULL, wait_exec, NULL) == 0, "thread");
  E2E_CHECK(pthread_create(&t2, NULL, wait_signal_kid, NULL) == 0, "thread");
  while (atomic_load(&waiting) < 2) {
    usleep(1000);
  }
  usleep(20000); /* both threads inside their waits */
  e2e_say("READY");
  int st = 0;
  pid_t r = waitpid(kid_fork, &st, 0);
  E2E_CHECK(r == kid_fork, "waitpid(%d) returned %d (%s)", kid_fork, r,
            strerror(errno));
  E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42,
            "fork-only child %d: status %#x, want exit 42", kid_fork, st);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  pid_t kids[] = {kid_fork, kid_exec, kid_signal};
  for (int i = 0; i < 3; ++i) {
    E2E_CHECK(waitpid(kids[i], NULL, WNOHANG) < 0 && errno == ECHILD,
              "child %d can be waited for twice", kids[i]);
  }
  e2e_say("PASS");
  return 0;
}
