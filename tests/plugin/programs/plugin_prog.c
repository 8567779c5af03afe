/* The program the plugin tests run, by mode:
 *   wait   READY, wait for the go file, PASS (checkpoints happen meanwhile)
 *   sleep  sleep(1) through whatever wraps it, then libc's own sleep,
 *          found in libc.so.6 directly so no plugin sees it
 *   hello  sleep(0) once and exit */
#include <dlfcn.h>
#include <string.h>

#include "e2e.h"

typedef unsigned int (*SleepFn)(unsigned int);

static SleepFn libc_sleep(void) {
  void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  E2E_CHECK(libc != NULL, "libc.so.6 not loaded: %s", dlerror());
  SleepFn f = (SleepFn)dlsym(libc, "sleep");
  E2E_CHECK(f != NULL, "no sleep in libc");
  return f;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "wait";
  if (strcmp(mode, "sleep") == 0) {
    e2e_say("prog: calling sleep");
    E2E_CHECK(sleep(1) == 0, "sleep interrupted");
    e2e_say("prog: sleep returned");
    SleepFn real = libc_sleep();
    e2e_say("prog: calling real sleep");
    E2E_CHECK(real(1) == 0, "real sleep interrupted");
    e2e_say("prog: real sleep returned");
    e2e_say("PASS");
    return 0;
  }
  if (strcmp(mode, "hello") == 0) {
    sleep(0);
    e2e_say("prog: hello");
    return 0;
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 0;
}
