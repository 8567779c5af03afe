// msg.cpp -- SysV message queues: every queued message saved in order by
// the elected saver, without taking it off the queue (msgrcv MSG_COPY,
// which needs a kernel built with CONFIG_CHECKPOINT_RESTORE, as Debian's
// and this project's machines are; without it the queue is saved empty and
// says so).
//
// Saved per queue (saver only):        rebuilt, not saved:
//   key, mode (low 9 bits), msg_qbytes   the kernel id (new; mapped)
//   every message: type, length, text    lspid/lrpid, times, waiters
// At restart the saver makes the queue, sets msg_qbytes (raising it above
// the system's msgmnb needs CAP_SYS_RESOURCE: refused, it is said once and
// the default kept), and sends the messages again in their order.
#include "msg.h"

#include <sys/msg.h>

#include <cstdio>
#include <cstring>

#include "steps.h"

namespace dmtcp::sysvipc::msg {
namespace {

constexpr int kMaxQueues = 256;

struct Obj : ObjectBase {
  int mode = 0;
  unsigned long qbytes = 0;
  unsigned long count = 0;   // messages in data
  char* data = nullptr;      // the messages, see kHeader
  size_t data_len = 0;
};


// A message in the saver's buffer: {size_t len; long mtype; char
// text[len]} padded to 8 bytes.
constexpr size_t kHeader = sizeof(size_t);

size_t padded(size_t n) {
  return (n + 7) & ~size_t{7};
}

Registry<Obj, kMaxQueues> g_registry;
Table g_table;

struct Kind {
  static constexpr const char* kName = "msg";
  using Obj = msg::Obj;
  using Virt = msg::Virt;
  using Real = msg::Real;
  static auto& registry() { return g_registry; }
  static auto& table() { return g_table; }

  static bool alive(Obj& o) {
    msqid_ds ds{};
    long r = sys(SYS_msgctl, o.real, IPC_STAT, reinterpret_cast<long>(&ds));
    return r == 0 || r == -EACCES;
  }

  static bool save(Obj& o) {
    msqid_ds ds{};
    if (sys(SYS_msgctl, o.real, IPC_STAT, reinterpret_cast<long>(&ds)) != 0) {
      return false;
    }
    o.key = ds.msg_perm.__key;
    o.ckpt_ctime = static_cast<long>(ds.msg_ctime);
    o.mode = ds.msg_perm.mode & 0777;
    o.qbytes = ds.msg_qbytes;
    o.count = 0;
    unsigned long qnum = ds.msg_qnum;
    o.data_len = ds.__msg_cbytes + qnum * (kHeader + sizeof(long) + 8) + 64;
    o.data = static_cast<char*>(map_buffer(o.data_len));
    if (o.data == nullptr) {
      return false;
    }
    size_t at = 0;
    for (unsigned long i = 0; i < qnum; ++i) {
      char* rec = o.data + at;
      size_t room = o.data_len - at - kHeader - sizeof(long);
      long n = sys(SYS_msgrcv, o.real, reinterpret_cast<long>(rec + kHeader),
                   static_cast<long>(room), static_cast<long>(i),
                   IPC_NOWAIT | MSG_COPY);
      if (n == -ENOSYS) {
        // No copy without taking off: the queue is saved empty.
        dmtcp_log("sysvipc: the kernel has no MSG_COPY: queue %d is saved "
                  "without its %lu messages (lost at a restart)",
                  o.virt, qnum);
        o.count = 0;
        return true;
      }
      if (n < 0) {
        dmtcp_log("sysvipc: cannot copy message %lu of queue %d: %s", i,
                  o.virt, strerror(static_cast<int>(-n)));
        release(o);
        return false;
      }
      size_t len = static_cast<size_t>(n);
      memcpy(rec, &len, kHeader);
      at += kHeader + padded(sizeof(long) + len);
      ++o.count;
    }
    return true;
  }

  static void release(Obj& o) {
    unmap_buffer(o.data, o.data_len);
    o.data = nullptr;
    o.data_len = 0;
  }

  // The killed computation's own queue under o.key: removed (true).
  static bool remove_leftover(const Obj& o) {
    long id = sys(SYS_msgget, o.key, 0);
    msqid_ds ds{};
    if (id < 0 ||
        sys(SYS_msgctl, id, IPC_STAT, reinterpret_cast<long>(&ds)) != 0) {
      return false;
    }
    bool in_use = pid_alive(ds.msg_lspid) || pid_alive(ds.msg_lrpid);
    return remove_own_leftover(o, id, static_cast<long>(ds.msg_ctime), in_use,
                               SYS_msgctl);
  }

  static int remake(Obj& o) {
    long id = sys(SYS_msgget, o.key, IPC_CREAT | IPC_EXCL | o.mode | 0600);
    if (id == -EEXIST && o.key != IPC_PRIVATE && remove_leftover(o)) {
      id = sys(SYS_msgget, o.key, IPC_CREAT | IPC_EXCL | o.mode | 0600);
    }
    if (id == -EEXIST && o.key != IPC_PRIVATE) {
      char what[256];
      snprintf(what, sizeof what,
               "the key %#x of SysV message queue %d is taken on this host "
               "by a queue outside the computation; remove it (ipcrm -Q %#x) "
               "and restart again",
               static_cast<unsigned>(o.key), o.virt,
               static_cast<unsigned>(o.key));
      fatal_restart(what);
    }
    if (id < 0) {
      return static_cast<int>(id);
    }
    msqid_ds ds{};
    sys(SYS_msgctl, id, IPC_STAT, reinterpret_cast<long>(&ds));
    if (ds.msg_qbytes != o.qbytes) {
      unsigned long had = ds.msg_qbytes;
      ds.msg_qbytes = o.qbytes;
      long r = sys(SYS_msgctl, id, IPC_SET, reinterpret_cast<long>(&ds));
      if (r != 0) {
        dmtcp_log("sysvipc: queue %d: cannot set msg_qbytes to %lu (%s): "
                  "it is %lu",
                  o.virt, o.qbytes, strerror(static_cast<int>(-r)), had);
      }
    }
    size_t at = 0;
    for (unsigned long i = 0; i < o.count; ++i) {
      char* rec = o.data + at;
      size_t len;
      memcpy(&len, rec, kHeader);
      long r = sys(SYS_msgsnd, id, reinterpret_cast<long>(rec + kHeader),
                   static_cast<long>(len), IPC_NOWAIT);
      if (r != 0) {
        dmtcp_log("sysvipc: queue %d: message %lu of %lu lost: %s", o.virt,
                  i, o.count, strerror(static_cast<int>(-r)));
      }
      at += kHeader + padded(sizeof(long) + len);
    }
    if ((o.mode & 0600) != 0600) {
      sys(SYS_msgctl, id, IPC_STAT, reinterpret_cast<long>(&ds));
      ds.msg_perm.mode = static_cast<unsigned short>(o.mode);
      sys(SYS_msgctl, id, IPC_SET, reinterpret_cast<long>(&ds));
    }
    return static_cast<int>(id);
  }
};

using S = Steps<Kind>;

Obj* remember(int virt, int real, key_t key) {
  g_table.add(Virt(virt), Real(real));
  return g_registry.add(virt, real, key);
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
}

void init() {
  g_table.reserve(kMaxQueues);
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
void resume() { S::resume(); }
void remake() { S::remake(); }
void publish_new() { S::publish_new(); }
void learn_new() { S::learn_new(); }

}  // namespace dmtcp::sysvipc::msg
