/* Process-wide state that is not memory comes back: working directory
 * (restart runs from elsewhere), umask, resource limits, and the pid
 * reported by getpid() still works (the value is the pid plugin's job). */
#include <limits.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "e2e.h"

int main(void) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s.cwd", getenv("DMTCP_TEST_GO"));
  E2E_CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
  E2E_CHECK(chdir(dir) == 0, "chdir");
  umask(027);
  struct rlimit nofile;
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_cur > 200 ? 200 : nofile.rlim_cur;
  E2E_CHECK(setrlimit(RLIMIT_NOFILE, &nofile) == 0, "setrlimit nofile");
  struct rlimit core = {0, 0};
  E2E_CHECK(setrlimit(RLIMIT_CORE, &core) == 0, "setrlimit core");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  char now[PATH_MAX];
  E2E_CHECK(getcwd(now, sizeof now) != NULL, "getcwd");
  E2E_CHECK(strcmp(now, dir) == 0, "cwd is %s, want %s", now, dir);
  mode_t m = umask(0);
  umask(m);
  E2E_CHECK(m == 027, "umask is %03o", m);
  struct rlimit got;
  getrlimit(RLIMIT_NOFILE, &got);
  E2E_CHECK(got.rlim_cur == nofile.rlim_cur, "nofile %lu, want %lu",
            (unsigned long)got.rlim_cur, (unsigned long)nofile.rlim_cur);
  getrlimit(RLIMIT_CORE, &got);
  E2E_CHECK(got.rlim_cur == 0 && got.rlim_max == 0, "core limit %lu/%lu",
            (unsigned long)got.rlim_cur, (unsigned long)got.rlim_max);
  /* Relative paths resolve against the restored cwd. */
  FILE *f = fopen("relative.txt", "w");
  E2E_CHECK(f != NULL, "relative path");
  fclose(f);
  char abs[PATH_MAX + 32];
  snprintf(abs, sizeof abs, "%s/relative.txt", dir);
  struct stat st;
  E2E_CHECK(stat(abs, &st) == 0, "relative file not in the restored cwd");
  E2E_CHECK((st.st_mode & 0777) == 0640, "umask not applied: %o",
            st.st_mode & 0777);
  E2E_CHECK(getpid() > 0, "getpid");
  e2e_say("PASS");
  return 0;
}
