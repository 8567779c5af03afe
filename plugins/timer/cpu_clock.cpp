// cpu_clock.cpp -- see cpu_clock.h; also the clock_getcpuclockid wrapper.
#include "cpu_clock.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "dmtcp/plugin.h"
#include "thread_registry.h"
#include "timer_common.h"

namespace dmtcp::timer {

ClockRef describe_clock(clockid_t clock) {
  ClockRef r;
  r.given = clock;
  if (clock == CLOCK_THREAD_CPUTIME_ID) {
    r.kind = ClockRef::kThread;
    r.which = kCpuClockSched;
    r.thread = pthread_self();
    return r;
  }
  if (!is_cpu_clock(clock)) {
    return r;
  }
  r.which = cpu_clock_which(clock);
  pid_t id = cpu_clock_pid(clock);
  if (cpu_clock_per_thread(clock)) {
    auto t = id == 0 ? std::optional<pthread_t>(pthread_self())
                     : thread_by_real_tid(id);
    if (t) {
      r.kind = ClockRef::kThread;
      r.thread = *t;
    }
    return r;
  }
  if (id == 0 || id == static_cast<pid_t>(raw_syscall(SYS_getpid))) {
    return r;  // this process: pid 0 keeps naming it
  }
  r.kind = ClockRef::kProcess;
  r.vpid = dmtcp_real_to_virtual_pid(id);
  return r;
}

void resolve_clock_owner(ClockRef* ref) {
  if (ref->kind != ClockRef::kPlain || !is_cpu_clock(ref->given) ||
      !cpu_clock_per_thread(ref->given) || cpu_clock_pid(ref->given) == 0) {
    return;
  }
  auto t = thread_by_real_tid(cpu_clock_pid(ref->given));
  if (t) {
    ref->kind = ClockRef::kThread;
    ref->thread = *t;
  }
}

clockid_t current_clock(const ClockRef& ref) {
  switch (ref.kind) {
    case ClockRef::kThread: {
      pid_t tid = real_tid_of(ref.thread);
      return tid > 0 ? make_thread_cpu_clock(tid, ref.which) : ref.given;
    }
    case ClockRef::kProcess: {
      pid_t pid = dmtcp_virtual_to_real_pid(ref.vpid);
      return pid > 0 ? make_process_cpu_clock(pid, ref.which) : ref.given;
    }
    case ClockRef::kPlain:
      break;
  }
  if (is_cpu_clock(ref.given) && !cpu_clock_per_thread(ref.given) &&
      cpu_clock_pid(ref.given) != 0) {
    // Our own pid as it was: pid 0 names this process from now on.
    return make_process_cpu_clock(0, cpu_clock_which(ref.given));
  }
  return ref.given;
}

bool is_wall_clock(clockid_t clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_ALARM ||
         clock == CLOCK_TAI;
}

}  // namespace dmtcp::timer

using namespace dmtcp::timer;

// The program's pid is virtual; the kernel wants the real one.  Our own
// pid gives the "this process" clock (see cpu_clock.h).
DMTCP_TIMER_EXPORT int clock_getcpuclockid(pid_t pid, clockid_t* clock) {
  if (pid == 0 || pid == getpid()) {
    *clock = make_process_cpu_clock(0, kCpuClockSched);
    return 0;
  }
  pid_t real = dmtcp_virtual_to_real_pid(pid);
  if (real <= 0) {
    return ESRCH;
  }
  clockid_t c = make_process_cpu_clock(real, kCpuClockSched);
  long r = raw_syscall(SYS_clock_getres, c, 0);
  if (r == 0) {
    *clock = c;
    return 0;
  }
  // As glibc: EINVAL from the kernel means "no such process" here.
  return r == -EINVAL ? ESRCH : static_cast<int>(-r);
}
