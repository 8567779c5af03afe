// sem.cpp -- SysV semaphore sets: values saved once by the elected saver,
// SEM_UNDO adjustments by each process for itself.
//
// Saved per set (saver only):          rebuilt, not saved:
//   key, nsems, mode (low 9 bits)        the kernel id (new; mapped)
//   every semaphore's value              sempid, otime/ctime, waiters
// Saved per process: its SEM_UNDO adjustment of each semaphore (Undo),
// recorded by the wrappers.  At restart the saver sets every value
// (SETALL, which also clears all adjustments), then each process makes
// its adjustment A again without changing the value: one atomic semop of
// two operations, the positive one first so it never blocks:
//   A > 0: {+A, no undo}, {-A, SEM_UNDO}   (semadj += A)
//   A < 0: {-A, SEM_UNDO}, {+A, no undo}
#include "sem.h"

#include <cstdio>
#include <cstring>

#include "steps.h"

namespace dmtcp::sysvipc::sem {
namespace {

constexpr int kMaxSets = 256;
constexpr int kMaxUndo = 1024;

struct Obj : ObjectBase {
  int nsems = 0;
  int mode = 0;
  unsigned short* values = nullptr;  // the saver's copy
  size_t values_len = 0;
};

struct Undo {
  int virt;
  int num;
  int adj;  // what the kernel adds to the value when we exit
};

Registry<Obj, kMaxSets> g_registry;
Table g_table;
// Protects: g_undo, g_undo_count (wrappers, inside a CkptGuard).
SpinLock g_undo_lock;
Undo g_undo[kMaxUndo];
int g_undo_count = 0;
bool g_undo_full_logged = false;

struct Kind {
  static constexpr const char* kName = "sem";
  using Obj = sem::Obj;
  using Virt = sem::Virt;
  using Real = sem::Real;
  static auto& registry() { return g_registry; }
  static auto& table() { return g_table; }

  static bool alive(Obj& o) {
    semid_ds ds{};
    long r = sys(SYS_semctl, o.real, 0, IPC_STAT, reinterpret_cast<long>(&ds));
    return r == 0 || r == -EACCES;
  }

  static bool save(Obj& o) {
    semid_ds ds{};
    if (sys(SYS_semctl, o.real, 0, IPC_STAT, reinterpret_cast<long>(&ds)) !=
        0) {
      return false;
    }
    o.key = ds.sem_perm.__key;
    o.ckpt_ctime = static_cast<long>(ds.sem_ctime);
    o.nsems = static_cast<int>(ds.sem_nsems);
    o.mode = ds.sem_perm.mode & 0777;
    o.values_len = sizeof(unsigned short) * static_cast<size_t>(o.nsems);
    o.values = static_cast<unsigned short*>(map_buffer(o.values_len));
    if (o.values == nullptr) {
      return false;
    }
    long r = sys(SYS_semctl, o.real, 0, GETALL,
                 reinterpret_cast<long>(o.values));
    if (r != 0) {
      dmtcp_log("sysvipc: GETALL of sem %d: %s", o.virt, strerror(-r));
      release(o);
      return false;
    }
    return true;
  }

  static void release(Obj& o) {
    unmap_buffer(o.values, o.values_len);
    o.values = nullptr;
    o.values_len = 0;
  }

  // The killed computation's own set under o.key: removed (true).  In use
  // while the last process to operate on any of its semaphores lives.
  static bool remove_leftover(const Obj& o) {
    long id = sys(SYS_semget, o.key, 0, 0);
    semid_ds ds{};
    if (id < 0 ||
        sys(SYS_semctl, id, 0, IPC_STAT, reinterpret_cast<long>(&ds)) != 0) {
      return false;
    }
    bool in_use = false;
    for (unsigned long i = 0; i < ds.sem_nsems && !in_use; ++i) {
      long pid = sys(SYS_semctl, id, static_cast<long>(i), GETPID);
      in_use = pid_alive(static_cast<pid_t>(pid));
    }
    return remove_own_leftover(o, id, static_cast<long>(ds.sem_ctime), in_use,
                               SYS_semctl);
  }

  static int remake(Obj& o) {
    long id = sys(SYS_semget, o.key, o.nsems,
                  IPC_CREAT | IPC_EXCL | o.mode | 0600);
    if (id == -EEXIST && o.key != IPC_PRIVATE && remove_leftover(o)) {
      id = sys(SYS_semget, o.key, o.nsems, IPC_CREAT | IPC_EXCL | o.mode | 0600);
    }
    if (id == -EEXIST && o.key != IPC_PRIVATE) {
      char what[256];
      snprintf(what, sizeof what,
               "the key %#x of SysV semaphore set %d is taken on this host "
               "by a set outside the computation; remove it (ipcrm -S %#x) "
               "and restart again",
               static_cast<unsigned>(o.key), o.virt,
               static_cast<unsigned>(o.key));
      fatal_restart(what);
    }
    if (id < 0) {
      return static_cast<int>(id);
    }
    long r = sys(SYS_semctl, id, 0, SETALL, reinterpret_cast<long>(o.values));
    if (r != 0) {
      sys(SYS_semctl, id, 0, IPC_RMID, 0);
      return static_cast<int>(r);
    }
    if ((o.mode & 0600) != 0600) {
      semid_ds ds{};
      sys(SYS_semctl, id, 0, IPC_STAT, reinterpret_cast<long>(&ds));
      ds.sem_perm.mode = static_cast<unsigned short>(o.mode);
      sys(SYS_semctl, id, 0, IPC_SET, reinterpret_cast<long>(&ds));
    }
    return static_cast<int>(id);
  }
};

using S = Steps<Kind>;

Obj* remember(int virt, int real, key_t key) {
  g_table.add(Virt(virt), Real(real));
  return g_registry.add(virt, real, key);
}

void drop_undo_locked(int virt, int num) {
  int out = 0;
  for (int i = 0; i < g_undo_count; ++i) {
    if (g_undo[i].virt == virt && (num < 0 || g_undo[i].num == num)) {
      continue;
    }
    g_undo[out++] = g_undo[i];
  }
  g_undo_count = out;
}

void apply_undo(const Undo& u, int real) {
  short a = static_cast<short>(u.adj < 0 ? -u.adj : u.adj);
  unsigned short num = static_cast<unsigned short>(u.num);
  sembuf ops[2];
  if (u.adj > 0) {
    ops[0] = {num, a, 0};
    ops[1] = {num, static_cast<short>(-a), SEM_UNDO};
  } else {
    ops[0] = {num, a, SEM_UNDO};
    ops[1] = {num, static_cast<short>(-a), 0};
  }
  ops[0].sem_flg |= IPC_NOWAIT;
  ops[1].sem_flg |= IPC_NOWAIT;
  long r = sys(SYS_semtimedop, real, reinterpret_cast<long>(ops), 2, 0);
  if (r != 0) {
    dmtcp_log("sysvipc: cannot make the SEM_UNDO adjustment %d of sem %d "
              "#%d again: %s",
              u.adj, u.virt, u.num, strerror(-r));
  }
}

}  // namespace

int to_real(int virt) {
  auto r = g_table.to_real(Virt(virt));
  return r ? r->value : virt;
}

void learn(int virt, int real) {
  if (!g_table.to_real(Virt(virt))) {
    remember(virt, real, IPC_PRIVATE);
  }
}

int to_virtual(int real, key_t key) {
  if (auto v = g_table.to_virtual(Real(real))) {
    return v->value;
  }
  int virt = real;
  while (g_table.to_real(Virt(virt))) {
    virt = (virt + 1) & 0x7fffffff;
  }
  remember(virt, real, key);
  return virt;
}

int shown_id(int real) {
  auto v = g_table.to_virtual(Real(real));
  return v ? v->value : real;
}

void forget(int virt) {
  if (Obj* o = g_registry.find(virt)) {
    g_registry.erase(o);
  }
  g_table.erase(Virt(virt));
  SpinGuard g(g_undo_lock);
  drop_undo_locked(virt, -1);
}

void record_undo(int virt, const sembuf* sops, size_t n) {
  SpinGuard g(g_undo_lock);
  for (size_t i = 0; i < n; ++i) {
    if ((sops[i].sem_flg & SEM_UNDO) == 0 || sops[i].sem_op == 0) {
      continue;
    }
    Undo* u = nullptr;
    for (int k = 0; k < g_undo_count; ++k) {
      if (g_undo[k].virt == virt && g_undo[k].num == sops[i].sem_num) {
        u = &g_undo[k];
        break;
      }
    }
    if (u == nullptr) {
      if (g_undo_count == kMaxUndo) {
        if (!g_undo_full_logged) {
          g_undo_full_logged = true;
          dmtcp_log("sysvipc: more than %d SEM_UNDO semaphores: later ones "
                    "lose their adjustment at restart",
                    kMaxUndo);
        }
        continue;
      }
      u = &g_undo[g_undo_count++];
      *u = Undo{virt, sops[i].sem_num, 0};
    }
    u->adj -= sops[i].sem_op;
  }
}

void clear_undo(int virt, int num) {
  SpinGuard g(g_undo_lock);
  drop_undo_locked(virt, num);
}

void init() {
  g_table.reserve(kMaxSets);
}

void forget_undo_in_child() {
  g_undo_count = 0;
}

// Exec keeps the objects and (for sems) the SEM_UNDO adjustments.
void save_for_exec(int fd) {
  S::save_for_exec(fd);
  int32_t n = g_undo_count;
  if (write(fd, &n, sizeof n) == sizeof n && n > 0 &&
      write(fd, g_undo, sizeof(Undo) * static_cast<size_t>(n)) < 0) {
    dmtcp_log("sysvipc: SEM_UNDO adjustments lost across exec");
  }
}

void restore_after_exec(int fd) {
  S::restore_after_exec(fd, remember);
  int32_t n = 0;
  if (read(fd, &n, sizeof n) == sizeof n && n > 0 && n <= kMaxUndo &&
      read(fd, g_undo, sizeof(Undo) * static_cast<size_t>(n)) ==
          static_cast<ssize_t>(sizeof(Undo) * static_cast<size_t>(n))) {
    g_undo_count = n;
  }
}

void stand() { S::stand(); }
void elect() { S::elect(); }
void note() { S::note(); }
void save() { S::save(); }
void resume() { S::resume(); }
void remake() { S::remake(); }
void publish_new() { S::publish_new(); }

// Step 9: learn the new ids; the saver set the values in step 7, so the
// adjustments can be made now.
void learn_new_and_undo() {
  S::learn_new();
  for (int i = 0; i < g_undo_count; ++i) {
    const Undo& u = g_undo[i];
    if (u.adj == 0) {
      continue;
    }
    Obj* o = g_registry.find(u.virt);
    if (o == nullptr || o->real < 0) {
      continue;
    }
    apply_undo(u, o->real);
  }
}

}  // namespace dmtcp::sysvipc::sem
