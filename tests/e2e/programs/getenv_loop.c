// getenv_loop OUT NAME...: every 50 ms writes "NAME=value" (or
// "NAME unset") for each NAME to OUT (through a rename, so a reader never
// sees half of it).  For dmtcp_launch --modify-env (compat_options.py):
// the environment the program sees after a restart.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: getenv_loop OUT NAME...\n");
    return 2;
  }
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
  for (;;) {
    FILE* f = fopen(tmp, "w");
    if (f == NULL) {
      return 1;
    }
    for (int i = 2; i < argc; ++i) {
      const char* v = getenv(argv[i]);
      if (v != NULL) {
        fprintf(f, "%s=%s\n", argv[i], v);
      } else {
        fprintf(f, "%s unset\n", argv[i]);
      }
    }
    fclose(f);
    rename(tmp, argv[1]);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}
