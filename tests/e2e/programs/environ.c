/* The program does not see DMTCP in its environment, and what it runs --
 * through exec, posix_spawn, system() and popen() -- joins the computation
 * all the same (and does not see it either).  After a restart too.
 *
 * After a restart the environment tells the truth (issue 10, item 7):
 * DMTCP_COORD_HOST, DMTCP_COORD_PORT, the key directory (DMTCP_TMPDIR,
 * else TMPDIR, else /tmp) and DMTCP_CHECKPOINT_DIR are the restart's, for
 * getenv() in the program, in a fork-only child, and in children started
 * by execv (also with an environment copied before the checkpoint, as a
 * shell or Python keeps one), posix_spawn, system and popen.  The
 * expected values come from dmtcp_restart's environment
 * (dmtcp_get_restart_env; the harness's --new-coordinator restarts on
 * another port, host spelling, DMTCP_TMPDIR and --ckptdir, the last named
 * in DMTCP_TEST_CKPTDIR).  Then a fork+exec child started after the
 * restart must be in a checkpoint the program asks for. */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../../core/include/dmtcp.h"
#include "e2e.h"

extern char** environ;

static int in_dmtcp(void) {
  return dmtcp_is_enabled();
}

/* What the environment must say: the values a child gets in argv. */
struct truth {
  char port[1024];
  char host[1024];
  char tmp[1024]; /* where the coordinator's key is looked for */
  char ckpt[1024];
};

static const char* or_empty(const char* v) {
  return v != NULL ? v : "";
}

static const char* ckpt_dir(void) {
  const char* d = dmtcp_get_ckpt_dir();
  return d != NULL ? d : "";
}

static const char* tmp_dir(void) {
  const char* d = dmtcp_get_tmpdir != NULL ? dmtcp_get_tmpdir() : NULL;
  return d != NULL ? d : "";
}

static const char* key_base(const char* dmtcp_tmpdir, const char* tmpdir) {
  if (dmtcp_tmpdir != NULL && dmtcp_tmpdir[0] != '\0') {
    return dmtcp_tmpdir;
  }
  return tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp";
}

static const char* restart_env(const char* name, char* buf, size_t cap) {
  if (dmtcp_get_restart_env == NULL ||
      dmtcp_get_restart_env(name, buf, cap) != 0) {
    return NULL;
  }
  return buf;
}

static void expected(struct truth* t) {
  char a[1024], b[1024];
  const char* port = restart_env("DMTCP_COORD_PORT", a, sizeof a);
  if (port == NULL) { /* not restarted: what we were started with */
    snprintf(t->port, sizeof t->port, "%s", or_empty(getenv("DMTCP_COORD_PORT")));
    snprintf(t->host, sizeof t->host, "%s", or_empty(getenv("DMTCP_COORD_HOST")));
    snprintf(t->tmp, sizeof t->tmp, "%s",
             key_base(getenv("DMTCP_TMPDIR"), getenv("TMPDIR")));
    snprintf(t->ckpt, sizeof t->ckpt, "%s",
             or_empty(getenv("DMTCP_CHECKPOINT_DIR")));
    return;
  }
  snprintf(t->port, sizeof t->port, "%s", port);
  snprintf(t->host, sizeof t->host, "%s",
           or_empty(restart_env("DMTCP_COORD_HOST", a, sizeof a)));
  char c[1024];
  snprintf(t->tmp, sizeof t->tmp, "%s",
           key_base(restart_env("DMTCP_TMPDIR", a, sizeof a),
                    restart_env("TMPDIR", c, sizeof c)));
  const char* ckpt = restart_env("DMTCP_TEST_CKPTDIR", b, sizeof b);
  snprintf(t->ckpt, sizeof t->ckpt, "%s",
           ckpt != NULL ? ckpt : ckpt_dir());
}

/* Empty when the environment tells the truth, else what is wrong. */
static const char* check_env(const struct truth* t, int joined) {
  static char why[4096];
  const char* port = or_empty(getenv("DMTCP_COORD_PORT"));
  const char* host = or_empty(getenv("DMTCP_COORD_HOST"));
  const char* tmp = key_base(getenv("DMTCP_TMPDIR"), getenv("TMPDIR"));
  const char* ckpt = or_empty(getenv("DMTCP_CHECKPOINT_DIR"));
  why[0] = '\0';
  if (strcmp(port, t->port) != 0) {
    snprintf(why, sizeof why, "DMTCP_COORD_PORT=%s, expected %s", port,
             t->port);
  } else if (strcmp(host, t->host) != 0) {
    snprintf(why, sizeof why, "DMTCP_COORD_HOST=%s, expected %s", host,
             t->host);
  } else if (strcmp(tmp, t->tmp) != 0) {
    snprintf(why, sizeof why, "key directory (DMTCP_TMPDIR) %s, expected %s",
             tmp, t->tmp);
  } else if (strcmp(ckpt, t->ckpt) != 0) {
    snprintf(why, sizeof why, "DMTCP_CHECKPOINT_DIR=%s, expected %s", ckpt,
             t->ckpt);
  } else if (joined && strcmp(ckpt_dir(), t->ckpt) != 0) {
    snprintf(why, sizeof why, "dmtcp_get_ckpt_dir()=%s, expected %s",
             ckpt_dir(), t->ckpt);
  } else if (joined && strcmp(tmp_dir(), t->tmp) != 0) {
    snprintf(why, sizeof why, "dmtcp_get_tmpdir()=%s, expected %s",
             tmp_dir(), t->tmp);
  }
  return why;
}

/* What a started program checks; exit status 0 when all is well.
 * argv: want_dmtcp port host tmp ckpt [hold] */
static int child(char** argv) {
  int want_dmtcp = atoi(argv[2]);
  struct truth t;
  snprintf(t.port, sizeof t.port, "%s", argv[3]);
  snprintf(t.host, sizeof t.host, "%s", argv[4]);
  snprintf(t.tmp, sizeof t.tmp, "%s", argv[5]);
  snprintf(t.ckpt, sizeof t.ckpt, "%s", argv[6]);
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
  const char* why = check_env(&t, want_dmtcp);
  if (why[0] != '\0') {
    printf("FAIL: child: %s\n", why);
    return 1;
  }
  if (argv[7] != NULL) {
    /* hold: say where our image goes, stay until stdin closes */
    printf("%s\n", dmtcp_get_ckpt_filename());
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
  }
  printf("child-ok\n");
  return 0;
}

/* A child forked and exec'd after the restart is in the next checkpoint,
 * taken on the coordinator of the restart. */
static void checkpoint_with_child(char** args) {
  int to_child[2], from_child[2];
  E2E_CHECK(pipe(to_child) == 0 && pipe(from_child) == 0, "pipe");
  pid_t pid = fork();
  E2E_CHECK(pid >= 0, "fork");
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[0]);
    close(to_child[1]);
    close(from_child[0]);
    close(from_child[1]);
    execv(args[0], args);
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  char image[2048] = {0};
  size_t n = 0;
  while (n + 1 < sizeof image) {
    ssize_t r = read(from_child[0], image + n, 1);
    if (r <= 0 || image[n] == '\n') {
      break;
    }
    n += (size_t)r;
  }
  image[n] = '\0';
  E2E_CHECK(n > 0 && image[0] == '/', "the holding child said '%s'", image);
  struct stat st;
  E2E_CHECK(stat(image, &st) != 0, "%s exists before the checkpoint", image);
  int r = dmtcp_checkpoint();
  E2E_CHECK(r == DMTCP_AFTER_CHECKPOINT, "dmtcp_checkpoint() gave %d", r);
  E2E_CHECK(stat(image, &st) == 0,
            "the child started after the restart has no image %s", image);
  close(to_child[1]);
  int status = 0;
  E2E_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "holding child: status %x", status);
  close(from_child[0]);
}

static void expect_ok(const char* how, int status) {
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "child started by %s failed (status %x)", how, status);
}

int main(int argc, char** argv) {
  if (argc >= 7 && strcmp(argv[1], "child") == 0) {
    return child(argv);
  }
  const char* preload = getenv("LD_PRELOAD");
  E2E_CHECK(preload == NULL, "the program sees LD_PRELOAD=%s", preload);
  /* What a shell or Python would keep: a copy of the environment. */
  size_t n_env = 0;
  while (environ[n_env] != NULL) {
    ++n_env;
  }
  char** copied_env = calloc(n_env + 1, sizeof(char*));
  for (size_t i = 0; i < n_env; ++i) {
    copied_env[i] = strdup(environ[i]);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  E2E_CHECK(getenv("LD_PRELOAD") == NULL, "LD_PRELOAD after restart");
  int joined = in_dmtcp();
  struct truth t;
  expected(&t);
  const char* why = check_env(&t, joined);
  E2E_CHECK(why[0] == '\0', "the program: %s", why);
  char want[2] = {joined ? '1' : '0', '\0'};
  char* args[] = {argv[0], "child", want, t.port, t.host, t.tmp, t.ckpt,
                  NULL};
  char command[8192];
  snprintf(command, sizeof command, "'%s' child %s '%s' '%s' '%s' '%s'",
           argv[0], want, t.port, t.host, t.tmp, t.ckpt);

  pid_t pid = fork();
  E2E_CHECK(pid >= 0, "fork");
  if (pid == 0) { /* fork only */
    why = check_env(&t, joined);
    if (why[0] != '\0' || in_dmtcp() != joined) {
      printf("FAIL: fork-only child: %s (joined %d)\n", why, in_dmtcp());
      fflush(stdout);
      _exit(1);
    }
    _exit(0);
  }
  int st = 0;
  E2E_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
  expect_ok("fork", st);

  pid = fork();
  E2E_CHECK(pid >= 0, "fork");
  if (pid == 0) {
    execve(argv[0], args, copied_env);
    _exit(127);
  }
  E2E_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
  expect_ok("execve with an environment copied before", st);

  pid = fork();
  E2E_CHECK(pid >= 0, "fork");
  if (pid == 0) {
    execv(argv[0], args);
    _exit(127);
  }
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
  if (joined) {
    char* hold[] = {argv[0], "child", want, t.port, t.host, t.tmp, t.ckpt,
                    "hold", NULL};
    checkpoint_with_child(hold);
  }
  e2e_say("PASS");
  return 0;
}
