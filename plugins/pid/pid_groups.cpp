// pid_groups.cpp -- see pid_groups.h.
#include "pid_groups.h"

#include <signal.h>
#include <sys/syscall.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "pid_state.h"

namespace dmtcp::pid {
namespace {

constexpr size_t kMaxGroups = 64;
// (virt << 32) | real; 0 = free.  Protects itself (compare-and-swap).
std::atomic<uint64_t> g_groups[kMaxGroups];

uint64_t pack(pid_t virt, pid_t real) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(virt)) << 32) |
         static_cast<uint32_t>(real);
}
pid_t virt_of(uint64_t p) {
  return static_cast<pid_t>(p >> 32);
}
pid_t real_of(uint64_t p) {
  return static_cast<pid_t>(p & 0xffffffffu);
}

bool group_exists(pid_t real) {
  long r = raw_syscall(SYS_kill, -real, 0);
  return r == 0 || r == -EPERM;
}

}  // namespace

void note_reaped_leader(pid_t virt, pid_t real) {
  if (virt == real || !group_exists(real)) {
    return;
  }
  for (auto& slot : g_groups) {
    uint64_t expected = 0;
    if (slot.compare_exchange_strong(expected, pack(virt, real))) {
      return;
    }
  }
  // Full: kill(-virt) fails with ESRCH, as for any tombstone.
}

std::optional<pid_t> leaderless_group_real(pid_t virt) {
  for (auto& slot : g_groups) {
    uint64_t p = slot.load(std::memory_order_relaxed);
    if (p == 0 || virt_of(p) != virt) {
      continue;
    }
    if (group_exists(real_of(p))) {
      return real_of(p);
    }
    // Gone: from now on the number may be anyone's.
    slot.compare_exchange_strong(p, 0);
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<pid_t> leaderless_group_virt(pid_t real) {
  for (auto& slot : g_groups) {
    uint64_t p = slot.load(std::memory_order_relaxed);
    if (p != 0 && real_of(p) == real) {
      return virt_of(p);
    }
  }
  return std::nullopt;
}

void forget_leaderless_group(pid_t real) {
  for (auto& slot : g_groups) {
    uint64_t p = slot.load(std::memory_order_relaxed);
    if (p != 0 && real_of(p) == real) {
      slot.compare_exchange_strong(p, 0);
    }
  }
}

void forget_leaderless_groups() {
  for (auto& slot : g_groups) {
    slot.store(0);
  }
}

std::optional<pid_t> pgid_to_real(pid_t virt) {
  if (auto r = pid_to_real(virt)) {
    return r;
  }
  return leaderless_group_real(virt);
}

pid_t pgid_to_virt(pid_t real) {
  pid_t v = pid_to_virt(real);
  if (v != real) {
    return v;
  }
  return leaderless_group_virt(real).value_or(real);
}

}  // namespace dmtcp::pid
