// thread_registry.cpp -- see thread_registry.h.
#include "thread_registry.h"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "dmtcp/plugin.h"
#include "timer_common.h"

namespace dmtcp::timer {
namespace {

constexpr size_t kSlots = 4096;

struct Slot {
  std::atomic<pid_t> tid{0};          // the program's tid; 0 = free
  std::atomic<uintptr_t> thread{0};   // pthread_t
};
Slot g_slots[kSlots];
std::atomic<size_t> g_end{0};  // slots [0, g_end) have been used
std::atomic<bool> g_full_logged{false};

}  // namespace

void register_current_thread() {
  pid_t tid = gettid();  // the pid plugin's answer when it is loaded
  uintptr_t self = static_cast<uintptr_t>(pthread_self());
  for (size_t i = 0; i < kSlots; ++i) {
    pid_t expected = 0;
    if (g_slots[i].tid.compare_exchange_strong(expected, -1)) {
      g_slots[i].thread.store(self);
      g_slots[i].tid.store(tid, std::memory_order_release);
      size_t end = g_end.load();
      while (end < i + 1 && !g_end.compare_exchange_weak(end, i + 1)) {
      }
      return;
    }
  }
  if (!g_full_logged.exchange(true)) {
    dmtcp_log("timer: more than %zu threads; timers aimed at the others "
              "keep the tid they were given",
              kSlots);
  }
}

void forget_current_thread() {
  uintptr_t self = static_cast<uintptr_t>(pthread_self());
  size_t end = g_end.load(std::memory_order_acquire);
  for (size_t i = 0; i < end; ++i) {
    if (g_slots[i].tid.load() > 0 && g_slots[i].thread.load() == self) {
      g_slots[i].thread.store(0);
      g_slots[i].tid.store(0, std::memory_order_release);
    }
  }
}

void reset_threads_after_fork() {
  for (size_t i = 0; i < kSlots; ++i) {
    g_slots[i].thread.store(0);
    g_slots[i].tid.store(0);
  }
  g_end.store(0);
  register_current_thread();
}

std::optional<pthread_t> thread_by_program_tid(pid_t tid) {
  size_t end = g_end.load(std::memory_order_acquire);
  for (size_t i = 0; i < end; ++i) {
    if (g_slots[i].tid.load(std::memory_order_acquire) == tid) {
      return static_cast<pthread_t>(g_slots[i].thread.load());
    }
  }
  return std::nullopt;
}

std::optional<pid_t> program_tid_of(pthread_t thread) {
  uintptr_t want = static_cast<uintptr_t>(thread);
  size_t end = g_end.load(std::memory_order_acquire);
  for (size_t i = 0; i < end; ++i) {
    pid_t tid = g_slots[i].tid.load(std::memory_order_acquire);
    if (tid > 0 && g_slots[i].thread.load() == want) {
      return tid;
    }
  }
  return std::nullopt;
}

pid_t real_tid_of(pthread_t thread) {
  // glibc's pthread_getcpuclockid() encodes the descriptor's tid field,
  // which the core keeps current across restarts (docs/threads.md).
  clockid_t c;
  if (NEXT_FNC(pthread_getcpuclockid)(thread, &c) != 0 || !is_cpu_clock(c)) {
    return -1;
  }
  return cpu_clock_pid(c);
}

}  // namespace dmtcp::timer
