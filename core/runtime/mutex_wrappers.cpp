// Wrappers of the calls that lock and unlock a mutex, so that mutexes that
// record their owner's tid stay right across a restart (mutex_owners.h;
// docs/threads.md, "Mutex owners").
//
// Fast path: one load of the mutex's __kind, which the real call reads
// next anyway; a plain (timed or adaptive) mutex goes straight through.  For
// the other kinds a lock call adds the mutex to the thread's set first and
// removes it if the call fails; an unlock that lets go of it removes it; a
// call during which the process was restarted claims what it returns with
// (glibc wrote the tid it read on entry).  No checkpoint lock is taken: a
// checkpoint at any point leaves at worst a stale set entry, which rewrites
// nothing.
//
// pthread_cond_* exist in two versions on x86_64; we wrap the default one
// (GLIBC_2.3.2), which is what any program linked since 2003 calls.
#include <dlfcn.h>
#include <pthread.h>
#include <threads.h>
#include <time.h>

#include <cerrno>

#include "common/log.h"
#include "runtime/mutex_owners.h"

namespace mo = dmtcp::mutex_owners;

namespace {

// name, symbol version (nullptr: default), return type, parameters, args.
#define DMTCP_MUTEX_FNS(X)                                                    \
  X(pthread_mutex_lock, nullptr, int, (pthread_mutex_t * m), (m))             \
  X(pthread_mutex_trylock, nullptr, int, (pthread_mutex_t * m), (m))          \
  X(pthread_mutex_timedlock, nullptr, int,                                    \
    (pthread_mutex_t * m, const timespec* ts), (m, ts))                       \
  X(pthread_mutex_clocklock, nullptr, int,                                    \
    (pthread_mutex_t * m, clockid_t clock, const timespec* ts),               \
    (m, clock, ts))                                                           \
  X(pthread_mutex_unlock, nullptr, int, (pthread_mutex_t * m), (m))           \
  X(pthread_cond_wait, "GLIBC_2.3.2", int,                                    \
    (pthread_cond_t * cv, pthread_mutex_t * m), (cv, m))                      \
  X(pthread_cond_timedwait, "GLIBC_2.3.2", int,                               \
    (pthread_cond_t * cv, pthread_mutex_t * m, const timespec* ts),           \
    (cv, m, ts))                                                              \
  X(pthread_cond_clockwait, nullptr, int,                                     \
    (pthread_cond_t * cv, pthread_mutex_t * m, clockid_t clock,               \
     const timespec* ts),                                                     \
    (cv, m, clock, ts))                                                       \
  X(mtx_lock, nullptr, int, (mtx_t * m), (m))                                 \
  X(mtx_trylock, nullptr, int, (mtx_t * m), (m))                              \
  X(mtx_timedlock, nullptr, int, (mtx_t * m, const timespec* ts), (m, ts))    \
  X(mtx_unlock, nullptr, int, (mtx_t * m), (m))                               \
  X(cnd_wait, nullptr, int, (cnd_t * cv, mtx_t * m), (cv, m))                 \
  X(cnd_timedwait, nullptr, int, (cnd_t * cv, mtx_t * m, const timespec* ts), \
    (cv, m, ts))

void resolve_all();

// Until resolve_all() has run (another library's constructor may lock a
// mutex before ours runs), each pointer is a stub that resolves them all
// and calls through: no "resolved yet?" test on the fast path.
#define DMTCP_STUB(name, version, ret, params, args) ret first_##name params;
DMTCP_MUTEX_FNS(DMTCP_STUB)
#undef DMTCP_STUB

struct Next {
#define DMTCP_FIELD(name, version, ret, params, args) \
  ret(*name) params = first_##name;
  DMTCP_MUTEX_FNS(DMTCP_FIELD)
#undef DMTCP_FIELD
};
Next g_next;

#define DMTCP_STUB(name, version, ret, params, args) \
  ret first_##name params {                          \
    resolve_all();                                   \
    return g_next.name args;                         \
  }
DMTCP_MUTEX_FNS(DMTCP_STUB)
#undef DMTCP_STUB

void* resolve(const char* name, const char* version) {
  void* p = version != nullptr ? dlvsym(RTLD_NEXT, name, version) : nullptr;
  if (p == nullptr) {
    p = dlsym(RTLD_NEXT, name);
  }
  DMTCP_ASSERT(p != nullptr, "libc has no %s", name);
  return p;
}

void resolve_all() {
  int saved_errno = errno;
#define DMTCP_RESOLVE(name, version, ret, params, args) \
  g_next.name = reinterpret_cast<ret(*) params>(resolve(#name, version));
  DMTCP_MUTEX_FNS(DMTCP_RESOLVE)
#undef DMTCP_RESOLVE
  errno = saved_errno;
}

__attribute__((constructor(101))) void resolve_at_load() {
  resolve_all();
}

pthread_mutex_t* as_pthread(mtx_t* m) {
  return reinterpret_cast<pthread_mutex_t*>(m);
}

// A lock call on a tracked mutex.  ok: the call returned it locked.
template <class Call>
__attribute__((noinline)) int lock_tracked(pthread_mutex_t* m, int type,
                                           Call call, bool (*ok)(int)) {
  uint32_t restarts = mo::g_restarts.load(std::memory_order_relaxed);
  bool added = mo::tracked_in_set(type) && mo::add_held(m);
  int r = call();
  if (!ok(r)) {
    if (added) {
      mo::remove_held(m);
    }
    return r;
  }
  if (mo::g_restarts.load(std::memory_order_acquire) != restarts) {
    mo::claim(m);
  }
  return r;
}

// An unlock of a tracked mutex: it stays ours while a recursive count is
// left.  The count is read before: afterwards the mutex may be gone.
template <class Call>
__attribute__((noinline)) int unlock_tracked(pthread_mutex_t* m, int type,
                                             Call call, int success) {
  bool keeps =
      (type & mo::kKindMask) == mo::kKindRecursive && m->__data.__count > 1;
  int r = call();
  if (r == success && !keeps) {
    mo::remove_held(m);
  }
  return r;
}

// A condition wait: returns (except on a usage error) holding the mutex,
// which stays in the set meanwhile.
template <class Call>
__attribute__((noinline)) int wait_tracked(pthread_mutex_t* m, int type,
                                           Call call, bool (*holds)(int)) {
  uint32_t restarts = mo::g_restarts.load(std::memory_order_relaxed);
  int r = call();
  if (holds(r)) {
    if (mo::tracked_in_set(type)) {
      mo::add_held(m);
    }
    if (mo::g_restarts.load(std::memory_order_acquire) != restarts) {
      mo::claim(m);
    }
  }
  return r;
}

bool pthread_locked(int r) {
  return r == 0 || r == EOWNERDEAD;
}
bool pthread_wait_holds(int r) {
  return r != EPERM && r != EINVAL && r != ENOTRECOVERABLE;
}
bool c11_locked(int r) {
  return r == thrd_success;
}
bool c11_wait_holds(int r) {
  return r == thrd_success || r == thrd_timedout;
}

}  // namespace

#define DMTCP_EXPORT extern "C" __attribute__((visibility("default")))
// Fast path: a mutex whose owner glibc does not record (for an unlock:
// that is not in the set) goes straight through.
#define DMTCP_IF_PLAIN(m, call)                        \
  int type = mo::mutex_type(m);                        \
  if (__builtin_expect(!mo::records_owner(type), 1)) { \
    return call;                                       \
  }
#define DMTCP_IF_UNTRACKED(m, call)                     \
  int type = mo::mutex_type(m);                         \
  if (__builtin_expect(!mo::tracked_in_set(type), 1)) { \
    return call;                                        \
  }

DMTCP_EXPORT int pthread_mutex_lock(pthread_mutex_t* m) {
  DMTCP_IF_PLAIN(m, g_next.pthread_mutex_lock(m));
  return lock_tracked(
      m, type, [=] { return g_next.pthread_mutex_lock(m); }, pthread_locked);
}

DMTCP_EXPORT int pthread_mutex_trylock(pthread_mutex_t* m) {
  DMTCP_IF_PLAIN(m, g_next.pthread_mutex_trylock(m));
  return lock_tracked(
      m, type, [=] { return g_next.pthread_mutex_trylock(m); }, pthread_locked);
}

DMTCP_EXPORT int pthread_mutex_timedlock(pthread_mutex_t* m,
                                         const timespec* ts) {
  DMTCP_IF_PLAIN(m, g_next.pthread_mutex_timedlock(m, ts));
  return lock_tracked(
      m, type, [=] { return g_next.pthread_mutex_timedlock(m, ts); },
      pthread_locked);
}

DMTCP_EXPORT int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t clock,
                                         const timespec* ts) {
  DMTCP_IF_PLAIN(m, g_next.pthread_mutex_clocklock(m, clock, ts));
  return lock_tracked(
      m, type, [=] { return g_next.pthread_mutex_clocklock(m, clock, ts); },
      pthread_locked);
}

DMTCP_EXPORT int pthread_mutex_unlock(pthread_mutex_t* m) {
  DMTCP_IF_UNTRACKED(m, g_next.pthread_mutex_unlock(m));
  return unlock_tracked(
      m, type, [=] { return g_next.pthread_mutex_unlock(m); }, 0);
}

DMTCP_EXPORT int pthread_cond_wait(pthread_cond_t* cv, pthread_mutex_t* m) {
  DMTCP_IF_PLAIN(m, g_next.pthread_cond_wait(cv, m));
  return wait_tracked(
      m, type, [=] { return g_next.pthread_cond_wait(cv, m); },
      pthread_wait_holds);
}

DMTCP_EXPORT int pthread_cond_timedwait(pthread_cond_t* cv, pthread_mutex_t* m,
                                        const timespec* ts) {
  DMTCP_IF_PLAIN(m, g_next.pthread_cond_timedwait(cv, m, ts));
  return wait_tracked(
      m, type, [=] { return g_next.pthread_cond_timedwait(cv, m, ts); },
      pthread_wait_holds);
}

DMTCP_EXPORT int pthread_cond_clockwait(pthread_cond_t* cv, pthread_mutex_t* m,
                                        clockid_t clock, const timespec* ts) {
  DMTCP_IF_PLAIN(m, g_next.pthread_cond_clockwait(cv, m, clock, ts));
  return wait_tracked(
      m, type, [=] { return g_next.pthread_cond_clockwait(cv, m, clock, ts); },
      pthread_wait_holds);
}

// C11 mutexes are glibc mutexes (mtx_recursive is a recursive one).
DMTCP_EXPORT int mtx_lock(mtx_t* m) {
  DMTCP_IF_PLAIN(as_pthread(m), g_next.mtx_lock(m));
  return lock_tracked(
      as_pthread(m), type, [=] { return g_next.mtx_lock(m); }, c11_locked);
}

DMTCP_EXPORT int mtx_trylock(mtx_t* m) {
  DMTCP_IF_PLAIN(as_pthread(m), g_next.mtx_trylock(m));
  return lock_tracked(
      as_pthread(m), type, [=] { return g_next.mtx_trylock(m); }, c11_locked);
}

DMTCP_EXPORT int mtx_timedlock(mtx_t* m, const timespec* ts) {
  DMTCP_IF_PLAIN(as_pthread(m), g_next.mtx_timedlock(m, ts));
  return lock_tracked(
      as_pthread(m), type, [=] { return g_next.mtx_timedlock(m, ts); },
      c11_locked);
}

DMTCP_EXPORT int mtx_unlock(mtx_t* m) {
  DMTCP_IF_UNTRACKED(as_pthread(m), g_next.mtx_unlock(m));
  return unlock_tracked(
      as_pthread(m), type, [=] { return g_next.mtx_unlock(m); }, thrd_success);
}

DMTCP_EXPORT int cnd_wait(cnd_t* cv, mtx_t* m) {
  DMTCP_IF_PLAIN(as_pthread(m), g_next.cnd_wait(cv, m));
  return wait_tracked(
      as_pthread(m), type, [=] { return g_next.cnd_wait(cv, m); },
      c11_wait_holds);
}

DMTCP_EXPORT int cnd_timedwait(cnd_t* cv, mtx_t* m, const timespec* ts) {
  DMTCP_IF_PLAIN(as_pthread(m), g_next.cnd_timedwait(cv, m, ts));
  return wait_tracked(
      as_pthread(m), type, [=] { return g_next.cnd_timedwait(cv, m, ts); },
      c11_wait_holds);
}
