// pid_state.cpp -- see pid_state.h.
#include "pid_state.h"

#include <link.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>

#include <cstring>

#include "dmtcp/plugin.h"
#include "pid_groups.h"
#include "pid_restart_map.h"

namespace dmtcp::pid {
namespace {

// Linux's largest pid_max (PID_MAX_LIMIT on 64-bit).
constexpr pid_t kPidMax = 4194304;
// The lowest pid the kernel hands out after wrapping (RESERVED_PIDS).
constexpr pid_t kPidWrap = 300;
constexpr size_t kMaxThreads = 4096;
// How long a tgkill() waits for a restarted thread to report its new tid.
constexpr long kPendingWaitNs = 5L * 1000 * 1000 * 1000;

std::atomic<bool> g_active{false};
std::atomic<pid_t> g_self_virt{0};
std::atomic<pid_t> g_self_real{0};
std::atomic<uint32_t> g_restarts{0};
// (real ppid << 32) | virtual ppid; 0 = nothing cached.
std::atomic<uint64_t> g_parent{0};

Table g_table;

// The fork gate.  Protects: table spin lock not held across fork().
std::atomic<int> g_gate_users{0};
std::atomic<bool> g_gate_closed{false};

struct ThreadSlot {
  std::atomic<pid_t> virt{0};  // 0 = free
  std::atomic<pid_t> real{0};  // 0 = pending after a restart
  std::atomic<uint32_t> seen_round{0};
};
ThreadSlot g_threads[kMaxThreads];
// One past the highest slot ever claimed: scans stop here.
std::atomic<size_t> g_threads_end{0};

thread_local ThreadSlot* t_slot __attribute__((tls_model("initial-exec"))) =
    nullptr;
thread_local pid_t t_virt_tid __attribute__((tls_model("initial-exec"))) = 0;

bool is_thread_virt(pid_t v) {
  size_t end = g_threads_end.load(std::memory_order_acquire);
  for (size_t i = 0; i < end; ++i) {
    if (g_threads[i].virt.load(std::memory_order_relaxed) == v) {
      return true;
    }
  }
  return false;
}

}  // namespace

pid_t next_candidate(pid_t v) {
  return v + 1 >= kPidMax ? kPidWrap : v + 1;
}

pid_t raw_getpid() {
  return static_cast<pid_t>(raw_syscall(SYS_getpid));
}
pid_t raw_getppid() {
  return static_cast<pid_t>(raw_syscall(SYS_getppid));
}
pid_t raw_gettid() {
  return static_cast<pid_t>(raw_syscall(SYS_gettid));
}

bool active() {
  return g_active.load(std::memory_order_relaxed);
}
pid_t self_virt() {
  return g_self_virt.load(std::memory_order_relaxed);
}
pid_t self_real() {
  return g_self_real.load(std::memory_order_relaxed);
}

void set_self(pid_t virt, pid_t real) {
  g_self_virt.store(virt);
  g_self_real.store(real);
  g_active.store(true);
}

uint32_t restarts_so_far() {
  return g_restarts.load(std::memory_order_acquire);
}

void note_restart() {
  g_restarts.fetch_add(1, std::memory_order_release);
}

std::optional<pid_t> cached_parent_virt(pid_t real_ppid) {
  uint64_t p = g_parent.load(std::memory_order_relaxed);
  if (p == 0 || static_cast<pid_t>(p >> 32) != real_ppid) {
    return std::nullopt;
  }
  return static_cast<pid_t>(p & 0xffffffffu);
}

void cache_parent(pid_t real_ppid, pid_t virt_ppid) {
  g_parent.store(
      (static_cast<uint64_t>(static_cast<uint32_t>(real_ppid)) << 32) |
      static_cast<uint32_t>(virt_ppid));
}

void forget_parent_cache() {
  g_parent.store(0);
}

std::optional<pid_t> cached_parent_any() {
  uint64_t p = g_parent.load();
  if (p == 0) {
    return std::nullopt;
  }
  return static_cast<pid_t>(p & 0xffffffffu);
}

Table& table() {
  return g_table;
}

TableAccess::TableAccess() {
  DMTCP_PLUGIN_DISABLE_CKPT();
  for (;;) {
    while (g_gate_closed.load(std::memory_order_acquire)) {
      sched_yield();
    }
    g_gate_users.fetch_add(1);
    if (!g_gate_closed.load()) {
      return;
    }
    g_gate_users.fetch_sub(1);
  }
}

TableAccess::~TableAccess() {
  g_gate_users.fetch_sub(1);
  DMTCP_PLUGIN_ENABLE_CKPT();
}

void close_fork_gate() {
  while (g_gate_closed.exchange(true)) {
    sched_yield();  // another thread is forking
  }
  while (g_gate_users.load() != 0) {
    sched_yield();
  }
}

void open_fork_gate() {
  g_gate_closed.store(false, std::memory_order_release);
}

void reset_fork_gate_in_child() {
  g_gate_users.store(0);
  g_gate_closed.store(false);
}

pid_t register_process(pid_t real) {
  // A real pid the kernel just handed out cannot belong to a live process
  // we know: whoever had it is gone.
  if (auto stale = g_table.to_virtual(RealPid(real))) {
    g_table.update_real(*stale, RealPid(-stale->value));
  }
  forget_leaderless_group(real);
  pid_t v = real;
  while (g_table.to_real(VirtPid(v)).has_value()) {
    v = next_candidate(v);
  }
  g_table.add(VirtPid(v), RealPid(real));
  return v;
}

void forget_process(pid_t virt, pid_t real) {
  if (virt == real) {
    g_table.erase(VirtPid(virt));
  } else {
    g_table.update_real(VirtPid(virt), RealPid(-virt));
    note_reaped_leader(virt, real);
  }
}

std::optional<pid_t> pid_to_real(pid_t virt) {
  if (virt == self_virt()) {
    return self_real();
  }
  TableAccess access;
  if (auto r = g_table.to_real(VirtPid(virt))) {
    if (r->value <= 0) {
      return std::nullopt;
    }
    return r->value;
  }
  if (auto r = restart_map::extra_to_real(virt)) {
    return r;
  }
  if (auto v = g_table.to_virtual(RealPid(virt)); v && v->value != virt) {
    return std::nullopt;
  }
  return virt;
}

pid_t pid_to_virt(pid_t real) {
  if (real == self_real()) {
    return self_virt();
  }
  TableAccess access;
  if (auto v = g_table.to_virtual(RealPid(real))) {
    return v->value;
  }
  return restart_map::extra_to_virt(real).value_or(real);
}

pid_t self_virt_tid() {
  pid_t v = t_virt_tid;
  if (v != 0) {
    return v;
  }
  // A thread we did not see start (the checkpoint thread, or one created
  // before INIT): its first answer is its id from then on.
  pid_t real = raw_gettid();
  t_virt_tid = real == self_real() ? self_virt() : real;
  return t_virt_tid;
}

void register_this_thread(pid_t virt, pid_t real) {
  t_virt_tid = virt;
  t_slot = nullptr;
  for (size_t i = 0; i < kMaxThreads; ++i) {
    pid_t expected = 0;
    ThreadSlot& s = g_threads[i];
    if (s.virt.load() == 0 && s.virt.compare_exchange_strong(expected, virt)) {
      s.real.store(real);
      t_slot = &s;
      size_t end = g_threads_end.load();
      while (end < i + 1 && !g_threads_end.compare_exchange_weak(end, i + 1)) {
      }
      return;
    }
  }
  // Full: the thread keeps a stable gettid() but cannot be signalled by
  // its virtual tid after a restart.
  dmtcp_log("pid: more than %zu threads; tid %d not virtualized", kMaxThreads,
            real);
}

void register_new_thread() {
  pid_t real = raw_gettid();
  pid_t v = real;
  while (g_table.to_real(VirtPid(v)).has_value() || is_thread_virt(v)) {
    v = next_candidate(v);
  }
  register_this_thread(v, real);
}

void unregister_this_thread() {
  if (t_slot != nullptr) {
    t_slot->virt.store(0);
    t_slot = nullptr;
  }
}

void reset_threads_in_child(pid_t virt, pid_t real) {
  for (size_t i = 0; i < kMaxThreads; ++i) {
    g_threads[i].virt.store(0);
    g_threads[i].real.store(0);
  }
  g_threads_end.store(0);
  register_this_thread(virt, real);
}

std::optional<pid_t> own_thread_real(pid_t virt_tid) {
  size_t end = g_threads_end.load(std::memory_order_acquire);
  for (size_t i = 0; i < end; ++i) {
    ThreadSlot& s = g_threads[i];
    if (s.virt.load(std::memory_order_relaxed) != virt_tid) {
      continue;
    }
    pid_t r = s.real.load();
    if (r != 0) {
      return r;
    }
    // Restarted, not yet reported: threads report right after they wake.
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      sched_yield();
      r = s.real.load();
      if (r != 0 || s.virt.load() != virt_tid) {
        return r != 0 ? std::optional<pid_t>(r) : std::nullopt;
      }
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long ns = (now.tv_sec - start.tv_sec) * 1000000000L +
                (now.tv_nsec - start.tv_nsec);
      if (ns > kPendingWaitNs) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

void mark_this_thread_seen(uint32_t round) {
  if (t_slot != nullptr) {
    t_slot->seen_round.store(round);
  }
}

void drop_threads_not_seen(uint32_t round) {
  size_t end = g_threads_end.load();
  for (size_t i = 0; i < end; ++i) {
    ThreadSlot& s = g_threads[i];
    if (s.virt.load() != 0 && s.seen_round.load() != round) {
      // It exited without PTHREAD_EXIT/RETURN (cancelled, or it never
      // reached our hooks): it is not in this image.
      s.virt.store(0);
    }
  }
}

void mark_threads_pending() {
  // The core has cloned every thread again by now: their new tids are
  // known from the tids they had at the checkpoint, so /proc/<pid>/task/<tid>
  // paths translate in the RESTART event already (the file plugin reopens
  // them there).  A thread the core does not know stays pending until it
  // reports (refresh_this_thread_real).
  size_t end = g_threads_end.load();
  for (size_t i = 0; i < end; ++i) {
    pid_t now = dmtcp_restored_thread_tid(g_threads[i].real.load());
    g_threads[i].real.store(now > 0 ? now : 0);
  }
}

void refresh_this_thread_real() {
  if (t_slot != nullptr) {
    t_slot->real.store(raw_gettid());
  }
}

std::optional<pid_t> tid_to_real(pid_t virt_tid) {
  if (auto r = own_thread_real(virt_tid)) {
    return r;
  }
  return pid_to_real(virt_tid);
}

pid_t tid_to_virt(pid_t real_tid) {
  size_t end = g_threads_end.load(std::memory_order_acquire);
  for (size_t i = 0; i < end; ++i) {
    ThreadSlot& s = g_threads[i];
    pid_t v = s.virt.load(std::memory_order_relaxed);
    if (v != 0 && s.real.load(std::memory_order_relaxed) == real_tid) {
      return v;
    }
  }
  return pid_to_virt(real_tid);
}

}  // namespace dmtcp::pid
