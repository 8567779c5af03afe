/* Pid collisions after a restart; only the pid plugin's tables keep the
 * program's numbers apart from the kernel's:
 * 1. A stranger: the root spawns S without DMTCP (an environment without
 *    it), so S is not part of the computation and outlives the crash.
 *    After the restart a live process unrelated to the computation has the
 *    real pid the root knows S by: kill(S) and kill(-S) must fail with
 *    ESRCH without reaching it (kill() to a live process we may signal
 *    would succeed).
 * 2. A new child whose real pid is a virtual pid in use: the root makes
 *    the kernel hand K's old number to a fork() child and to a
 *    posix_spawn() child (ns_last_pid; needs privileges, else this part is
 *    reported as not checked).  Each gets another virtual pid, agrees with
 *    the root on it, and K keeps its own.
 * Both parts need a restart; other modes only run the program.  Whether
 * it was restarted comes from the harness (DMTCP_TEST_MODE), not from
 * comparing the kernel's pid with getpid(): a restarted process may get its
 * old number back from the kernel (another test moving ns_last_pid, or
 * pid.collide_oldpid doing so on purpose), and it must pass then too. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"
#include "pid_test.h"

extern char** environ;
static char g_self[4096];

static pid_t kernel_pid(void) {
  char buf[64] = {0};
  FILE* f = fopen("/proc/self/stat", "r");
  E2E_CHECK(f != NULL && fgets(buf, sizeof buf, f) != NULL,
            "/proc/self/stat: %s", strerror(errno));
  fclose(f);
  return (pid_t)atoi(buf);
}

/* Stranger mode: lives until a second after the go file appears. */
static int stranger_main(void) {
  e2e_wait_for_go(NULL);
  sleep(1);
  return 0;
}

/* Reporter mode (a new child): kernel pid, getpid(), getppid() to `fd`,
 * then waits for SIG_A and exits 5. */
struct report {
  pid_t kernel, pid, ppid;
};
static int reporter_main(int fd) {
  struct report r = {kernel_pid(), getpid(), getppid()};
  E2E_CHECK(write(fd, &r, sizeof r) == sizeof r, "reporter: write: %s",
            strerror(errno));
  E2E_CHECK(wait_signal(SIG_A, 60) == 0, "reporter %d: no SIG_A", r.pid);
  return 5;
}

/* K: answers each SIG_A with its pid (SIG_C to the root). */
static void k_main(pid_t root) {
  for (;;) {
    if (wait_signal(SIG_A, 600) != 0) {
      _exit(1);
    }
    union sigval v = {.sival_int = getpid()};
    sigqueue(root, SIG_C, v);
  }
}

static void expect_k(pid_t k) {
  E2E_CHECK(kill(k, SIG_A) == 0, "kill(K %d): %s", k, strerror(errno));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIG_C);
  struct timespec t = {30, 0};
  siginfo_t si;
  E2E_CHECK(sigtimedwait(&set, &si, &t) == SIG_C, "K %d did not answer", k);
  E2E_CHECK(si.si_value.sival_int == k, "kill(%d) reached %d, not K", k,
            si.si_value.sival_int);
}

static int set_last_pid(pid_t p) {
  FILE* f = fopen("/proc/sys/kernel/ns_last_pid", "w");
  if (f == NULL) {
    return -1;
  }
  fprintf(f, "%d", p);
  return fclose(f);
}

/* A new child (fork or posix_spawn) whose real pid is K's virtual pid `k`;
 * 0 if the kernel gave another number each time (busy machine). */
static int collide(pid_t k, int use_spawn) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    int p[2];
    E2E_CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    if (set_last_pid(k - 1) != 0) {
      printf("ns_last_pid not writable (%s): collisions not checked\n",
             strerror(errno));
      return 0;
    }
    pid_t c;
    if (use_spawn) {
      char fd_arg[16];
      snprintf(fd_arg, sizeof fd_arg, "%d", p[1]);
      char* argv[] = {g_self, "reporter", fd_arg, NULL};
      int rc = posix_spawn(&c, g_self, NULL, NULL, argv, environ);
      E2E_CHECK(rc == 0, "posix_spawn: %s", strerror(rc));
    } else {
      c = fork();
      E2E_CHECK(c >= 0, "fork: %s", strerror(errno));
      if (c == 0) {
        _exit(reporter_main(p[1]));
      }
    }
    close(p[1]);
    struct report r;
    E2E_CHECK(read(p[0], &r, sizeof r) == sizeof r, "read report");
    close(p[0]);
    E2E_CHECK(r.pid == c && r.ppid == getpid(),
              "%s child: returned %d, it says pid %d ppid %d (root %d)",
              use_spawn ? "spawn" : "fork", c, r.pid, r.ppid, getpid());
    E2E_CHECK(kill(c, SIG_A) == 0, "kill(new child %d): %s", c,
              strerror(errno));
    int st = -1;
    E2E_CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 5,
              "new child %d: status %#x (%s)", c, st, strerror(errno));
    if (r.kernel == k) {
      E2E_CHECK(c != k, "new child got K's virtual pid %d", k);
      printf("%s child: real pid %d = K's virtual pid, virtual %d\n",
             use_spawn ? "spawn" : "fork", r.kernel, c);
      expect_k(k);
      return 1;
    }
  }
  printf("the kernel never gave out %d: collision not checked\n", k);
  return 0;
}

static int restarted_mode(void) {
  const char* mode = getenv("DMTCP_TEST_MODE");
  if (mode == NULL) {
    return 0;
  }
  return strcmp(mode, "restart") == 0 || strcmp(mode, "restart2") == 0 ||
         strcmp(mode, "again") == 0 || strcmp(mode, "moved") == 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "stranger") == 0) {
    return stranger_main();
  }
  if (argc == 3 && strcmp(argv[1], "reporter") == 0) {
    return reporter_main(atoi(argv[2]));
  }
  block_test_signals();
  ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
  E2E_CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
  pid_t root = getpid();
  pid_t k = fork();
  E2E_CHECK(k >= 0, "fork: %s", strerror(errno));
  if (k == 0) {
    k_main(root);
  }
  char go_var[4200];
  snprintf(go_var, sizeof go_var, "DMTCP_TEST_GO=%s",
           getenv("DMTCP_TEST_GO") ? getenv("DMTCP_TEST_GO") : "");
  char* stranger_env[] = {go_var, NULL};
  /* The core's spawn wrapper puts DMTCP into every child's LD_PRELOAD, so
   * an environment without DMTCP is not enough: the stranger would fail to
   * reach a coordinator and exit at once (a zombie child, not a live
   * stranger).  The runtime stays out of programs named like our tools. */
  char* stranger_argv[] = {"dmtcp_command", "stranger", NULL};
  /* Not on our output: the harness waits for whoever holds it. */
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t s = 0;
  int rc = posix_spawn(&s, g_self, &fa, NULL, stranger_argv, stranger_env);
  E2E_CHECK(rc == 0, "posix_spawn(stranger): %s", strerror(rc));
  posix_spawn_file_actions_destroy(&fa);
  usleep(200 * 1000);
  E2E_CHECK(waitpid(s, NULL, WNOHANG) == 0, "the stranger %d is not running",
            s);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  expect_k(k);
  if (restarted_mode()) {
    /* Restarted: S is alive, not ours, and has real pid s. */
    printf("restarted: pid %d, kernel pid %d\n", getpid(), kernel_pid());
    E2E_CHECK(kill(s, SIGTERM) < 0 && errno == ESRCH,
              "kill(stranger %d) did not fail with ESRCH", s);
    E2E_CHECK(kill(-s, SIGTERM) < 0 && errno == ESRCH,
              "kill(-stranger %d) did not fail with ESRCH", s);
    collide(k, 0);
    collide(k, 1);
  } else {
    E2E_CHECK(kill(s, SIGKILL) == 0 && waitpid(s, NULL, 0) == s,
              "stranger %d: %s", s, strerror(errno));
  }
  E2E_CHECK(kill(k, SIGKILL) == 0, "kill(K %d): %s", k, strerror(errno));
  int st = -1;
  E2E_CHECK(waitpid(k, &st, 0) == k && WIFSIGNALED(st), "K %d: status %#x (%s)",
            k, st, strerror(errno));
  e2e_say("PASS");
  return 0;
}
