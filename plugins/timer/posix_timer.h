// posix_timer.h -- POSIX timers (timer_create ...) across checkpoint and
// restart.
//
// Purpose: the program keeps the timer_t it was given; after a restart the
// kernel timer behind it is made again, on the same clock (CPU clocks
// re-encoded for new pids and tids, cpu_clock.h), with the same
// notification, armed with the time it had left and its interval.
//
// Ids.  The program's timer_t is a virtual id: the kernel id the timer got
// at creation, or the next unused number if that one is already a virtual
// id (after a restart).  A VirtualIdTable maps it to the kernel id of the
// moment.  At restart each timer is made again with its old kernel id
// through prctl(PR_TIMER_CREATE_RESTORE_IDS) (Linux 6.16+), so the table
// stays the identity and even raw system calls on the old id work; where
// the kernel lacks it, or DMTCP_TIMER_RESTORE_IDS=0 is in dmtcp_restart's
// environment, the new kernel ids go into the table.
//
// Refuses silently: nothing.  A virtual id we do not know fails with
// EINVAL, as the kernel's would; a timer that cannot be made again at
// restart is logged and its id then fails with EINVAL.
// Thread safety: a spin lock protects the records; the id table has its
// own, and a lock-free cache that timer_settime/gettime/getoverrun read.
// Wrappers and the checkpoint thread's hooks may run at once.
// Allocation: only timer_create's wrapper allocates (malloc, not in a
// hook); the hooks change records in place.
#pragma once

#include <signal.h>
#include <time.h>

#include <optional>

#include "cpu_clock.h"

namespace dmtcp::timer {

// The signal our SIGEV_THREAD helper waits for (glibc's own helper uses
// the same one: it is not a signal the program can use).
constexpr int kSigTimerThread = 32;

// One timer.  Set at timer_create (the program's request) unless marked.
struct PosixTimer {
  int virt = 0;
  int real = 0;           // kernel id now (also in the id table)
  ClockRef clock;
  int notify = SIGEV_SIGNAL;  // SIGEV_SIGNAL, _NONE, _THREAD, _THREAD_ID
  int signo = SIGALRM;
  sigval value{};
  pthread_t target{};         // SIGEV_THREAD_ID: the thread
  bool target_known = false;  // false: `target_tid` is passed as given
  pid_t target_tid = 0;
  void (*function)(sigval) = nullptr;  // SIGEV_THREAD
  size_t stack_size = 0;               // SIGEV_THREAD: 0 = default
  int thread_key = 0;  // SIGEV_THREAD: the value the helper receives
  bool absolute = false;  // last timer_settime had TIMER_ABSTIME
  // Saved at WRITE_CKPT:
  itimerspec left{};      // time left (relative) and interval
  timespec expiry{};      // absolute first expiry, wall clocks only
  bool alive = true;      // false: the kernel did not know it any more
  // Rebuilt at restart: the kernel id before it (a stale id a thread
  // frozen inside a wrapper may still pass to the kernel).
  int stale_real = 0;
};

// Wrapper side.
// Makes a timer as the program asked; the virtual id in *virt.  0 or -1.
int create_posix_timer(clockid_t clock, const sigevent* evp, int* virt);
// Lock-free (the id table's cache): no checkpoint lock needed by calls
// that only translate (docs/timer.md, "Ids without the checkpoint lock").
std::optional<int> real_timer_id(int virt);
// True when a timer_settime with these flags changes nothing we record
// (relative, and the timer is recorded relative); lock-free.
bool settime_flags_noted(int virt, int flags);
void note_settime_flags(int virt, int flags);
// Removes the record after the kernel timer was deleted.
void forget_posix_timer(int virt);
// For the SIGEV_THREAD helper: what to run for the timer with that key.
bool thread_job(int thread_key, void (**fn)(sigval), sigval* value,
                size_t* stack_size);

// Hooks.
void save_posix_timers();      // WRITE_CKPT: time left, claims
void restore_posix_timers();   // REFILL after a restart
void forget_posix_timers_after_fork();  // ATFORK_CHILD: none inherited

}  // namespace dmtcp::timer
