/* fork and exec under DMTCP: the child joins the computation as its own
 * process, execs a new program image (which joins again), and both are
 * checkpointed and restarted, each checking its own memory.  The two talk
 * only through files in the checkpoint directory (pipes are the file
 * plugin's business). */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

static char g_path[4096];

static const char *marker(const char *name) {
  snprintf(g_path, sizeof g_path, "%s.%s", getenv("DMTCP_TEST_GO"), name);
  return g_path;
}

static void touch(const char *path) {
  FILE *f = fopen(path, "w");
  E2E_CHECK(f != NULL, "create %s", path);
  fclose(f);
}

/* Written whole, then renamed: the reader never sees half a number. */
static void write_number(const char *path, long value) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  E2E_CHECK(f != NULL, "create %s", tmp);
  fprintf(f, "%ld\n", value);
  fclose(f);
  E2E_CHECK(rename(tmp, path) == 0, "rename %s", tmp);
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static int run_child(void) {
  unsigned long long seed = 99;
  static unsigned long long data[1 << 16];
  for (size_t i = 0; i < sizeof data / sizeof data[0]; ++i) {
    data[i] = e2e_next(&seed);
  }
  touch(marker("child-ready"));
  e2e_wait_for_go(NULL);
  seed = 99;
  for (size_t i = 0; i < sizeof data / sizeof data[0]; ++i) {
    E2E_CHECK(data[i] == e2e_next(&seed), "child word %zu", i);
  }
  /* The parent checks that it is still our parent (restart rebuilds the
   * process tree). */
  write_number(marker("child-pass"), (long)getppid());
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    return run_child();
  }
  static char parent_data[1 << 20];
  memset(parent_data, 0x6b, sizeof parent_data);
  pid_t pid = fork();
  E2E_CHECK(pid >= 0, "fork");
  if (pid == 0) {
    execl(argv[0], argv[0], "child", (char *)NULL);
    _exit(127);
  }
  while (!exists(marker("child-ready"))) {
    usleep(5000);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  for (size_t i = 0; i < sizeof parent_data; ++i) {
    E2E_CHECK(parent_data[i] == 0x6b, "parent byte %zu", i);
  }
  for (int i = 0; i < 3000 && !exists(marker("child-pass")); ++i) {
    usleep(10000);
  }
  E2E_CHECK(exists(marker("child-pass")), "child did not pass");
  FILE *f = fopen(marker("child-pass"), "r");
  long child_ppid = -1;
  E2E_CHECK(f != NULL && fscanf(f, "%ld", &child_ppid) == 1, "child-pass");
  fclose(f);
  E2E_CHECK(child_ppid == (long)getpid(),
            "child's parent is %ld, not us (%ld): process tree not rebuilt",
            child_ppid, (long)getpid());
  /* Reaping needs the pid plugin after a restart (the restarted child is
   * not our child any more); before one it must work. */
  int status = 0;
  pid_t r = waitpid(pid, &status, 0);
  E2E_CHECK(r == pid || errno == ECHILD, "waitpid: %s", strerror(errno));
  if (r == pid) {
    E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status");
  }
  e2e_say("PASS");
  return 0;
}
