// shm.cpp -- SysV shared memory: one segment per Obj, saved once for the
// whole computation by its elected saver; every process's attachments
// (from /proc/self/maps) attached again at the same addresses.
//
// Saved per segment (saver only):     rebuilt, not saved:
//   key, size, mode (low 9 bits)        the kernel id (new; mapped)
//   contents (a private copy)           shm_cpid/lpid, times, nattch
//   "marked IPC_RMID" (SHM_DEST)        (the kernel's, after restart)
// Saved per process: each attachment's address range, offset and
// protection (Attach).  The core leaves the attachments' pages out of the
// image (dmtcp_claim_sysv_shm): the saver's copy is the only one.
#include "shm.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dmtcp/claims.h"
#include "steps.h"

namespace dmtcp::sysvipc::shm {
namespace {

constexpr int kMaxSegments = 256;
constexpr int kMaxAttachments = 512;

struct Obj : ObjectBase {
  size_t size = 0;
  int mode = 0;        // permission bits
  bool rmid = false;   // marked for removal, still attached somewhere
  void* data = nullptr;  // the saver's copy of the contents
  size_t data_len = 0;
};

// One mapping of a segment in this process (one /proc/self/maps line).
struct Attach {
  int virt;
  uintptr_t start;
  uintptr_t end;
  uintptr_t offset;  // into the segment
  int prot;
};

Registry<Obj, kMaxSegments> g_registry;
Table g_table;
Attach g_attach[kMaxAttachments];
int g_attach_count = 0;

struct Kind {
  static constexpr const char* kName = "shm";
  using Obj = shm::Obj;
  using Virt = shm::Virt;
  using Real = shm::Real;
  static auto& registry() { return g_registry; }
  static auto& table() { return g_table; }

  static bool alive(Obj& o) {
    shmid_ds ds{};
    long r = sys(SYS_shmctl, o.real, IPC_STAT, reinterpret_cast<long>(&ds));
    return r == 0 || r == -EACCES;
  }

  static bool save(Obj& o) {
    shmid_ds ds{};
    if (sys(SYS_shmctl, o.real, IPC_STAT, reinterpret_cast<long>(&ds)) != 0) {
      return false;
    }
    o.key = ds.shm_perm.__key;
    o.ckpt_ctime = static_cast<long>(ds.shm_ctime);
    o.size = ds.shm_segsz;
    o.mode = ds.shm_perm.mode & 0777;
    o.rmid = (ds.shm_perm.mode & SHM_DEST) != 0;
    long addr = sys(SYS_shmat, o.real, 0, SHM_RDONLY);
    if (addr < 0 && addr > -4096) {
      dmtcp_log("sysvipc: shmat(%d) to save it: %s", o.real, strerror(-addr));
      return false;
    }
    o.data = map_buffer(o.size);
    if (o.data == nullptr) {
      sys(SYS_shmdt, addr);
      return false;
    }
    o.data_len = o.size;
    memcpy(o.data, reinterpret_cast<void*>(addr), o.size);
    sys(SYS_shmdt, addr);
    return true;
  }

  static void release(Obj& o) {
    unmap_buffer(o.data, o.data_len);
    o.data = nullptr;
    o.data_len = 0;
  }

  // The killed computation's own segment under o.key: removed (true).  In
  // use while any process is attached.
  static bool remove_leftover(const Obj& o) {
    long id = sys(SYS_shmget, o.key, 0, 0);
    shmid_ds ds{};
    if (id < 0 ||
        sys(SYS_shmctl, id, IPC_STAT, reinterpret_cast<long>(&ds)) != 0) {
      return false;
    }
    return remove_own_leftover(o, id, static_cast<long>(ds.shm_ctime),
                               ds.shm_nattch != 0, SYS_shmctl);
  }

  static int remake(Obj& o) {
    // Owner read and write while we fill it; the program's mode after.
    long id = sys(SYS_shmget, o.key, static_cast<long>(o.size),
                  IPC_CREAT | IPC_EXCL | o.mode | 0600);
    if (id == -EEXIST && o.key != IPC_PRIVATE && remove_leftover(o)) {
      id = sys(SYS_shmget, o.key, static_cast<long>(o.size),
               IPC_CREAT | IPC_EXCL | o.mode | 0600);
    }
    if (id == -EEXIST && o.key != IPC_PRIVATE) {
      char what[256];
      snprintf(what, sizeof what,
               "the key %#x of SysV shared memory segment %d is taken on "
               "this host by a segment outside the computation; remove it "
               "(ipcrm -M %#x) and restart again",
               static_cast<unsigned>(o.key), o.virt,
               static_cast<unsigned>(o.key));
      fatal_restart(what);
    }
    if (id < 0) {
      return static_cast<int>(id);
    }
    long addr = sys(SYS_shmat, id, 0, 0);
    if (addr < 0 && addr > -4096) {
      sys(SYS_shmctl, id, IPC_RMID, 0);
      return static_cast<int>(addr);
    }
    memcpy(reinterpret_cast<void*>(addr), o.data, o.size);
    sys(SYS_shmdt, addr);
    if ((o.mode & 0600) != 0600) {
      shmid_ds ds{};
      sys(SYS_shmctl, id, IPC_STAT, reinterpret_cast<long>(&ds));
      ds.shm_perm.mode = static_cast<unsigned short>(o.mode);
      sys(SYS_shmctl, id, IPC_SET, reinterpret_cast<long>(&ds));
    }
    return static_cast<int>(id);
  }
};

using S = Steps<Kind>;

Obj* remember(int virt, int real, key_t key) {
  g_table.add(Virt(virt), Real(real));
  return g_registry.add(virt, real, key);
}

// --- /proc/self/maps, read with raw calls into a static buffer ----------

char g_maps_buf[1 << 16];

template <class F>
void for_each_maps_line(F&& f) {
  int fd = static_cast<int>(sys(SYS_openat, AT_FDCWD,
                                reinterpret_cast<long>("/proc/self/maps"),
                                O_RDONLY | O_CLOEXEC));
  if (fd < 0) {
    return;
  }
  size_t have = 0;
  for (;;) {
    long n = sys(SYS_read, fd, reinterpret_cast<long>(g_maps_buf + have),
                 static_cast<long>(sizeof g_maps_buf - 1 - have));
    if (n <= 0) {
      break;
    }
    have += static_cast<size_t>(n);
    g_maps_buf[have] = '\0';
    char* line = g_maps_buf;
    char* nl;
    while ((nl = strchr(line, '\n')) != nullptr) {
      *nl = '\0';
      f(line);
      line = nl + 1;
    }
    have = strlen(line);
    memmove(g_maps_buf, line, have);
  }
  sys(SYS_close, fd);
}

// "start-end perms offset dev inode path"
bool parse_sysv_line(const char* l, Attach* a, int* real) {
  if (strstr(l, " /SYSV") == nullptr) {
    return false;
  }
  char* p = nullptr;
  a->start = strtoul(l, &p, 16);
  a->end = strtoul(p + 1, &p, 16);
  const char* perms = p + 1;
  a->prot = (perms[0] == 'r' ? PROT_READ : 0) |
            (perms[1] == 'w' ? PROT_WRITE : 0) |
            (perms[2] == 'x' ? PROT_EXEC : 0);
  a->offset = strtoul(perms + 5, &p, 16);
  p = strchr(p + 1, ' ');  // past dev
  if (p == nullptr) {
    return false;
  }
  *real = static_cast<int>(strtol(p + 1, nullptr, 10));
  return true;
}

// One attachment group: the lines with the same segment and base address
// (one shmat, split by mprotect or partly unmapped).  Attached again with
// one shmat, each piece moved to its place, so shmdt(base) still detaches
// all of it.
void attach_group(const Attach* first, int count, int real) {
  int flags = SHM_RDONLY;
  for (int i = 0; i < count; ++i) {
    if ((first[i].prot & PROT_WRITE) != 0) {
      flags &= ~SHM_RDONLY;
    }
    if ((first[i].prot & PROT_EXEC) != 0) {
      flags |= SHM_EXEC;
    }
  }
  shmid_ds ds{};
  if (sys(SYS_shmctl, real, IPC_STAT, reinterpret_cast<long>(&ds)) != 0) {
    dmtcp_log("sysvipc: shm %d is gone at restart", first->virt);
    return;
  }
  long tmp = sys(SYS_shmat, real, 0, flags);
  if (tmp == -EACCES && (flags & SHM_EXEC) != 0) {
    // Made executable by mprotect, not by SHM_EXEC, in a segment without
    // execute permission: attach it as it was, mprotect below does the
    // rest.
    tmp = sys(SYS_shmat, real, 0, flags & ~SHM_EXEC);
  }
  if (tmp < 0 && tmp > -4096) {
    dmtcp_log("sysvipc: cannot attach shm %d again: %s", first->virt,
              strerror(-tmp));
    return;
  }
  for (int i = 0; i < count; ++i) {
    const Attach& a = first[i];
    size_t len = a.end - a.start;
    long moved = sys(SYS_mremap, tmp + static_cast<long>(a.offset),
                     static_cast<long>(len), static_cast<long>(len),
                     MREMAP_MAYMOVE | MREMAP_FIXED, static_cast<long>(a.start));
    if (moved != static_cast<long>(a.start)) {
      dmtcp_log("sysvipc: cannot place shm %d at %#lx: %s", a.virt,
                static_cast<unsigned long>(a.start), strerror(-moved));
      continue;
    }
    sys(SYS_mprotect, static_cast<long>(a.start), static_cast<long>(len),
        a.prot);
  }
  size_t whole = (ds.shm_segsz + 4095) & ~size_t{4095};
  sys(SYS_munmap, tmp, static_cast<long>(whole));  // what was not moved
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
    if (key != IPC_PRIVATE) {
      g_registry.add(v->value, real, key);
    }
    return v->value;
  }
  // A new kernel id that is already one of our virtual ids (possible after
  // a restart): give it another.
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
}

void init() {
  g_table.reserve(kMaxSegments + kMaxAttachments);
}

// Step 1: our attachments, each under the program's id for its segment;
// a segment we never heard of (attached by a raw system call) is
// remembered under its kernel id.
void scan_attachments() {
  g_attach_count = 0;
  for_each_maps_line([](const char* line) {
    Attach a{};
    int real = -1;
    if (!parse_sysv_line(line, &a, &real)) {
      return;
    }
    if (g_attach_count == kMaxAttachments) {
      dmtcp_log("sysvipc: more than %d SysV shm mappings: the rest keep "
                "their contents but not their segment",
                kMaxAttachments);
      return;
    }
    auto v = g_table.to_virtual(Real(real));
    if (!v) {
      if (g_table.to_real(Virt(real)) || !remember(real, real, IPC_PRIVATE)) {
        return;
      }
      v = Virt(real);
    }
    a.virt = v->value;
    g_attach[g_attach_count++] = a;
  });
}

// Exec keeps the objects and (for sems) the SEM_UNDO adjustments.
void save_for_exec(int fd) {
  S::save_for_exec(fd);
}

void restore_after_exec(int fd) {
  S::restore_after_exec(fd, remember);
}

void stand() { S::stand(); }
void elect() { S::elect(); }
void note() { S::note(); }
void save() { S::save(); }

// Step 5: the attachments' pages stay out of the image.
void claim() {
  for (int i = 0; i < g_attach_count; ++i) {
    if (Obj* o = g_registry.find(g_attach[i].virt)) {
      dmtcp_claim_sysv_shm(o->real);
    }
  }
}

void resume() { S::resume(); }
void remake() { S::remake(); }
void publish_new() { S::publish_new(); }

// Step 9: learn the new ids, then attach every segment where it was.
void learn_new_and_attach() {
  S::learn_new();
  int i = 0;
  while (i < g_attach_count) {
    const Attach& a = g_attach[i];
    uintptr_t base = a.start - a.offset;
    int n = 1;
    while (i + n < g_attach_count && g_attach[i + n].virt == a.virt &&
           g_attach[i + n].start - g_attach[i + n].offset == base) {
      ++n;
    }
    Obj* o = g_registry.find(a.virt);
    if (o == nullptr || o->real < 0) {
      dmtcp_log("sysvipc: shm %d was not re-made: its mapping at %#lx reads "
                "zero",
                a.virt, static_cast<unsigned long>(a.start));
    } else {
      attach_group(&a, n, o->real);
    }
    i += n;
  }
}

// Step 10: every process has attached; a segment marked for removal
// before the checkpoint is marked again (it goes with the last detach).
void finish_restart() {
  g_registry.for_each([](Obj& o) {
    if (o.saver && o.rmid) {
      sys(SYS_shmctl, o.real, IPC_RMID, 0);
    }
  });
}

}  // namespace dmtcp::sysvipc::shm
