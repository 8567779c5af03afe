// Sleeps and waits that a checkpoint must not cut short.
//
// A checkpoint stops every user thread with the checkpoint signal.  Calls
// that SA_RESTART restarts (read, write, wait...) are re-run by the kernel
// when the handler returns, at resume and after restart alike (the restart
// hint is in the signal frame, which is in the image).  The sleeps are never
// restarted: nanosleep, clock_nanosleep, sleep, usleep, pause and
// sigsuspend return EINTR, so `sleep(5)` would return early after every
// checkpoint.  These wrappers make that invisible:
//
//  1. Note the round counter (rt::g_rounds_done), then make the call.
//  2. On EINTR, if a round ended meanwhile, the signal was ours (the counter
//     moves before any user thread leaves the handler, also after a
//     restart, whose image holds the count from before the round): sleep
//     again for what the kernel says is left (a relative sleep), or to the
//     same deadline (TIMER_ABSTIME); pause and sigsuspend simply wait
//     again.  Otherwise the EINTR is the program's and it gets it; so
//     also when a signal of the program's, held back during the round by
//     the checkpoint handler's mask, was delivered right after it (the
//     handler notes that: threads::program_signal_followed()).
//
// Time spent frozen in the checkpoint does not count as sleeping (the
// remaining time is what the kernel reported when the signal came); after a
// restart the rest of the sleep follows (docs/threads.md).
//
// glibc implements sleep and usleep with an internal nanosleep, past our
// wrapper, so they are wrapped too, on top of nanosleep.
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "runtime/checkpoint_eintr.h"
#include "runtime/real_fns.h"
#include "runtime/runtime.h"

using dmtcp::real::fns;
namespace rt = dmtcp::rt;

namespace {

using dmtcp::checkpoint_eintr::begin_wait;
using dmtcp::checkpoint_eintr::interrupted_by_checkpoint;

// A relative sleep of *req; 0, or an error number with *rem set (as
// clock_nanosleep).  Step 1 and 2 for the relative case.
int sleep_relative(clockid_t clock, const timespec* req, timespec* rem) {
  if (req == nullptr) {
    return fns().clock_nanosleep(clock, 0, req, rem);  // EFAULT, as libc's
  }
  timespec left = *req;
  for (;;) {
    uint32_t before = begin_wait();
    timespec after{};
    int error = fns().clock_nanosleep(clock, 0, &left, &after);
    if (error == 0) {
      return 0;
    }
    if (!interrupted_by_checkpoint(error, before)) {
      if (rem != nullptr) {
        *rem = after;
      }
      return error;
    }
    left = after;
  }
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int clock_nanosleep(
    clockid_t clock, int flags, const timespec* req, timespec* rem) {
  if ((flags & TIMER_ABSTIME) == 0) {
    return sleep_relative(clock, req, rem);
  }
  for (;;) {
    uint32_t before = begin_wait();
    int error = fns().clock_nanosleep(clock, flags, req, rem);
    if (!interrupted_by_checkpoint(error, before)) {
      return error;
    }
  }
}

__attribute__((visibility("default"))) int nanosleep(const timespec* req,
                                                     timespec* rem) {
  int error = sleep_relative(CLOCK_REALTIME, req, rem);
  if (error != 0) {
    errno = error;
    return -1;
  }
  return 0;
}

// As glibc's: the whole seconds left when a signal ends it early.
__attribute__((visibility("default"))) unsigned int sleep(
    unsigned int seconds) {
  timespec req{static_cast<time_t>(seconds), 0};
  timespec rem{};
  if (nanosleep(&req, &rem) != 0) {
    return static_cast<unsigned int>(rem.tv_sec);
  }
  return 0;
}

__attribute__((visibility("default"))) int usleep(useconds_t usec) {
  timespec req{static_cast<time_t>(usec / 1000000),
               static_cast<long>(usec % 1000000) * 1000};
  return nanosleep(&req, nullptr);
}

__attribute__((visibility("default"))) int pause(void) {
  return dmtcp::checkpoint_eintr::wait_through_checkpoints(
      [] { return fns().pause(); });
}

}  // extern "C"
