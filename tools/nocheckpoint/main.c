// dmtcp_nocheckpoint PROGRAM ARGS...: runs PROGRAM outside the computation,
// as upstream's tool does.  A process under DMTCP that execs this tool
// leaves the computation (the exec wrapper does not wait for it to rejoin:
// core/runtime/wrappers.cpp); the tool sets LD_PRELOAD back to what the
// user had at launch (DMTCP_ORIG_LD_PRELOAD), removes our variables, closes
// our protected fds, and execs the program.  Linked statically, so our
// runtime, which the exec wrapper put into LD_PRELOAD, never loads into
// the tool itself.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// core/runtime/runtime.h: kProtectedFdBase and kProtectedFdEnd.
enum { kProtectedFdBase = 820, kProtectedFdEnd = 840 };

// LD_PRELOAD as the user had it when dmtcp_launch ran (upstream's
// meaning: DMTCP_ORIG_LD_PRELOAD, empty when they had none); without that
// variable, the current one minus our leading part.
static void strip_our_preload(void) {
  const char* orig = getenv("DMTCP_ORIG_LD_PRELOAD");
  if (orig != NULL) {
    char* copy = strdup(orig);
    if (copy != NULL) {
      setenv("LD_PRELOAD", copy, 1);
      free(copy);
    }
    return;
  }
  const char* all = getenv("LD_PRELOAD");
  const char* ours = getenv("DMTCP_PRELOAD");
  if (all == NULL || ours == NULL || ours[0] == '\0') {
    return;
  }
  size_t n = strlen(ours);
  if (strncmp(all, ours, n) != 0 || (all[n] != '\0' && all[n] != ':')) {
    return;  // not ours in front: leave it as it is
  }
  const char* rest = all[n] == ':' ? all + n + 1 : all + n;
  // The user's value, or empty when they had none (as upstream).
  char* copy = strdup(rest);
  if (copy != NULL) {
    setenv("LD_PRELOAD", copy, 1);
    free(copy);
  }
}

static const char kUsage[] =
    "Usage: dmtcp_nocheckpoint PROGRAM ARGS...\n"
    "Runs PROGRAM outside the checkpointed computation: started from a\n"
    "process under dmtcp_launch, PROGRAM and what it starts are never\n"
    "checkpointed.\n"
    "  --help, --version  this text, or the version (only as the first\n"
    "                     argument; run ./--help for a program of that name)\n";

int main(int argc, char** argv) {
  if (argc < 2) {
    fputs(kUsage, stderr);
    return 1;
  }
  // Only these two exact words: any other PROGRAM is run as given.
  if (strcmp(argv[1], "--help") == 0) {
    fputs(kUsage, stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    // The other tools' print_version (tools/common), which is C++.
    printf(
        "dmtcp_nocheckpoint (DMTCP) %s\n"
        "A DMTCP-compatible checkpoint/restart in C++ (dmtcp_cpp); command\n"
        "lines and plugin API of DMTCP 3.x.\n",
        DMTCP_CPP_VERSION);
    return 0;
  }
  strip_our_preload();
  unsetenv("DMTCP_PRELOAD");
  unsetenv("DMTCP_UNIQUE_PID");
  unsetenv("DMTCP_PARENT_UNIQUE_PID");
  for (int fd = kProtectedFdBase; fd < kProtectedFdEnd; ++fd) {
    close(fd);
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "dmtcp_nocheckpoint: cannot run %s: %s\n", argv[1],
          strerror(errno));
  return 127;
}
