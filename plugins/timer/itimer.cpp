// itimer.cpp -- see itimer.h.
#include "itimer.h"

#include <sys/time.h>

#include "dmtcp/plugin.h"

namespace dmtcp::timer {
namespace {

constexpr int kWhich[] = {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF};
// Saved at WRITE_CKPT: time left (it_value, zero = disarmed) and interval.
itimerval g_saved[3];

}  // namespace

void save_itimers() {
  for (int i = 0; i < 3; ++i) {
    itimerval& v = g_saved[i];
    if (getitimer(kWhich[i], &v) != 0) {
      v = {};
    }
    // A periodic ITIMER_REAL whose SIGALRM is pending (blocked, or frozen
    // threads do not take it) reads 0 left: the kernel re-arms it only
    // when the signal is taken.  The restart arms it to expire at once:
    // that SIGALRM merges into the one the core queued again (pending
    // signals survive a restart; a standard one is pending once), and
    // taking it re-arms the timer at its period (test: pending).
    if (v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0 &&
        (v.it_interval.tv_sec != 0 || v.it_interval.tv_usec != 0)) {
      v.it_value.tv_usec = 1;
    }
  }
}

void restore_itimers() {
  for (int i = 0; i < 3; ++i) {
    const itimerval& v = g_saved[i];
    if (v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0) {
      continue;
    }
    if (setitimer(kWhich[i], &v, nullptr) != 0) {
      dmtcp_log("timer: interval timer %d not re-armed", kWhich[i]);
    }
  }
}

}  // namespace dmtcp::timer
