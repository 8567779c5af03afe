// shm.h -- SysV shared memory segments (shm.cpp).
#pragma once

#include <optional>

#include "sysvipc.h"

namespace dmtcp::sysvipc::shm {

using Virt = Id<struct VirtShmTag>;
using Real = Id<struct RealShmTag>;
using Table = VirtualIdTable<Virt, Real>;

// Ids for the wrappers (sysvipc_wrappers.cpp), inside a CkptGuard.
// The kernel's id for the program's; an unknown id is taken as the
// kernel's own (true before any restart; afterwards for objects made
// since by processes that did not tell us).
int to_real(int virt);
// After a call that worked with an id we did not know: remember it.
void learn(int virt, int real);
// The program's id for a kernel id shmget() or SHM_STAT returned (a new
// one is made and remembered for a new object).
int to_virtual(int real, key_t key);
// The object was removed (IPC_RMID worked and nothing keeps it).
void forget(int virt);
// The program's id for a kernel id, or the kernel id when we know of
// none (a stranger's object); adds nothing (/proc/sysvipc listings).
int shown_id(int real);

// Events (sysvipc_events.cpp runs them in the numbered order).
void init();
void save_for_exec(int fd);       // PRE_EXEC
void restore_after_exec(int fd);  // POST_EXEC
void scan_attachments();         // 1 THREADS_SUSPEND
void stand();                    // 2 SUSPENDED
void elect();                    // 3 LEADER_ELECTION
void note();  // 5 WRITE_CKPT: image notes for dmtcp_inspect
void save();                     // 4 DRAIN
void claim();                    // 5 WRITE_CKPT
void resume();                   // 6 RESUME
void remake();                   // 7 RESTART
void publish_new();              // 8 REGISTER_NAME_SERVICE_DATA
void learn_new_and_attach();     // 9 SEND_QUERIES
void finish_restart();           // 10 REFILL

}  // namespace dmtcp::sysvipc::shm
