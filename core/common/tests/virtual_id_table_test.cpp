#define BOOST_TEST_MODULE virtual_id_table
#include "dmtcp/virtual_id_table.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <new>
#include <thread>
#include <type_traits>
#include <vector>

using dmtcp::RealPid;
using dmtcp::VirtPid;
using Table = dmtcp::VirtualIdTable<VirtPid, RealPid>;

// Counts allocations, to check the calls documented as allocation-free.
// The replacement operators pair malloc with free on purpose; GCC cannot
// see that new and delete below belong together.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<long> g_allocations{0};
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1);
  if (void* p = std::malloc(n != 0 ? n : 1)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

BOOST_AUTO_TEST_CASE(virtual_and_real_ids_are_different_types) {
  static_assert(!std::is_convertible_v<VirtPid, RealPid>);
  static_assert(!std::is_convertible_v<RealPid, VirtPid>);
  static_assert(!std::is_convertible_v<pid_t, VirtPid>);
  BOOST_TEST((VirtPid(3) < VirtPid(4)));
  BOOST_TEST((RealPid(7) == RealPid(7)));
}

BOOST_AUTO_TEST_CASE(lookups_go_both_ways_and_say_when_nothing_is_known) {
  Table t;
  BOOST_TEST(t.add(VirtPid(100), RealPid(5000)));
  BOOST_TEST(t.add(VirtPid(101), RealPid(5001)));
  BOOST_TEST(t.to_real(VirtPid(100)).value().value == 5000);
  BOOST_TEST(t.to_virtual(RealPid(5001)).value().value == 101);
  BOOST_TEST(!t.to_real(VirtPid(102)).has_value());
  BOOST_TEST(!t.to_virtual(RealPid(100)).has_value());
  BOOST_TEST(t.size() == 2u);
}

BOOST_AUTO_TEST_CASE(passthrough_only_when_asked_for_by_name) {
  Table t;
  t.add(VirtPid(10), RealPid(20));
  BOOST_TEST(t.to_real_or_same(VirtPid(10)).value == 20);
  BOOST_TEST(t.to_real_or_same(VirtPid(11)).value == 11);
  BOOST_TEST(t.to_virtual_or_same(RealPid(20)).value == 10);
  BOOST_TEST(t.to_virtual_or_same(RealPid(99)).value == 99);
}

BOOST_AUTO_TEST_CASE(duplicates_are_refused_without_change) {
  Table t;
  BOOST_TEST(t.add(VirtPid(1), RealPid(2)));
  BOOST_TEST(!t.add(VirtPid(1), RealPid(3)));  // virtual id taken
  BOOST_TEST(!t.add(VirtPid(4), RealPid(2)));  // real id taken
  BOOST_TEST(t.size() == 1u);
  BOOST_TEST(t.to_real(VirtPid(1)).value().value == 2);
  BOOST_TEST(!t.to_virtual(RealPid(3)).has_value());
}

BOOST_AUTO_TEST_CASE(update_after_restart_moves_the_reverse_entry) {
  Table t;
  t.add(VirtPid(100), RealPid(5000));
  t.add(VirtPid(200), RealPid(6000));
  BOOST_TEST(t.update_real(VirtPid(100), RealPid(7000)));
  BOOST_TEST(t.to_real(VirtPid(100)).value().value == 7000);
  BOOST_TEST(t.to_virtual(RealPid(7000)).value().value == 100);
  BOOST_TEST(!t.to_virtual(RealPid(5000)).has_value());
  // A real id that another virtual id owns is refused.
  BOOST_TEST(!t.update_real(VirtPid(100), RealPid(6000)));
  BOOST_TEST(t.to_real(VirtPid(100)).value().value == 7000);
  BOOST_TEST(!t.update_real(VirtPid(300), RealPid(1)));
  BOOST_TEST(t.update_real(VirtPid(200), RealPid(6000)));  // unchanged: ok
}

BOOST_AUTO_TEST_CASE(lookups_updates_and_erase_do_not_allocate) {
  Table t;
  t.reserve(64);
  for (int i = 0; i < 64; ++i) {
    t.add(VirtPid(i), RealPid(1000 + i));
  }
  long before = g_allocations.load();
  for (int i = 0; i < 64; ++i) {
    BOOST_TEST(t.to_real(VirtPid(i)).has_value());
    BOOST_TEST(t.to_virtual(RealPid(1000 + i)).has_value());
    BOOST_TEST(t.update_real(VirtPid(i), RealPid(5000 + i)));
  }
  BOOST_TEST(t.erase(VirtPid(3)));
  BOOST_TEST(!t.erase(VirtPid(3)));
  BOOST_TEST(t.add(VirtPid(3), RealPid(9)));  // reserved: no allocation
  BOOST_TEST(g_allocations.load() == before);
}

BOOST_AUTO_TEST_CASE(for_each_visits_every_pair_in_order) {
  Table t;
  t.add(VirtPid(3), RealPid(30));
  t.add(VirtPid(1), RealPid(10));
  t.add(VirtPid(2), RealPid(20));
  std::vector<int> seen;
  t.for_each([&](VirtPid v, RealPid r) {
    BOOST_TEST(r.value == v.value * 10);
    seen.push_back(v.value);
  });
  BOOST_TEST((seen == std::vector<int>{1, 2, 3}));
  t.clear();
  BOOST_TEST(t.size() == 0u);
}

BOOST_AUTO_TEST_CASE(safe_from_several_threads_at_once) {
  Table t;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::atomic<bool> bad{false};
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < kPerThread; ++i) {
        int v = k * kPerThread + i;
        if (!t.add(VirtPid(v), RealPid(100000 + v))) {
          bad = true;
        }
        auto r = t.to_real(VirtPid(v));
        if (!r || r->value != 100000 + v) {
          bad = true;
        }
        if (i % 3 == 0 && !t.update_real(VirtPid(v), RealPid(900000 + v))) {
          bad = true;
        }
        if (i % 5 == 0 && !t.erase(VirtPid(v))) {
          bad = true;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  BOOST_TEST(!bad.load());
  size_t expected = 0;
  for (int i = 0; i < kPerThread; ++i) {
    expected += i % 5 != 0 ? 1 : 0;
  }
  BOOST_TEST(t.size() == expected * kThreads);
  // Both directions agree for every survivor.
  for (int k = 0; k < kThreads; ++k) {
    for (int i = 0; i < kPerThread; ++i) {
      int v = k * kPerThread + i;
      auto r = t.to_real(VirtPid(v));
      BOOST_TEST(r.has_value() == (i % 5 != 0));
      if (r) {
        BOOST_TEST(r->value == (i % 3 == 0 ? 900000 : 100000) + v);
        BOOST_TEST(t.to_virtual(*r).value().value == v);
      }
    }
  }
}

// The lock-free cache (kLockFreeSlots > 0) always answers what the locked
// maps answer: after add, collisions in one slot, update_real, erase,
// clear, and for ids it never caches (negative ones).
using Cached = dmtcp::VirtualIdTable<VirtPid, RealPid, 4>;

BOOST_AUTO_TEST_CASE(lock_free_lookups_agree_with_the_locked_ones) {
  Cached t;
  auto agree = [&](int v) {
    auto a = t.to_real(VirtPid(v));
    auto b = t.to_real_lock_free(VirtPid(v));
    BOOST_TEST(a.has_value() == b.has_value());
    if (a && b) {
      BOOST_TEST(a->value == b->value);
    }
  };
  BOOST_TEST(!t.to_real_lock_free(VirtPid(1)).has_value());
  BOOST_TEST(t.add(VirtPid(1), RealPid(11)));
  BOOST_TEST(t.add(VirtPid(5), RealPid(15)));  // same slot as 1: evicts it
  BOOST_TEST(t.add(VirtPid(-3), RealPid(13)));  // never cached
  BOOST_TEST(t.to_real_lock_free(VirtPid(1)).value().value == 11);
  BOOST_TEST(t.to_real_lock_free(VirtPid(5)).value().value == 15);
  BOOST_TEST(t.to_real_lock_free(VirtPid(-3)).value().value == 13);
  BOOST_TEST(t.update_real(VirtPid(5), RealPid(-6)));  // a tombstone
  BOOST_TEST(t.to_real_lock_free(VirtPid(5)).value().value == -6);
  BOOST_TEST(t.erase(VirtPid(1)));
  BOOST_TEST(!t.to_real_lock_free(VirtPid(1)).has_value());
  for (int v : {1, 5, -3, 9, 0}) {
    agree(v);
  }
  t.clear();
  for (int v : {1, 5, -3}) {
    BOOST_TEST(!t.to_real_lock_free(VirtPid(v)).has_value());
  }
}

BOOST_AUTO_TEST_CASE(lock_free_lookups_do_not_allocate) {
  Cached t;
  t.reserve(8);
  t.add(VirtPid(2), RealPid(20));
  long before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    BOOST_TEST(t.to_real_lock_free(VirtPid(2)).value().value == 20);
    BOOST_TEST(!t.to_real_lock_free(VirtPid(6 + 4 * i)).has_value());
  }
  BOOST_TEST(g_allocations.load() == before);
}

// Readers without the lock never see a wrong pair while writers add,
// erase and update ids that share their slot.
BOOST_AUTO_TEST_CASE(lock_free_reads_race_writers_safely) {
  Cached t;
  for (int v = 0; v < 4; ++v) {
    t.add(VirtPid(v), RealPid(1000 + v));
  }
  std::atomic<bool> stop{false}, bad{false};
  std::thread writer([&] {
    for (int i = 0; i < 20000; ++i) {
      int v = 4 + i % 64;  // same slots as 0..3
      t.add(VirtPid(v), RealPid(5000 + v));
      t.update_real(VirtPid(v), RealPid(9000 + v));
      t.erase(VirtPid(v));
    }
    stop = true;
  });
  std::vector<std::thread> readers;
  for (int k = 0; k < 2; ++k) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        for (int v = 0; v < 4; ++v) {
          auto r = t.to_real_lock_free(VirtPid(v));
          if (!r || r->value != 1000 + v) {
            bad = true;
          }
        }
      }
    });
  }
  writer.join();
  for (auto& th : readers) {
    th.join();
  }
  BOOST_TEST(!bad.load());
}
