// Mutexes that record their owner's kernel tid, kept right across a
// restart (every thread comes back with a new tid).  See docs/threads.md,
// "Mutex owners".
//
// glibc (x86_64 struct __pthread_mutex_s: __lock, __count, __owner,
// __nusers, __kind, __spins/__elision, __list) writes the owner's tid into
// __owner for every kind but the plain ones, and into the lock word itself
// for robust and priority-inheritance mutexes.  Two sources tell us which
// mutexes a thread owns:
//  - its robust list (the kernel's own list of robust mutexes it holds);
//  - for the other kinds, a small per-thread set kept by the lock/unlock
//    wrappers (mutex_wrappers.cpp).
// At restart every thread reports (old tid, new tid, robust list); once all
// have, the checkpoint thread rewrites every owner field and lock word in one
// pass, before any thread runs program code again.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>

namespace dmtcp::mutex_owners {

// glibc's __kind bits (nptl/pthreadP.h).
constexpr int kTypeMask = 127;  // without the pshared and elision bits
constexpr int kKindMask = 3;
constexpr int kKindRecursive = 1;
constexpr int kKindErrorcheck = 2;
constexpr int kRobust = 16;
constexpr int kPrioInherit = 32;

inline int mutex_type(const pthread_mutex_t* m) {
  return __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) & kTypeMask;
}
// glibc writes an owner tid into the mutex: all but timed (0) and adaptive
// (3) ones.
inline bool records_owner(int type) {
  return type != 0 && type != 3;
}
// Robust ones are on the thread's robust list instead of our set.
inline bool tracked_in_set(int type) {
  return records_owner(type) && (type & kRobust) == 0;
}
inline bool tid_in_lock_word(int type) {
  return (type & (kRobust | kPrioInherit)) != 0;
}

// ---- The wrappers' side (any user thread) --------------------------------

// How many restarts this process has been through; a lock call that sees
// it change waited across a restart.
extern std::atomic<uint32_t> g_restarts;

// The tracked mutexes a thread holds (or is about to lock, or waits on in a
// condition wait).  Written only by its thread; read by the checkpoint
// thread at restart while the thread is parked: an entry is stored before
// count covers it.
constexpr uint32_t kMaxHeld = 32;
struct HeldSet {
  pthread_mutex_t* mutexes[kMaxHeld];
  uint32_t count;
};
extern thread_local HeldSet tls_held;

bool set_full();  // warns once; returns false

// Before a lock call on a tracked mutex: puts m in the calling thread's set
// (so a checkpoint while it waits finds it).  Returns whether it was added
// (false: already there, a recursive or errorcheck relock).
inline bool add_held(pthread_mutex_t* m) {
  HeldSet& s = tls_held;
  for (uint32_t i = 0; i < s.count; ++i) {
    if (s.mutexes[i] == m) {
      return false;
    }
  }
  if (s.count == kMaxHeld) {
    return set_full();
  }
  s.mutexes[s.count] = m;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  s.count = s.count + 1;
  return true;
}

inline void remove_held(pthread_mutex_t* m) {
  HeldSet& s = tls_held;
  for (uint32_t i = s.count; i-- > 0;) {
    if (s.mutexes[i] == m) {
      s.mutexes[i] = s.mutexes[s.count - 1];
      std::atomic_signal_fence(std::memory_order_seq_cst);
      s.count = s.count - 1;
      return;
    }
  }
}
// The calling thread owns m (a lock call returned it): writes its tid where
// glibc wrote a stale one.  glibc reads the tid once on entry to a blocking
// lock of most kinds, so a call that waited across a restart records the
// old one.
void claim(pthread_mutex_t* m);

// ---- The restart side ----------------------------------------------------

// Start-up: where the dynamic loader keeps its own recursive locks
// (_dl_load_lock, _dl_load_write_lock, ... inside ld.so's _rtld_global):
// glibc takes them internally (dlopen, dlclose, dl_iterate_phdr), past our
// wrappers, and they record the owner's tid too.  At restart that range is
// searched for a locked recursive mutex owned by a restored thread's old
// tid.  Found by name; without it (another libc) nothing is searched.
void find_loader_locks();

// Checkpoint thread, first thing after a restart: forget the last round.
void begin_restart();
// Each restored thread for itself (and the checkpoint thread), before it
// reports: its tid at the checkpoint and now, and the robust list head it
// registered again (0: none).
void add_thread(pid_t old_tid, pid_t new_tid, uint64_t robust_head);
// Checkpoint thread, once every thread has been added and while all of them
// wait: rewrites every mutex they own from the old tid to the new, then
// counts the restart.
void rewrite_all();

}  // namespace dmtcp::mutex_owners
