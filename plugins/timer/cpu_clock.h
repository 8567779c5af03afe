// cpu_clock.h -- clock ids that name a process or a thread, across restart.
//
// Purpose: CPU-time clocks encode a pid or tid (clock_getcpuclockid,
// pthread_getcpuclockid, and CLOCK_THREAD_CPUTIME_ID, which means "the
// calling thread").  Kernel ids change at a restart; the program's (the
// pid plugin's virtual ones) do not.  So the clock ids we hand out encode
// the program's ids, and every call that takes a clock id translates a
// CPU clock to the kernel's clock of the moment (kernel_cpu_clock(), used
// by the wrappers of clock_wrappers.cpp): an id made before a checkpoint
// names the same owner after any number of restarts.  Before the first
// restart the program's ids are the kernel's, so such an id is exactly
// what glibc would have made.
//
// A timer on a CPU clock is re-made after a restart by the checkpoint
// thread, for an owner with new kernel ids, so we remember WHOSE clock it
// was (ClockRef) and encode it again then.
//
// clock_getcpuclockid(own pid) returns the kernel's "this process" clock
// (pid 0), which stays right across restarts even without the pid plugin.
//
// Refuses nothing silently: an owner we do not know (another thread group's
// thread, a process outside the computation) keeps the id as given, and the
// kernel answers for it; a process of ours that is gone gives false.
// Allocates nothing; any thread.
#pragma once

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

namespace dmtcp::timer {

struct ClockRef {
  enum Kind : int {
    kPlain,          // a clock without an owner, or "this process"
    kThread,         // a thread of ours: `thread`
    kProcess,        // another process: virtual pid `vpid`
  };
  Kind kind = kPlain;
  clockid_t given = CLOCK_REALTIME;  // what the program passed
  clockid_t which = 0;               // CPUCLOCK_PROF/VIRT/SCHED
  pid_t vpid = 0;
  pthread_t thread{};
};

// At timer_create / timerfd_create, in the calling thread.
ClockRef describe_clock(clockid_t clock);
// At a checkpoint (WRITE_CKPT), before the kernel ids change: a thread's
// clock whose owner was not known yet (a timer made on the clock of a
// thread that had not reached THREAD_START, as right after
// pthread_create) is looked up again.
void resolve_clock_owner(ClockRef* ref);
// The clock id to give the kernel now (after a restart: new tids, pids).
clockid_t current_clock(const ClockRef& ref);
// The kernel's clock now for a CPU clock id (negative) the program holds:
// the thread's or process's id it encodes translated from the program's
// to the kernel's.  False if that process is gone (a dead child of ours:
// its number may be someone else's by now).
bool kernel_cpu_clock(clockid_t program_clock, clockid_t* kernel_clock);
// True for the clocks whose absolute time survives a restart (wall clock).
bool is_wall_clock(clockid_t clock);

}  // namespace dmtcp::timer
