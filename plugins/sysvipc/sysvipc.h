// sysvipc.h -- what the sysvipc plugin's files share: raw system calls,
// the per-kind registry of objects the process knows, and the steps every
// kind (shm, sem, msg) takes at checkpoint and restart.  The algorithm is
// at the top of sysvipc_events.cpp; the design in docs/sysvipc.md.
#pragma once

#include <sys/ipc.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "dmtcp/raw_syscall.h"
#include "dmtcp/plugin.h"
#include "dmtcp/virtual_id_table.h"

#define DMTCP_SYSVIPC_EXPORT extern "C" __attribute__((visibility("default")))

namespace dmtcp::sysvipc {

// --- raw system calls ----------------------------------------------------
// Hooks make their calls straight to the kernel: past every wrapper (ours
// included) and without libc's cancellation points.  Returns -errno.
inline long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0,
                long e = 0, long f = 0) {
  return dmtcp::raw::syscall6(n, a, b, c, d, e, f);
}

// Our virtual pid (the pid plugin's table; the identity without it).
pid_t self_vpid();

// True once this process (or the one it was forked from) came back from
// an image: unknown ids are then not assumed to be the kernel's.
extern bool g_after_restart;
// Set at INIT (and POST_EXEC): before it wrappers pass straight through.
extern bool g_active;

// Keeps errno across work done after the real call.
class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }
  ErrnoKeeper(const ErrnoKeeper&) = delete;
  ErrnoKeeper& operator=(const ErrnoKeeper&) = delete;

 private:
  int saved_;
};

// No checkpoint begins while a wrapper changes a table (RAII over
// DMTCP_PLUGIN_DISABLE_CKPT): hooks never meet a half-made entry, nor a
// lock a frozen thread holds.
class CkptGuard {
 public:
  CkptGuard() { dmtcp_plugin_disable_ckpt(); }
  ~CkptGuard() { dmtcp_plugin_enable_ckpt(); }
  CkptGuard(const CkptGuard&) = delete;
  CkptGuard& operator=(const CkptGuard&) = delete;
};

// A spin lock: a pthread mutex's owner is a kernel tid, which a restart
// changes.
class SpinLock {
 public:
  void lock() {
    while (flag_.test_and_set(std::memory_order_acquire)) {
      sched_yield();
    }
  }
  void unlock() { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

class SpinGuard {
 public:
  explicit SpinGuard(SpinLock& l) : l_(l) { l_.lock(); }
  ~SpinGuard() { l_.unlock(); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  SpinLock& l_;
};

// --- the objects a process knows, per kind --------------------------------
// Every id the program got from *get() or used in a call, with what the
// checkpoint saves of it.  Obj derives from ObjectBase.  Fixed capacity in
// the plugin's memory (it comes back with the image; hooks never
// allocate); a full registry is logged once and the object is not saved.
//
// Thread safety: lock_ guards the slots; wrappers change them inside a
// CkptGuard, so hooks (user threads frozen, no thread inside a wrapper)
// read them without the lock.
struct ObjectBase {
  bool used = false;
  int virt = -1;
  int real = -1;  // the kernel's id now
  int ckpt_real = -1;  // the kernel's id at the last checkpoint (its name
                       // in publish/subscribe, with g_ckpt_domain)
  key_t key = IPC_PRIVATE;
  long ckpt_ctime = 0;  // its ctime at the last checkpoint (saver only)
  bool saver = false;  // this process saves and re-makes it (this round)
};

template <class Obj, int kCap>
class Registry {
 public:
  Obj* find(int virt) {
    SpinGuard g(lock_);
    return find_locked(virt);
  }

  // The entry for virt, made if new.  nullptr when full.
  Obj* add(int virt, int real, key_t key) {
    SpinGuard g(lock_);
    Obj* o = find_locked(virt);
    if (o != nullptr) {
      o->real = real;
      if (key != IPC_PRIVATE) {
        o->key = key;
      }
      return o;
    }
    for (auto& s : slots_) {
      if (!s.used) {
        s = Obj{};
        s.used = true;
        s.virt = virt;
        s.real = real;
        s.key = key;
        return &s;
      }
    }
    if (!full_logged_) {
      full_logged_ = true;
      dmtcp_log("sysvipc: more than %d objects of one kind: later ones are "
                "not saved",
                kCap);
    }
    return nullptr;
  }

  void erase(Obj* o) {
    SpinGuard g(lock_);
    *o = Obj{};
  }

  // Hooks only (no lock: see above).
  template <class F>
  void for_each(F&& f) {
    for (auto& s : slots_) {
      if (s.used) {
        f(s);
      }
    }
  }

 private:
  Obj* find_locked(int virt) {
    for (auto& s : slots_) {
      if (s.used && s.virt == virt) {
        return &s;
      }
    }
    return nullptr;
  }

  // Protects: slots_, full_logged_.
  SpinLock lock_;
  Obj slots_[kCap];
  bool full_logged_ = false;
};

// --- where an id means something ------------------------------------------
// A SysV id (or a POSIX queue's name) names an object in one IPC namespace
// of one boot of one host: its domain, "<boot id>:<IPC namespace inode>".
// Across the computation an object is named by its domain and its kernel
// id at the checkpoint, never by a virtual id: virtual ids are each
// process's own, and two processes may hold the same one for different
// objects (another host's object, or one made after a restart under a
// kernel id that another process holds for an older object).
constexpr size_t kDomainLen = 64;
// The domain at the last checkpoint (set at SUSPENDED; in the image).
extern char g_ckpt_domain[kDomainLen];
// The domain now (set at RESTART).
extern char g_now_domain[kDomainLen];
// Fills `out` with this process's domain; raw calls only.
void read_domain(char* out);

// --- publish/subscribe ---------------------------------------------------
// Keys are "sysvipc:<kind>:<what>:<g_ckpt_domain>:<kernel id at the
// checkpoint>".  "saver": one int32, the saver's virtual pid.  "real": the
// new kernel id and the domain it belongs to.
bool publish_int(const char* kind, const char* what, int id, int32_t value);
std::optional<int32_t> query_int(const char* kind, const char* what, int id);
struct NewId {
  int32_t real;
  char domain[kDomainLen];
};
bool publish_new_id(const char* kind, int id, int32_t real);
std::optional<NewId> query_new_id(const char* kind, int id);

// A mapping reserved ahead (private, anonymous): saved data that comes
// back with the image of the process that saved it.  nullptr on failure.
void* map_buffer(size_t len);
void unmap_buffer(void* p, size_t len);

// One clear line and exit: the restart cannot go on (a key taken by a
// stranger on this host).
[[noreturn]] void fatal_restart(const char* what);

// A key taken at restart by the very object the checkpoint saved: its
// processes were killed after the checkpoint (dmtcp_command --kill, then
// dmtcp_restart, upstream's sysv-* tests) and a SysV object outlives
// them.  `id` is what the key names now; it is ours when it is the kernel
// id saved (ckpt_real), its ctime is the one saved (a new object under the
// same key and id would have another), and `in_use` is false (no live
// process attached or last used it).  Then it is removed, and the caller
// makes the key again from the image.  True when removed.
bool remove_own_leftover(const ObjectBase& o, long id, long ctime, bool in_use,
                         long ctl_syscall);
// True when the kernel pid names a process that is not a zombie.
bool pid_alive(pid_t pid);

}  // namespace dmtcp::sysvipc
