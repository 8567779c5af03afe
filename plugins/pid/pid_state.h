// pid_state.h -- the pid plugin's process-wide state: who we are (virtual
// and real), the table of other processes, the registry of our own threads,
// and the translation rules every wrapper shares.  The algorithm is
// described at the top of pid_events.cpp; the design in docs/pid.md.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <optional>

#include "dmtcp/raw_syscall.h"
#include "dmtcp/virtual_id_table.h"

#define DMTCP_PID_EXPORT extern "C" __attribute__((visibility("default")))

namespace dmtcp::pid {

using Table = VirtualIdTable<VirtPid, RealPid>;

// --- raw system calls ---------------------------------------------------
// Never libc's syscall(): we export our own syscall() wrapper, and the
// lookups below must see the kernel's ids.  Returns -errno on failure.
inline long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0,
                        long e = 0, long f = 0) {
  return dmtcp::raw::syscall6(n, a, b, c, d, e, f);
}
pid_t raw_getpid();
pid_t raw_getppid();
pid_t raw_gettid();

// --- who we are ----------------------------------------------------------
// True once INIT (or POST_EXEC, or a fork child) set our ids up; before
// that, and in processes the runtime is not active in, wrappers pass
// through.
bool active();
// Wrappers pass straight through when the plugin is inactive.  (The core
// never comes through here for kernel ids: it makes raw system calls,
// core/runtime/raw_syscall.h.)
inline bool pass() {
  return !active();
}

// Keeps errno across translation work done after the real call.
class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }
  ErrnoKeeper(const ErrnoKeeper&) = delete;
  ErrnoKeeper& operator=(const ErrnoKeeper&) = delete;

 private:
  int saved_;
};

pid_t self_virt();
pid_t self_real();
// Called at INIT (fresh process), POST_EXEC, in a fork child and at
// RESTART.
void set_self(pid_t virt, pid_t real);

// getppid(): the parent's (real, virtual) pair packed in one word so a
// reader never sees the halves of two different parents.
std::optional<pid_t> cached_parent_virt(pid_t real_ppid);
void cache_parent(pid_t real_ppid, pid_t virt_ppid);
void forget_parent_cache();
// The cached parent's virtual pid, whatever real pid it was cached for.
std::optional<pid_t> cached_parent_any();

// How many restarts this process has been through: bumped at RESTART,
// before any user thread runs again.  A wait that began before a restart
// holds kernel ids of the old run (waits in pid_wrappers.cpp).
uint32_t restarts_so_far();
void note_restart();

// --- the table of processes ---------------------------------------------
// Virtual pid -> real pid for every process we know of: ourselves, our
// parent, children and whatever a fork inherited.  A "tombstone" maps v to
// the negative -v: a process known to be gone since the last restart (a
// signal to it fails with ESRCH instead of reaching whoever has that real
// pid now).
Table& table();

// A user thread touching the table: no checkpoint starts (a thread frozen
// inside the table's spin lock would deadlock the restart hooks) and no
// fork (a child inheriting a held spin lock would deadlock on its first
// lookup).  Never used in the checkpoint thread's hooks.
class TableAccess {
 public:
  TableAccess();
  ~TableAccess();
  TableAccess(const TableAccess&) = delete;
  TableAccess& operator=(const TableAccess&) = delete;
};

// fork(): closes the gate TableAccess waits on, until the parent has
// registered its child.
void close_fork_gate();
void open_fork_gate();
void reset_fork_gate_in_child();

// The virtual pid for a process whose real pid is `real`: `real` itself
// unless that number is already a virtual pid in the table (possible after
// a restart), then the next unused number above it.  Parent and child call
// it on identical copies of the table, so they agree.  Adds the pair.
// Caller holds TableAccess or is alone (fork child, closed gate).
pid_t register_process(pid_t real);
// The search register_process() makes: the number after v (wrapping as
// the kernel does).
pid_t next_candidate(pid_t v);
// A reaped child: erased when its ids are the same number (any passthrough
// is then the kernel's own behaviour), a tombstone otherwise.
void forget_process(pid_t virt, pid_t real);

// Virtual -> real for a pid argument: ourselves, the table, or passthrough
// for a number nobody virtualized.  nullopt (ESRCH) for a tombstone, and
// for a number that is not a virtual pid but is the real pid of one of our
// processes (it was never given to the program, so it is a stale id).
std::optional<pid_t> pid_to_real(pid_t virt);
// Real -> virtual for a pid result: ourselves, the table, or passthrough.
pid_t pid_to_virt(pid_t real);

// --- our own threads -----------------------------------------------------
// A fixed registry (no allocation, so hooks may use it): slot = one live
// thread's virtual tid and current real tid.  The main thread's virtual
// tid is the virtual pid; after a restart its real tid is not the real pid
// (the checkpoint thread runs on the first kernel thread), which is why
// thread ids are kept here and not in the table.
pid_t self_virt_tid();  // gettid(): cached per thread
void register_this_thread(pid_t virt, pid_t real);
// Picks a virtual tid for a new thread (its real tid unless taken) and
// registers it.  Caller holds TableAccess.
void register_new_thread();
void unregister_this_thread();
void reset_threads_in_child(pid_t virt, pid_t real);
// Virtual tid of one of our threads -> its real tid.  After a restart a
// thread's real tid is known once it ran its RESUME_USER_THREAD hook:
// waits for that (bounded).
std::optional<pid_t> own_thread_real(pid_t virt_tid);
// Checkpoint-time bookkeeping (no allocation).
void mark_this_thread_seen(uint32_t round);
void drop_threads_not_seen(uint32_t round);
void mark_threads_pending();      // RESTART
void refresh_this_thread_real();  // RESUME_USER_THREAD after restart

// tid arguments (tgkill, tkill, sched_*): our threads first, then pids.
std::optional<pid_t> tid_to_real(pid_t virt_tid);
// tid results (F_GETOWN_EX): our threads first, then pids.
pid_t tid_to_virt(pid_t real_tid);

}  // namespace dmtcp::pid
