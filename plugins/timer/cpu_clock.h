// cpu_clock.h -- clock ids that name a process or a thread, across restart.
//
// Purpose: CPU-time clocks encode a pid or tid (clock_getcpuclockid,
// pthread_getcpuclockid, and CLOCK_THREAD_CPUTIME_ID, which means "the
// calling thread").  A timer on such a clock is re-made after a restart by
// the checkpoint thread, for a process and threads with new kernel ids, so
// we remember WHOSE clock it was (ClockRef) and encode it again then.
//
// clock_getcpuclockid(own pid) returns the kernel's "this process" clock
// (pid 0), which stays right across any number of restarts without a
// wrapper on clock_gettime (which stays the vDSO's).  Another process's
// clock encodes its kernel pid of the moment: a clock id held across a
// restart is then stale (ask again); timers on it are re-made right.
//
// Refuses nothing silently; allocates nothing; any thread.
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
// True for the clocks whose absolute time survives a restart (wall clock).
bool is_wall_clock(clockid_t clock);

}  // namespace dmtcp::timer
