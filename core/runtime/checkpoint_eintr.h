// Telling the checkpoint's EINTR from the program's, for waits the kernel
// never restarts (sleep_wrappers.cpp explains the round counter; the
// sigsuspend wrapper uses it too).
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "runtime/runtime.h"
#include "runtime/threads.h"

namespace dmtcp::checkpoint_eintr {

inline uint32_t rounds_so_far() {
  return rt::g_rounds_done.load(std::memory_order_acquire);
}

// Before each wait: the counter, and no program signal noted yet.
inline uint32_t begin_wait() {
  threads::forget_program_signal();
  return rounds_so_far();
}

// After a wait that began when the counter read `before` and failed with
// `error`: true when only the checkpoint's signal ended it (wait again).
inline bool interrupted_by_checkpoint(int error, uint32_t before) {
  return error == EINTR && rt::g_enabled.load(std::memory_order_relaxed) &&
         rounds_so_far() != before && !threads::program_signal_followed();
}

// A wait that returns -1 with errno (pause, sigsuspend), run again until
// something other than a checkpoint ends it.
template <class Wait>
int wait_through_checkpoints(Wait wait) {
  for (;;) {
    uint32_t before = begin_wait();
    int r = wait();
    int error = errno;
    if (!interrupted_by_checkpoint(error, before)) {
      errno = error;
      return r;
    }
  }
}

}  // namespace dmtcp::checkpoint_eintr
