// The checkpoint lock: user threads inside a DMTCP wrapper (or between
// dmtcp_disable_ckpt and dmtcp_enable_ckpt) hold it shared; the checkpoint
// thread takes it exclusively before suspending anyone, so no thread is ever
// frozen halfway through a wrapper.
//
// Own futex code rather than pthread_rwlock: glibc's rwlock records the
// writer's tid, which changes across a restart.  Shared holds nest per thread
// (a wrapper may call another wrapper, a signal handler may call fork), and a
// waiting checkpoint stops new shared holders (no starvation).  The thread
// holding it exclusively passes straight through shared locking: plugin
// hooks run there and may call wrappers.
#pragma once

#include <atomic>
#include <cstdint>

namespace dmtcp::ckpt_lock {

void lock_shared();
void unlock_shared();
// True when this thread holds the lock shared.
bool held_shared();

void lock_exclusive();
void unlock_exclusive();

// In a fork child only the forking thread survives: forget every other
// holder and waiter.
void reset_after_fork(int depth_of_this_thread);
int depth_of_this_thread();

class SharedGuard {
 public:
  SharedGuard() { lock_shared(); }
  ~SharedGuard() { unlock_shared(); }
  SharedGuard(const SharedGuard&) = delete;
  SharedGuard& operator=(const SharedGuard&) = delete;
};

}  // namespace dmtcp::ckpt_lock
