#include "runtime/ckpt_lock.h"

#include "runtime/futex.h"

namespace dmtcp::ckpt_lock {
namespace {

// Protects nothing by itself: readers_ counts shared holders, writer_ is 1
// while the checkpoint thread wants or holds the lock.
std::atomic<uint32_t> readers_{0};
std::atomic<uint32_t> writer_{0};
thread_local int depth_ = 0;
// The checkpoint thread while it holds the lock: its hooks may call
// wrappers and DMTCP_PLUGIN_DISABLE_CKPT, which must not wait on itself.
thread_local bool exclusive_here_ = false;

}  // namespace

void lock_shared() {
  if (exclusive_here_) {
    return;
  }
  if (depth_++ > 0) {
    return;
  }
  for (;;) {
    while (writer_.load() != 0) {
      futex_wait(&writer_, 1);
    }
    readers_.fetch_add(1);
    if (writer_.load() == 0) {
      return;
    }
    // A checkpoint arrived between the two loads: step back and wait.
    if (readers_.fetch_sub(1) == 1) {
      futex_wake(&readers_);
    }
  }
}

void unlock_shared() {
  if (exclusive_here_) {
    return;
  }
  if (--depth_ > 0) {
    return;
  }
  if (readers_.fetch_sub(1) == 1 && writer_.load() != 0) {
    futex_wake(&readers_);
  }
}

bool held_shared() { return depth_ > 0; }

void lock_exclusive() {
  writer_.store(1);
  for (;;) {
    uint32_t r = readers_.load();
    if (r == 0) {
      exclusive_here_ = true;
      return;
    }
    futex_wait(&readers_, r);
  }
}

void unlock_exclusive() {
  exclusive_here_ = false;
  writer_.store(0);
  futex_wake(&writer_);
}

void reset_after_fork(int depth) {
  depth_ = depth;
  writer_.store(0);
  readers_.store(depth > 0 ? 1 : 0);
}

int depth_of_this_thread() { return depth_; }

}  // namespace dmtcp::ckpt_lock
