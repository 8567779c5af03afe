// steps.h -- the checkpoint and restart steps every SysV kind shares
// (numbered as in the algorithm at the top of sysvipc_events.cpp).
//
// K provides:
//   static constexpr const char* kName;      "shm", "sem", "msg"
//   using Obj; static auto& registry();  static auto& table();
//   using Virt, Real;                        the VirtualIdTable's id types
//   static bool alive(Obj&);                 the kernel object still exists
//   static bool save(Obj&);                  saver, DRAIN: contents & attrs
//   static void release(Obj&);               drop what save() kept
//   static int remake(Obj&);                 saver, RESTART: new kernel id
//                                            (or -errno)
// Everything here runs in the checkpoint thread's hooks: no malloc.
#pragma once

#include <unistd.h>

#include <cstring>

#include "dmtcp/inspect.h"
#include "sysvipc.h"
#include "sysvipc_notes.h"

namespace dmtcp::sysvipc {

template <class K>
struct Steps {
  // Step 2 (SUSPENDED): forget what is gone; stand for saving the rest,
  // under its kernel id (sysvipc.h: where an id means something).
  static void stand() {
    K::registry().for_each([](typename K::Obj& o) {
      o.saver = false;
      if (!K::alive(o)) {
        K::table().erase(typename K::Virt(o.virt));
        K::registry().erase(&o);
        return;
      }
      o.ckpt_real = o.real;
      publish_int(K::kName, "saver", o.ckpt_real, self_vpid());
    });
  }

  // Step 3 (LEADER_ELECTION): the last to publish is the saver; every
  // process reads the same value after the barrier.
  static void elect() {
    pid_t me = self_vpid();
    K::registry().for_each([me](typename K::Obj& o) {
      auto who = query_int(K::kName, "saver", o.ckpt_real);
      o.saver = who && *who == me;
    });
  }

  // Step 4 (DRAIN): the saver keeps contents and attributes.
  static void save() {
    K::registry().for_each([](typename K::Obj& o) {
      if (o.saver && !K::save(o)) {
        dmtcp_log("sysvipc: cannot save %s %d (key %#x): it will be missing "
                  "after a restart",
                  K::kName, o.virt, static_cast<unsigned>(o.key));
        o.saver = false;
      }
    });
  }

  // Step 5 (WRITE_CKPT): one image note per object for dmtcp_inspect
  // (sysvipc_notes.h); built on the stack, copied by the runtime.
  static void note() {
    if (dmtcp_add_image_note == nullptr) {
      return;
    }
    K::registry().for_each([](typename K::Obj& o) {
      ObjectNote n{};
      memcpy(n.kind, K::kName,
             strnlen(K::kName, sizeof n.kind - 1));  // NUL-padded
      n.virt = o.virt;
      n.real = o.real;
      n.key = static_cast<int32_t>(o.key);
      n.saver = o.saver ? 1 : 0;
      dmtcp_add_image_note(kNoteOwner, kNoteObject, &n, sizeof n);
    });
  }

  // Step 6 (RESUME): the live object is the state; drop the copy.
  static void resume() {
    K::registry().for_each([](typename K::Obj& o) {
      if (o.saver) {
        K::release(o);
        o.saver = false;
      }
    });
  }

  // Step 7 (RESTART): every old kernel id is void.  Tombstones first (no
  // stale id may block a new one), then the saver re-makes its objects.
  static void remake() {
    K::registry().for_each([](typename K::Obj& o) {
      o.real = -(o.virt + 1);
      K::table().update_real(typename K::Virt(o.virt),
                             typename K::Real(o.real));
    });
    K::registry().for_each([](typename K::Obj& o) {
      if (!o.saver) {
        return;
      }
      int real = K::remake(o);
      K::release(o);
      if (real < 0) {
        dmtcp_log("sysvipc: cannot re-make %s %d (key %#x): %s", K::kName,
                  o.virt, static_cast<unsigned>(o.key), strerror(-real));
        o.saver = false;
        return;
      }
      set_real(o, real);
    });
  }

  // Step 8 (REGISTER_NAME_SERVICE_DATA, restart): the new kernel ids.
  static void publish_new() {
    K::registry().for_each([](typename K::Obj& o) {
      if (o.saver && o.real >= 0) {
        publish_new_id(K::kName, o.ckpt_real, o.real);
      }
    });
  }

  // Step 9 (SEND_QUERIES, restart): everyone learns them; what nobody
  // re-made, or what was re-made in another IPC namespace (another host),
  // is forgotten (calls on it fail with EINVAL).
  static void learn_new() {
    K::registry().for_each([](typename K::Obj& o) {
      if (o.saver) {
        return;
      }
      auto n = query_new_id(K::kName, o.ckpt_real);
      if (n && strcmp(n->domain, g_now_domain) != 0) {
        dmtcp_log("sysvipc: %s %d was re-made in another IPC namespace "
                  "(%s, this is %s): it is not shared with this process",
                  K::kName, o.virt, n->domain, g_now_domain);
      }
      if (!n || strcmp(n->domain, g_now_domain) != 0) {
        K::table().erase(typename K::Virt(o.virt));
        K::registry().erase(&o);
        return;
      }
      set_real(o, n->real);
    });
  }

  // PRE_EXEC: the ids survive exec (the program may pass them on in argv);
  // one record per object, {virt, real, key}.  POST_EXEC reads them back.
  static void save_for_exec(int fd) {
    int32_t n = 0;
    K::registry().for_each([&n](typename K::Obj&) { ++n; });
    if (write(fd, &n, sizeof n) != sizeof n) {
      return;
    }
    K::registry().for_each([fd](typename K::Obj& o) {
      int32_t rec[3] = {o.virt, o.real, static_cast<int32_t>(o.key)};
      if (write(fd, rec, sizeof rec) != sizeof rec) {
        dmtcp_log("sysvipc: cannot keep %s %d across exec", K::kName, o.virt);
      }
    });
  }

  template <class Remember>
  static void restore_after_exec(int fd, Remember remember) {
    int32_t n = 0;
    if (read(fd, &n, sizeof n) != sizeof n) {
      return;
    }
    for (int32_t i = 0; i < n; ++i) {
      int32_t rec[3];
      if (read(fd, rec, sizeof rec) != sizeof rec) {
        return;
      }
      remember(rec[0], rec[1], static_cast<key_t>(rec[2]));
    }
  }

  static void set_real(typename K::Obj& o, int real) {
    o.real = real;
    if (!K::table().update_real(typename K::Virt(o.virt),
                                typename K::Real(real))) {
      dmtcp_log("sysvipc: %s %d: new kernel id %d clashes", K::kName, o.virt,
                real);
    }
  }
};

}  // namespace dmtcp::sysvipc
