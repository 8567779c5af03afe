// cpu_clock.cpp -- see cpu_clock.h.
#include "cpu_clock.h"

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
                     : thread_by_program_tid(id);
    if (t) {
      r.kind = ClockRef::kThread;
      r.thread = *t;
    }
    return r;
  }
  if (id == 0 || id == getpid()) {
    return r;  // this process: pid 0 keeps naming it
  }
  r.kind = ClockRef::kProcess;
  r.vpid = id;  // ids we hand out encode the program's pid
  return r;
}

void resolve_clock_owner(ClockRef* ref) {
  if (ref->kind != ClockRef::kPlain || !is_cpu_clock(ref->given) ||
      !cpu_clock_per_thread(ref->given) || cpu_clock_pid(ref->given) == 0) {
    return;
  }
  auto t = thread_by_program_tid(cpu_clock_pid(ref->given));
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

bool kernel_cpu_clock(clockid_t program_clock, clockid_t* kernel_clock) {
  *kernel_clock = program_clock;
  pid_t id = cpu_clock_pid(program_clock);
  if (id == 0) {
    return true;  // the caller's own process or thread
  }
  pid_t now = -1;
  if (cpu_clock_per_thread(program_clock)) {
    // Only threads of the caller's process have readable clocks; one we do
    // not know (not started yet: its tid is still the kernel's) stays.
    auto t = thread_by_program_tid(id);
    now = t ? real_tid_of(*t) : id;
    if (now <= 0) {
      now = id;  // exited: the kernel says EINVAL for a dead tid
    }
  } else {
    now = dmtcp_virtual_to_real_pid(id);
    if (now <= 0) {
      return false;
    }
  }
  *kernel_clock = with_cpu_clock_id(program_clock, now);
  return true;
}

bool is_wall_clock(clockid_t clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_ALARM ||
         clock == CLOCK_TAI;
}

}  // namespace dmtcp::timer
