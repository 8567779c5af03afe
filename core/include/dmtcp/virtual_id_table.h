// dmtcp/virtual_id_table.h -- the one table every plugin that virtualizes
// ids uses (pids, timer ids, SysV IPC ids, ...).
//
// The program only ever sees virtual ids; the kernel only ever sees real
// ones.  Virtual and real ids are different C++ types (Id<Tag>), so passing
// one where the other belongs does not compile, and a lookup that finds
// nothing says so (std::optional) instead of quietly handing the id back.
// Handing it back must be asked for by name: to_real_or_same().
//
// Storage is Boost.Container flat maps in the plugin's own memory, so the
// table comes back with the checkpoint image; after a restart a plugin
// calls update_real() for each entry whose kernel id changed.
//
// Thread safety: every member takes an internal spin lock, so wrappers in
// user threads and hooks in the checkpoint thread may use one table at
// once.  Lookups, update_real() and erase() never allocate; add() may
// (malloc): call it from wrappers, not from checkpoint-time hooks, where a
// frozen user thread may hold the malloc lock.  reserve() ahead of time if a
// hook must add.
//
// Lock-free reads (opt in: kLockFreeSlots > 0, a power of two; both ids 32
// bits): to_real_lock_free() answers from a direct-mapped cache of
// kLockFreeSlots pairs, one 64-bit atomic each (virtual id + 1 in the
// high half, real id in the low half), without the spin lock; a miss (an id
// not cached, a slot another id evicted, a negative virtual id) takes
// the locked path and caches what it finds.  The flat maps stay the
// truth: every writer changes both under the lock, so a cached pair is
// always one the maps hold or held an instant ago (a reader racing an
// erase() sees the pair as if it had looked just before).  For ids
// looked up on every call of a hot wrapper (timer ids); costs
// 8 * kLockFreeSlots bytes.
#ifndef DMTCP_VIRTUAL_ID_TABLE_H
#define DMTCP_VIRTUAL_ID_TABLE_H

#include <sched.h>
#include <sys/types.h>

#include <atomic>
#include <boost/container/flat_map.hpp>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace dmtcp {

// A strongly typed id: Id<VirtPidTag> and Id<RealPidTag> do not mix.
template <class Tag, class Rep = int32_t>
struct Id {
  using rep_type = Rep;
  Rep value{};

  constexpr Id() = default;
  constexpr explicit Id(Rep v) : value(v) {}
  friend constexpr auto operator<=>(Id, Id) = default;
  friend constexpr bool operator==(Id, Id) = default;
};

struct VirtPidTag {};
struct RealPidTag {};
using VirtPid = Id<VirtPidTag, pid_t>;
using RealPid = Id<RealPidTag, pid_t>;

template <class Virt, class Real, size_t kLockFreeSlots = 0>
class VirtualIdTable {
  static_assert((kLockFreeSlots & (kLockFreeSlots - 1)) == 0,
                "kLockFreeSlots must be 0 or a power of two");
  static_assert(kLockFreeSlots == 0 || (sizeof(typename Virt::rep_type) == 4 &&
                                        sizeof(typename Real::rep_type) == 4),
                "the lock-free cache packs two 32-bit ids in one word");

 public:
  VirtualIdTable() = default;
  VirtualIdTable(const VirtualIdTable&) = delete;
  VirtualIdTable& operator=(const VirtualIdTable&) = delete;

  // Adds a pair.  False (and no change) when either id is already known.
  bool add(Virt v, Real r) {
    Guard g(lock_);
    if (to_real_.count(v) != 0 || to_virtual_.count(r) != 0) {
      return false;
    }
    to_real_.emplace(v, r);
    to_virtual_.emplace(r, v);
    cache(v, r);
    return true;
  }

  std::optional<Real> to_real(Virt v) const {
    Guard g(lock_);
    auto it = to_real_.find(v);
    if (it == to_real_.end()) {
      return std::nullopt;
    }
    cache(v, it->second);
    return it->second;
  }

  // As to_real(), without the lock when v is cached (see the top).  With
  // kLockFreeSlots == 0 it is to_real().  Never allocates.
  std::optional<Real> to_real_lock_free(Virt v) const {
    if constexpr (kLockFreeSlots > 0) {
      if (v.value >= 0) {
        uint64_t s = slots_[slot_of(v)].load(std::memory_order_acquire);
        if (s >> 32 == tag_of(v)) {
          return Real(
              static_cast<typename Real::rep_type>(static_cast<uint32_t>(s)));
        }
      }
    }
    return to_real(v);
  }

  std::optional<Virt> to_virtual(Real r) const {
    Guard g(lock_);
    auto it = to_virtual_.find(r);
    if (it == to_virtual_.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  // The explicit passthroughs: an id nobody virtualized (e.g. a process
  // outside the computation) keeps its value.
  Real to_real_or_same(Virt v) const {
    auto r = to_real(v);
    return r ? *r : Real(static_cast<typename Real::rep_type>(v.value));
  }
  Virt to_virtual_or_same(Real r) const {
    auto v = to_virtual(r);
    return v ? *v : Virt(static_cast<typename Virt::rep_type>(r.value));
  }

  // After a restart: the object behind v now has kernel id r.  False if v
  // is unknown or r already belongs to another virtual id.  Never
  // allocates.
  bool update_real(Virt v, Real r) {
    Guard g(lock_);
    auto it = to_real_.find(v);
    if (it == to_real_.end()) {
      return false;
    }
    if (it->second == r) {
      return true;
    }
    auto clash = to_virtual_.find(r);
    if (clash != to_virtual_.end()) {
      return false;
    }
    // flat_map keeps keys sorted: take the old reverse entry out, put the
    // new one in.  Capacity is unchanged (one out, one in), so no
    // allocation happens.
    to_virtual_.erase(it->second);
    it->second = r;
    to_virtual_.emplace(r, v);
    cache(v, r);
    return true;
  }

  bool erase(Virt v) {
    Guard g(lock_);
    auto it = to_real_.find(v);
    if (it == to_real_.end()) {
      return false;
    }
    uncache(v);
    to_virtual_.erase(it->second);
    to_real_.erase(it);
    return true;
  }

  // Calls f(Virt, Real) for each pair, in virtual id order, under the lock:
  // f must not call back into this table.
  template <class F>
  void for_each(F&& f) const {
    Guard g(lock_);
    for (const auto& [v, r] : to_real_) {
      f(v, r);
    }
  }

  size_t size() const {
    Guard g(lock_);
    return to_real_.size();
  }

  // Room for n pairs without allocating again.
  void reserve(size_t n) {
    Guard g(lock_);
    to_real_.reserve(n);
    to_virtual_.reserve(n);
  }

  void clear() {
    Guard g(lock_);
    empty_cache();
    to_real_.clear();
    to_virtual_.clear();
  }

 private:
  // The lock-free cache; written only under lock_.  A slot's high half is
  // the virtual id plus one (only ids >= 0 are cached), so 0 is empty and
  // a zero-initialized table (before its constructor, as a global) is
  // already right.
  static constexpr uint64_t kEmptySlot = 0;
  static uint64_t tag_of(Virt v) {
    return uint64_t{static_cast<uint32_t>(v.value)} + 1;
  }
  static constexpr size_t kSlotsStored =
      kLockFreeSlots > 0 ? kLockFreeSlots : 1;
  static size_t slot_of(Virt v) {
    return static_cast<uint32_t>(v.value) & (kSlotsStored - 1);
  }
  void cache(Virt v, Real r) const {
    if constexpr (kLockFreeSlots > 0) {
      if (v.value < 0) {
        return;
      }
      slots_[slot_of(v)].store(
          (tag_of(v) << 32) | static_cast<uint32_t>(r.value),
          std::memory_order_release);
    }
  }
  void uncache(Virt v) {
    if constexpr (kLockFreeSlots > 0) {
      auto& slot = slots_[slot_of(v)];
      if (v.value >= 0 && slot.load() >> 32 == tag_of(v)) {
        slot.store(kEmptySlot, std::memory_order_release);
      }
    }
  }
  void empty_cache() {
    if constexpr (kLockFreeSlots > 0) {
      for (auto& slot : slots_) {
        slot.store(kEmptySlot, std::memory_order_relaxed);
      }
    }
  }

  // A spin lock rather than a pthread mutex: a mutex's owner field holds a
  // kernel tid, which a restart changes; and holders never sleep inside.
  class Guard {
   public:
    explicit Guard(std::atomic_flag& f) : f_(f) {
      while (f_.test_and_set(std::memory_order_acquire)) {
        sched_yield();
      }
    }
    ~Guard() { f_.clear(std::memory_order_release); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    std::atomic_flag& f_;
  };

  // Protects: to_real_, to_virtual_.
  mutable std::atomic_flag lock_ = ATOMIC_FLAG_INIT;
  boost::container::flat_map<Virt, Real> to_real_;
  boost::container::flat_map<Real, Virt> to_virtual_;
  // Protects nothing: written under lock_, read without it.
  mutable std::atomic<uint64_t> slots_[kSlotsStored] = {};
};

}  // namespace dmtcp

#endif  // DMTCP_VIRTUAL_ID_TABLE_H
