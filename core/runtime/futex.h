// Thin futex helpers: the runtime's waits must work in the checkpoint thread
// and in signal handlers, where pthread primitives are not allowed, and must
// survive a restart (no kernel object outlives the process).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace dmtcp {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

// Sleeps while *word == expected (or until timeout / a signal).
inline void futex_wait(std::atomic<uint32_t>* word, uint32_t expected,
                       const timespec* timeout = nullptr) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE,
          expected, timeout, nullptr, 0);
}

inline void futex_wake(std::atomic<uint32_t>* word, int count = INT_MAX) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE,
          count, nullptr, nullptr, 0);
}

// A small mutex for runtime-internal lists; never held across a checkpoint
// by a user thread (the checkpoint thread takes it before suspending them).
class SpinFutexLock {
 public:
  void lock() {
    uint32_t expected = 0;
    while (!state_.compare_exchange_weak(expected, 1,
                                         std::memory_order_acquire)) {
      futex_wait(&state_, 1);
      expected = 0;
    }
  }
  void unlock() {
    state_.store(0, std::memory_order_release);
    futex_wake(&state_, 1);
  }
  // Fork child: a thread that held the lock does not exist there.
  void reset() { state_.store(0); }

 private:
  std::atomic<uint32_t> state_{0};
};

}  // namespace dmtcp
