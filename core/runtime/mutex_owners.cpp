// Algorithm (docs/threads.md, "Mutex owners"):
//  1. Lock wrappers put every mutex of a kind that records its owner (and
//     is not robust) in the calling thread's set before the lock call, and
//     take it out when a call fails or an unlock lets go of it.  A set entry
//     may be stale (a checkpoint between the unlock and the removal, or a
//     condition wait that released it for a while); rewriting is guarded by
//     the old tid, so a stale entry rewrites nothing.
//  2. Restart: the checkpoint thread calls begin_restart(); it and every
//     restored thread call add_thread() with their old and new tid.
//  3. rewrite_all() (checkpoint thread, every other thread parked): for
//     each thread, each mutex in its set and each entry of its robust list
//     (and its list_op_pending) whose __owner or lock-word tid is the
//     thread's old tid gets its new tid (lock word: waiter and owner-died
//     bits kept).  All decisions are taken from the values as they were
//     before the first write, so a new tid that equals another thread's old
//     tid cannot make a mutex be rewritten twice.
//  4. g_restarts is bumped: lock calls that waited across the restart
//     claim() what they got (glibc recorded the tid it read on entry).
#include "runtime/mutex_owners.h"

#include <dlfcn.h>
#include <link.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <climits>
#include <cstddef>
#include <cstring>

#include "common/log.h"
#include "dmtcp/raw_syscall.h"
#include "runtime/glibc_tcb.h"

namespace dmtcp::mutex_owners {

std::atomic<uint32_t> g_restarts{0};
thread_local HeldSet tls_held;

namespace {

constexpr uint32_t kMaxThreads = 8192 + 1;  // threads.cpp's pool + ours
constexpr uint32_t kMaxRobust = 4096;       // robust-list walk bound
constexpr int kInconsistent = INT_MAX;      // PTHREAD_MUTEX_INCONSISTENT
constexpr int kNotRecoverable = INT_MAX - 1;

static_assert(offsetof(pthread_mutex_t, __data.__lock) == 0);
static_assert(offsetof(pthread_mutex_t, __data.__owner) == 8);
static_assert(offsetof(pthread_mutex_t, __data.__kind) == 16);
static_assert(offsetof(pthread_mutex_t, __data.__list.__next) == 32);

std::atomic<bool> g_overflow_warned{false};

struct Restored {
  pid_t old_tid;
  pid_t new_tid;
  uint64_t robust_head;
  const HeldSet* held;
};
Restored g_restored[kMaxThreads];
std::atomic<uint32_t> g_num_restored{0};

// The kernel's struct robust_list_head.
struct RobustHead {
  uint64_t list;
  int64_t futex_offset;
  uint64_t list_op_pending;
};

struct MutexWords {
  uint32_t lock;
  uint32_t count;
  int32_t owner;
  uint32_t nusers;
  int32_t kind;
};

// One word to rewrite, decided from the values before any rewrite.
struct Job {
  uint32_t* word;
  uint32_t expect;
  uint32_t want;
};

// Reads our own memory without faulting on a bad pointer (a corrupt robust
// list, a stale set entry whose memory is gone).
bool read_mem(uint64_t addr, void* out, size_t len) {
  iovec local{out, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  // Raw: the pid plugin's process_vm_readv takes virtual pids.
  return dmtcp::raw::syscall6(SYS_process_vm_readv, tcb::getpid_raw(),
                              reinterpret_cast<long>(&local), 1,
                              reinterpret_cast<long>(&remote), 1,
                              0) == static_cast<long>(len);
}

// Calls emit(word, expect, want) for each word of m that names `t`'s old
// tid.  from_list: m came from a robust list, so it must be robust.
template <class Emit>
void visit_mutex(uint64_t m, const Restored& t, bool from_list, Emit& emit) {
  MutexWords w;
  if (m == 0 || !read_mem(m, &w, sizeof w)) {
    return;
  }
  int type = w.kind & kTypeMask;
  if (!records_owner(type) || (from_list && (type & kRobust) == 0)) {
    return;
  }
  auto* base = reinterpret_cast<pthread_mutex_t*>(m);
  if (w.owner == t.old_tid) {
    emit(reinterpret_cast<uint32_t*>(&base->__data.__owner),
         static_cast<uint32_t>(t.old_tid), static_cast<uint32_t>(t.new_tid));
  }
  if (tid_in_lock_word(type) &&
      (w.lock & FUTEX_TID_MASK) == static_cast<uint32_t>(t.old_tid)) {
    emit(reinterpret_cast<uint32_t*>(&base->__data.__lock), w.lock,
         (w.lock & ~FUTEX_TID_MASK) | static_cast<uint32_t>(t.new_tid));
  }
}

// Entries point at the mutex's __list.__next; bit 0 marks a PI mutex.
template <class Emit>
void visit_robust_list(const Restored& t, Emit& emit) {
  RobustHead head;
  if (t.robust_head == 0 || !read_mem(t.robust_head, &head, sizeof head)) {
    return;
  }
  auto mutex_at = [&](uint64_t entry) {
    entry &= ~uint64_t{1};
    return entry == 0 ? 0 : entry + head.futex_offset;  // futex = __lock
  };
  uint64_t entry = head.list & ~uint64_t{1};
  uint32_t n = 0;
  while (entry != t.robust_head && entry != 0) {
    if (++n > kMaxRobust) {
      DMTCP_WARN("robust list of thread %d: stopped after %u entries",
                 t.new_tid, kMaxRobust);
      break;
    }
    visit_mutex(mutex_at(entry), t, true, emit);
    uint64_t next = 0;
    if (!read_mem(entry, &next, sizeof next)) {
      DMTCP_WARN("robust list of thread %d is corrupt at %#lx", t.new_tid,
                 static_cast<unsigned long>(entry));
      break;
    }
    entry = next & ~uint64_t{1};
  }
  visit_mutex(mutex_at(head.list_op_pending), t, true, emit);
}

// ld.so's _rtld_global (find_loader_locks).
uint64_t g_loader_base = 0;
size_t g_loader_len = 0;

// The loader's recursive locks held by t at the checkpoint: a recursive
// kind, locked, counted, used, owned by t's old tid.  All five must agree,
// so other data in the range cannot pass for one.
template <class Emit>
void visit_loader_locks(const Restored& t, Emit& emit) {
  for (size_t off = 0; off + sizeof(MutexWords) <= g_loader_len; off += 8) {
    MutexWords w;
    memcpy(&w, reinterpret_cast<const void*>(g_loader_base + off), sizeof w);
    if ((w.kind & kTypeMask) == kKindRecursive && w.owner == t.old_tid &&
        (w.lock == 1 || w.lock == 2) && w.count >= 1 && w.nusers >= 1) {
      visit_mutex(g_loader_base + off, t, false, emit);
    }
  }
}

template <class Emit>
void visit_all(Emit& emit) {
  uint32_t n = g_num_restored.load();
  for (uint32_t i = 0; i < n; ++i) {
    const Restored& t = g_restored[i];
    if (t.old_tid == t.new_tid) {
      continue;
    }
    uint32_t held = t.held->count < kMaxHeld ? t.held->count : kMaxHeld;
    for (uint32_t j = 0; j < held; ++j) {
      visit_mutex(reinterpret_cast<uint64_t>(t.held->mutexes[j]), t, false,
                  emit);
    }
    visit_robust_list(t, emit);
    visit_loader_locks(t, emit);
  }
}

}  // namespace

bool set_full() {
  if (!g_overflow_warned.exchange(true)) {
    int saved_errno = errno;
    DMTCP_WARN(
        "a thread holds more than %u recursive/errorcheck/PI mutexes: the "
        "others keep a stale owner after a restart",
        kMaxHeld);
    errno = saved_errno;
  }
  return false;
}

void claim(pthread_mutex_t* m) {
  auto me = static_cast<uint32_t>(*tcb::tid_address(pthread_self()));
  int type = mutex_type(m);
  int owner = __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED);
  if (owner != 0 && owner != static_cast<int>(me) && owner != kInconsistent &&
      owner != kNotRecoverable) {
    __atomic_compare_exchange_n(&m->__data.__owner, &owner,
                                static_cast<int>(me), false, __ATOMIC_RELAXED,
                                __ATOMIC_RELAXED);
  }
  if (!tid_in_lock_word(type)) {
    return;
  }
  auto* word = reinterpret_cast<uint32_t*>(&m->__data.__lock);
  uint32_t lock = __atomic_load_n(word, __ATOMIC_RELAXED);
  // Waiters may set FUTEX_WAITERS meanwhile: retry until our tid is in.
  while ((lock & FUTEX_TID_MASK) != 0 && (lock & FUTEX_TID_MASK) != me) {
    uint32_t want = (lock & ~FUTEX_TID_MASK) | me;
    if (__atomic_compare_exchange_n(word, &lock, want, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      break;
    }
  }
}

void find_loader_locks() {
  void* p = dlsym(RTLD_DEFAULT, "_rtld_global");
  Dl_info info{};
  void* entry = nullptr;  // the symbol's ElfW(Sym)
  if (p != nullptr && dladdr1(p, &info, &entry, RTLD_DL_SYMENT) != 0 &&
      entry != nullptr) {
    g_loader_base = reinterpret_cast<uint64_t>(p);
    g_loader_len = static_cast<const ElfW(Sym)*>(entry)->st_size;
  }
}

void begin_restart() {
  g_num_restored.store(0);
}

void add_thread(pid_t old_tid, pid_t new_tid, uint64_t robust_head) {
  uint32_t i = g_num_restored.fetch_add(1);
  DMTCP_ASSERT(i < kMaxThreads, "more than %u restored threads", kMaxThreads);
  g_restored[i] = Restored{old_tid, new_tid, robust_head, &tls_held};
}

void rewrite_all() {
  size_t njobs = 0;
  auto count = [&](uint32_t*, uint32_t, uint32_t) { ++njobs; };
  visit_all(count);
  if (njobs != 0) {
    // No malloc on the restart path: a frozen thread may hold its lock.
    size_t len = njobs * sizeof(Job);
    void* mem = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    DMTCP_ASSERT(mem != MAP_FAILED, "mmap %zu bytes for %zu mutex owners", len,
                 njobs);
    auto* jobs = static_cast<Job*>(mem);
    size_t filled = 0;
    auto fill = [&](uint32_t* word, uint32_t expect, uint32_t want) {
      if (filled < njobs) {
        jobs[filled++] = Job{word, expect, want};
      }
    };
    visit_all(fill);
    // A CAS: a process sharing the mutex may have changed it meanwhile, and
    // a duplicate (list_op_pending is often also on the list) finds it done.
    for (size_t i = 0; i < filled; ++i) {
      uint32_t expect = jobs[i].expect;
      __atomic_compare_exchange_n(jobs[i].word, &expect, jobs[i].want, false,
                                  __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    DMTCP_DEBUG("rewrote %zu mutex owner words", filled);
    munmap(mem, len);
  }
  g_restarts.fetch_add(1, std::memory_order_release);
}

}  // namespace dmtcp::mutex_owners
