/* A parent with 50 children of every kind, blocked in waitpid() on one of
 * them while the checkpoint is taken, reaps all of them afterwards, each
 * with its own status: fork-only children, fork+exec'd ones (exec'd with
 * the environment the program started with, as a shell does), children
 * leading their own process group or session, children killed by a
 * signal, ten that were zombies at the checkpoint, and an orphan that was
 * re-parented to us (we are a child subreaper).  Every live child checks
 * that getppid() is still us.  (Issue 10: "of a parent with 50 children,
 * exactly the one it was waiting on was lost".) */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "e2e.h"

extern char** environ;

#define N 50
#define FIRST_ZOMBIE 40 /* children 40..49 end before the checkpoint */
#define WAITED_ON 17    /* the child main is blocked on at the checkpoint */
#define ORPHAN_EXIT 77

enum kind { FORK_ONLY, EXECED, OWN_GROUP, OWN_SESSION, SIGNALLED };

static enum kind kind_of(int i) {
  return (enum kind)(i % 5);
}

static int signal_of(int i) {
  return i % 2 == 0 ? SIGTERM : SIGUSR1;
}

/* How child i ends: exit i, or (SIGNALLED) killed by signal_of(i). */
static void end_as(int i) {
  if (kind_of(i) == SIGNALLED) {
    signal(signal_of(i), SIG_DFL);
    kill(getpid(), signal_of(i));
  }
  _exit(i);
}

/* A live child: waits for go, checks its parent, ends. */
static void live_child(int i, pid_t parent) {
  e2e_wait_for_go(NULL);
  if (getppid() != parent) {
    printf("FAIL: child %d: getppid() %d, want %d\n", i, getppid(), parent);
    fflush(stdout);
    _exit(99);
  }
  end_as(i);
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "child") == 0) {
    live_child(atoi(argv[2]), (pid_t)atoi(argv[3]));
  }
  pid_t me = getpid();
  E2E_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER: %s",
            strerror(errno));
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

  pid_t kids[N];
  for (int i = 0; i < N; ++i) {
    kids[i] = fork();
    E2E_CHECK(kids[i] >= 0, "fork %d: %s", i, strerror(errno));
    if (kids[i] != 0) {
      continue;
    }
    if (kind_of(i) == OWN_GROUP) {
      setpgid(0, 0);
    } else if (kind_of(i) == OWN_SESSION) {
      setsid();
    }
    if (i >= FIRST_ZOMBIE) {
      end_as(i);
    }
    if (kind_of(i) == EXECED) {
      char num[16], parent[16];
      snprintf(num, sizeof num, "%d", i);
      snprintf(parent, sizeof parent, "%d", me);
      char* child_argv[] = {argv[0], "child", num, parent, NULL};
      execve(self, child_argv, start_env);
      _exit(97);
    }
    live_child(i, me);
  }
  /* The orphan: a grandchild whose parent ends at once; it is then ours. */
  int fds[2];
  E2E_CHECK(pipe(fds) == 0, "pipe");
  pid_t mid = fork();
  E2E_CHECK(mid >= 0, "fork");
  if (mid == 0) {
    pid_t orphan = fork();
    if (orphan == 0) {
      while (getppid() != me) {
        usleep(1000);
      }
      close(fds[0]);
      close(fds[1]);
      live_child(ORPHAN_EXIT, me);
    }
    (void)!write(fds[1], &orphan, sizeof orphan);
    _exit(0);
  }
  close(fds[1]);
  pid_t orphan = 0;
  E2E_CHECK(read(fds[0], &orphan, sizeof orphan) == sizeof orphan && orphan > 0,
            "orphan's pid");
  close(fds[0]);
  int st = 0;
  E2E_CHECK(waitpid(mid, &st, 0) == mid && WIFEXITED(st), "reap mid");
  /* The zombies are zombies, and the orphan is ours, before READY. */
  for (int i = FIRST_ZOMBIE; i < N; ++i) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    E2E_CHECK(waitid(P_PID, (id_t)kids[i], &si, WEXITED | WNOWAIT) == 0,
              "waitid(WNOWAIT) %d: %s", kids[i], strerror(errno));
  }
  for (int tries = 0; tries < 5000; ++tries) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", orphan);
    FILE* f = fopen(path, "r");
    int ppid = -1;
    if (f != NULL) {
      if (fgets(buf, sizeof buf, f) != NULL) {
        char* p = strrchr(buf, ')');
        if (p != NULL) {
          sscanf(p + 2, "%*c %d", &ppid);
        }
      }
      fclose(f);
    }
    if (ppid == me) {
      break;
    }
    usleep(1000);
  }
  e2e_say("READY");
  st = 0;
  pid_t r = waitpid(kids[WAITED_ON], &st, 0);
  E2E_CHECK(r == kids[WAITED_ON], "waitpid(%d) returned %d (%s)",
            kids[WAITED_ON], r, strerror(errno));
  pid_t order[N];
  order[0] = WAITED_ON;
  for (int i = 0, k = 1; i < N; ++i) {
    if (i != WAITED_ON) {
      order[k++] = i;
    }
  }
  /* The others in a scrambled order (not "the next one to end"). */
  for (int k = 1; k < N; ++k) {
    int j = 1 + (k * 7) % (N - 1);
    pid_t t = order[k];
    order[k] = order[j];
    order[j] = t;
  }
  for (int k = 0; k < N; ++k) {
    int i = order[k];
    if (i != WAITED_ON) {
      st = 0;
      r = waitpid(kids[i], &st, 0);
      E2E_CHECK(r == kids[i], "waitpid(%d) (child %d) returned %d (%s)",
                kids[i], i, r, strerror(errno));
    }
    if (kind_of(i) == SIGNALLED) {
      E2E_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == signal_of(i),
                "child %d (%d): status %#x, want signal %d", i, kids[i], st,
                signal_of(i));
    } else {
      E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == i,
                "child %d (%d): status %#x, want exit %d", i, kids[i], st, i);
    }
  }
  st = 0;
  r = waitpid(orphan, &st, 0);
  E2E_CHECK(r == orphan, "waitpid(orphan %d) returned %d (%s)", orphan, r,
            strerror(errno));
  E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == ORPHAN_EXIT,
            "orphan %d: status %#x, want exit %d", orphan, st, ORPHAN_EXIT);
  e2e_say("PASS");
  return 0;
}
