// clock_wrappers.cpp -- the calls that take a clock id: clock_gettime,
// clock_getres, clock_settime, clock_nanosleep; and the two that make CPU
// clock ids: clock_getcpuclockid, pthread_getcpuclockid (cpu_clock.h).
//
// Every clock id >= 0 (REALTIME, MONOTONIC, BOOTTIME, TAI, the COARSE and
// RAW ones, PROCESS/THREAD_CPUTIME_ID, the *_ALARM clocks) names no
// process: it goes through untouched.  For clock_gettime and clock_getres
// that is one branch and a direct call of the vDSO's function
// (vdso_clock.h), what glibc itself does; no system call, no lock.  Only a
// negative id (a CPU clock naming a process or thread) is decoded, its
// pid/tid translated from the program's to the kernel's, re-encoded, and
// passed to the kernel, with checkpoints held off in between (the kernel
// ids change at a restart).
//
// gettimeofday() and time() take no clock id and are not wrapped (the
// vDSO's, through glibc).  glibc's internal clock reads (clock(),
// timespec_get, the timed waits) never name another process and do not
// pass through here.
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cpu_clock.h"
#include "dmtcp/plugin.h"
#include "thread_registry.h"
#include "timer_common.h"
#include "vdso_clock.h"

using namespace dmtcp::timer;

namespace {

// A failed vDSO or raw system call (-errno) as libc returns it.  Out of
// line, so that the fast path keeps no register for it.
__attribute__((noinline, cold)) int fail_with(int r) {
  errno = -r;
  return -1;
}

// A vDSO or raw system call result (0 or -errno) as libc returns it.
inline int libc_result(int r) {
  if (__builtin_expect(r != 0, 0)) {
    return fail_with(r);
  }
  return 0;
}

// clock_gettime / clock_getres / clock_settime on a CPU clock id.
__attribute__((noinline)) int cpu_clock_call(long nr, clockid_t clock,
                                             long arg) {
  NoCkpt no_ckpt;  // the kernel ids must still be current at the call
  clockid_t kernel;
  if (!kernel_cpu_clock(clock, &kernel)) {
    errno = EINVAL;  // as the kernel says for a process that is gone
    return -1;
  }
  return libc_result(static_cast<int>(raw_syscall(nr, kernel, arg)));
}

// clock_nanosleep on a CPU clock id: translated again for each wait (a
// restart may come while we sleep), waiting on through the checkpoint's
// EINTR like the core's own clock_nanosleep (dmtcp/checkpoint_eintr.h).
int cpu_clock_nanosleep(clockid_t clock, int flags, const timespec* req,
                        timespec* rem) {
  if (req == nullptr) {
    return EFAULT;
  }
  timespec left = *req;
  for (;;) {
    DmtcpWait w;
    dmtcp_wait_begin(&w);
    clockid_t kernel;
    if (!kernel_cpu_clock(clock, &kernel)) {
      return EINVAL;
    }
    timespec after{};
    long r = raw_syscall(SYS_clock_nanosleep, kernel, flags,
                         reinterpret_cast<long>(&left),
                         reinterpret_cast<long>(&after));
    if (r == 0) {
      return 0;
    }
    int error = static_cast<int>(-r);
    if (dmtcp_wait_interrupted_by_checkpoint(&w, error, nullptr)) {
      if ((flags & TIMER_ABSTIME) == 0) {
        left = after;
      }
      continue;
    }
    if (error == EINVAL && dmtcp_rounds_since(&w)) {
      continue;  // translated just before a restart: again
    }
    if (error == EINTR && rem != nullptr && (flags & TIMER_ABSTIME) == 0) {
      *rem = after;
    }
    return error;
  }
}

}  // namespace

DMTCP_TIMER_EXPORT int clock_gettime(clockid_t clock, timespec* ts) {
  if (__builtin_expect(clock >= 0, 1)) {
    return libc_result(g_vdso_clocks.gettime(clock, ts));
  }
  return cpu_clock_call(SYS_clock_gettime, clock, reinterpret_cast<long>(ts));
}

DMTCP_TIMER_EXPORT int clock_getres(clockid_t clock, timespec* res) {
  if (__builtin_expect(clock >= 0, 1)) {
    return libc_result(g_vdso_clocks.getres(clock, res));
  }
  return cpu_clock_call(SYS_clock_getres, clock, reinterpret_cast<long>(res));
}

DMTCP_TIMER_EXPORT int clock_settime(clockid_t clock, const timespec* ts) {
  if (clock >= 0) {
    return NEXT_FNC(clock_settime)(clock, ts);
  }
  // The kernel refuses to set any CPU clock; what it says (EPERM, or
  // EINVAL for a gone owner) depends on the owner being the right one.
  return cpu_clock_call(SYS_clock_settime, clock, reinterpret_cast<long>(ts));
}

DMTCP_TIMER_EXPORT int clock_nanosleep(clockid_t clock, int flags,
                                       const timespec* req, timespec* rem) {
  if (clock >= 0) {
    return NEXT_FNC(clock_nanosleep)(clock, flags, req, rem);
  }
  return cpu_clock_nanosleep(clock, flags, req, rem);
}

// The program's pid is virtual; the kernel wants the real one for the
// probe, and the id we hand out encodes the program's (cpu_clock.h).  Our
// own pid gives the "this process" clock.  As glibc: the pid is probed
// with clock_getres, and EINVAL from the kernel means "no such process".
DMTCP_TIMER_EXPORT int clock_getcpuclockid(pid_t pid, clockid_t* clock) {
  if (pid == 0 || pid == getpid()) {
    *clock = make_process_cpu_clock(0, kCpuClockSched);
    return 0;
  }
  pid_t real = dmtcp_virtual_to_real_pid(pid);
  if (real <= 0) {
    return ESRCH;
  }
  long r = raw_syscall(SYS_clock_getres,
                       make_process_cpu_clock(real, kCpuClockSched), 0);
  if (r == 0) {
    *clock = make_process_cpu_clock(pid, kCpuClockSched);
    return 0;
  }
  return r == -EINVAL ? ESRCH : static_cast<int>(-r);
}

// glibc encodes the kernel tid it keeps in the thread's descriptor; we
// encode the tid the program knows the thread by (the same number until a
// restart).  A thread that has not started yet (not registered) has no
// other tid than the kernel's.
DMTCP_TIMER_EXPORT int pthread_getcpuclockid(pthread_t thread,
                                             clockid_t* clock) {
  clockid_t kernel;
  int r = NEXT_FNC(pthread_getcpuclockid)(thread, &kernel);
  if (r != 0) {
    return r;
  }
  auto tid = program_tid_of(thread);
  *clock = tid ? with_cpu_clock_id(kernel, *tid) : kernel;
  return 0;
}
