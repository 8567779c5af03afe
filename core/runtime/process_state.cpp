#include "runtime/process_state.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/log.h"

namespace dmtcp::process_state {
namespace {

// The kernel's struct sigaction (rt_sigaction), kept raw so that flags and
// glibc's sa_restorer come back exactly.
struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

constexpr int kMaxSignal = 64;

struct Saved {
  KernelSigaction actions[kMaxSignal + 1];
  bool have_action[kMaxSignal + 1];
  rlimit limits[RLIM_NLIMITS];
  bool have_limit[RLIM_NLIMITS];
  mode_t umask_value;
  char cwd[4096];
  bool have_cwd;
};

Saved g_saved;

}  // namespace

void save() {
  for (int sig = 1; sig <= kMaxSignal; ++sig) {
    g_saved.have_action[sig] =
        sig != SIGKILL && sig != SIGSTOP &&
        syscall(SYS_rt_sigaction, sig, nullptr, &g_saved.actions[sig], 8) ==
            0;
  }
  for (int r = 0; r < RLIM_NLIMITS; ++r) {
    g_saved.have_limit[r] =
        getrlimit(static_cast<__rlimit_resource>(r), &g_saved.limits[r]) == 0;
  }
  // Every other thread is frozen: the brief change cannot be observed.
  g_saved.umask_value = umask(0);
  umask(g_saved.umask_value);
  g_saved.have_cwd = getcwd(g_saved.cwd, sizeof g_saved.cwd) != nullptr;
}

void restore() {
  for (int sig = 1; sig <= kMaxSignal; ++sig) {
    if (g_saved.have_action[sig] &&
        syscall(SYS_rt_sigaction, sig, &g_saved.actions[sig], nullptr, 8) !=
            0) {
      DMTCP_WARN("cannot restore the handler of signal %d: %s", sig,
                 strerror(errno));
    }
  }
  for (int r = 0; r < RLIM_NLIMITS; ++r) {
    if (!g_saved.have_limit[r]) {
      continue;
    }
    auto res = static_cast<__rlimit_resource>(r);
    if (setrlimit(res, &g_saved.limits[r]) == 0) {
      continue;
    }
    // An ordinary user cannot raise a hard limit: keep today's hard limit
    // and get as close as it allows.
    rlimit now{};
    getrlimit(res, &now);
    rlimit want = g_saved.limits[r];
    if (want.rlim_max > now.rlim_max) {
      want.rlim_max = now.rlim_max;
    }
    if (want.rlim_cur > want.rlim_max) {
      want.rlim_cur = want.rlim_max;
    }
    if (setrlimit(res, &want) != 0) {
      DMTCP_WARN("cannot restore resource limit %d: %s", r, strerror(errno));
    }
  }
  umask(g_saved.umask_value);
  if (g_saved.have_cwd && chdir(g_saved.cwd) != 0) {
    DMTCP_WARN("cannot return to working directory %s: %s; staying in the "
               "directory dmtcp_restart ran in",
               g_saved.cwd, strerror(errno));
  }
}

}  // namespace dmtcp::process_state
