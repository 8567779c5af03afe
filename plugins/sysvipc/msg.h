// msg.h -- SysV message queues (msg.cpp).
#pragma once

#include "sysvipc.h"

namespace dmtcp::sysvipc::msg {

using Virt = Id<struct VirtMsgTag>;
using Real = Id<struct RealMsgTag>;
using Table = VirtualIdTable<Virt, Real>;

// Ids for the wrappers, inside a CkptGuard (as shm.h).
int to_real(int virt);
void learn(int virt, int real);
int to_virtual(int real, key_t key);
void forget(int virt);
// The program's id for a kernel id, or the kernel id when we know of
// none (a stranger's object); adds nothing (/proc/sysvipc listings).
int shown_id(int real);

void init();
void save_for_exec(int fd);       // PRE_EXEC
void restore_after_exec(int fd);  // POST_EXEC
void stand();        // 2
void elect();        // 3
void note();  // 5 WRITE_CKPT: image notes for dmtcp_inspect
void save();         // 4
void resume();       // 6
void remake();       // 7
void publish_new();  // 8
void learn_new();    // 9

}  // namespace dmtcp::sysvipc::msg
