// timer_common.h -- what every file of the timer plugin shares: the export
// macro, raw system calls (libc's syscall() may be wrapped by the pid
// plugin, and the kernel's ids are what we need here), the encoding of
// CPU-time clock ids, and errno keeping.  The algorithm is at the top of
// timer_events.cpp; the design in docs/timer.md.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cerrno>

#include "dmtcp/raw_syscall.h"

#define DMTCP_TIMER_EXPORT extern "C" __attribute__((visibility("default")))

namespace dmtcp::timer {

// Returns the result, or -errno.
inline long raw_syscall(long n, long a = 0, long b = 0, long c = 0,
                        long d = 0, long e = 0, long f = 0) {
  return dmtcp::raw::syscall6(n, a, b, c, d, e, f);
}

// The kernel's encoding of CPU-time clocks (include/linux/posix-timers.h):
// bits 0-1 which clock (PROF, VIRT, SCHED), bit 2 per thread, the rest
// the complement of the pid or tid; pid 0 means "the caller".
constexpr clockid_t kCpuClockPerThread = 4;
constexpr clockid_t kCpuClockSched = 2;
inline bool is_cpu_clock(clockid_t c) { return c < 0; }
inline pid_t cpu_clock_pid(clockid_t c) { return static_cast<pid_t>(~(c >> 3)); }
inline bool cpu_clock_per_thread(clockid_t c) {
  return (c & kCpuClockPerThread) != 0;
}
inline clockid_t cpu_clock_which(clockid_t c) { return c & 3; }
inline clockid_t make_process_cpu_clock(pid_t pid, clockid_t which) {
  return static_cast<clockid_t>((~static_cast<unsigned>(pid)) << 3) | which;
}
inline clockid_t make_thread_cpu_clock(pid_t tid, clockid_t which) {
  return make_process_cpu_clock(tid, which) | kCpuClockPerThread;
}
// The same kind of clock (low three bits kept as they are) for `id`.
inline clockid_t with_cpu_clock_id(clockid_t c, pid_t id) {
  return make_process_cpu_clock(id, 0) | (c & 7);
}

class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }
  ErrnoKeeper(const ErrnoKeeper&) = delete;
  ErrnoKeeper& operator=(const ErrnoKeeper&) = delete;

 private:
  int saved_;
};

// No checkpoint while one lives (DMTCP_PLUGIN_DISABLE_CKPT).
class NoCkpt {
 public:
  NoCkpt();
  ~NoCkpt();
  NoCkpt(const NoCkpt&) = delete;
  NoCkpt& operator=(const NoCkpt&) = delete;
};

// A spin lock for our tables: holders never sleep, and a pthread mutex's
// owner tid would be stale after a restart.
class SpinGuard {
 public:
  explicit SpinGuard(volatile int* word);
  ~SpinGuard();
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  volatile int* word_;
};

}  // namespace dmtcp::timer
