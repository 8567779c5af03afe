// See low_break.h.  Why not simply always exec: an exec costs a few
// milliseconds, and it is not needed when randomization is off already
// (setarch -R, randomize_va_space = 0), where our start_brk is already the
// page after our bss.
#include "tools/restart/low_break.h"

#include <sys/personality.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "common/proc_stat.h"

extern "C" char _end;  // the linker's end of our bss

namespace dmtcp::restart {
namespace {

// Set in the environment of the second run only.
constexpr const char* kMark = "DMTCP_RESTART_LOW_BREAK";
constexpr uint64_t kPage = 4096;

bool break_is_lowest() {
  uint64_t lowest =
      (reinterpret_cast<uint64_t>(&_end) + kPage - 1) & ~(kPage - 1);
  return proc_stat_field(0, kStatStartBrk) == lowest;
}

}  // namespace

void ensure_low_break(char** argv) {
  if (getenv(kMark) != nullptr) {
    // Second run: our layout is fixed now; what we fork and what the
    // restored program execs later get randomization back.
    unsetenv(kMark);
    int persona = personality(0xffffffff);
    if (persona != -1) {
      personality(static_cast<unsigned long>(persona) & ~ADDR_NO_RANDOMIZE);
    }
    if (!break_is_lowest()) {
      DMTCP_INFO("program break still randomized after exec");
    }
    return;
  }
  if (break_is_lowest()) {
    return;
  }
  int persona = personality(0xffffffff);
  if (persona == -1 || (persona & ADDR_NO_RANDOMIZE) != 0 ||
      personality(static_cast<unsigned long>(persona) | ADDR_NO_RANDOMIZE) ==
          -1) {
    return;
  }
  setenv(kMark, "1", 1);
  execv("/proc/self/exe", argv);
  // No /proc, or the binary is gone: go on as we are.
  DMTCP_INFO("re-exec without randomization failed: %s", strerror(errno));
  unsetenv(kMark);
  personality(static_cast<unsigned long>(persona));
}

}  // namespace dmtcp::restart
