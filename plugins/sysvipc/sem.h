// sem.h -- SysV semaphore sets (sem.cpp).
#pragma once

#include <sys/sem.h>

#include "sysvipc.h"

namespace dmtcp::sysvipc::sem {

using Virt = Id<struct VirtSemTag>;
using Real = Id<struct RealSemTag>;
using Table = VirtualIdTable<Virt, Real>;

// Ids for the wrappers, inside a CkptGuard (as shm.h).
int to_real(int virt);
void learn(int virt, int real);
int to_virtual(int real, key_t key);
void forget(int virt);
// The program's id for a kernel id, or the kernel id when we know of
// none (a stranger's object); adds nothing (/proc/sysvipc listings).
int shown_id(int real);

// This process's SEM_UNDO adjustments, which the kernel does not show:
// the wrappers record every semop that worked (inside a CkptGuard).
void record_undo(int virt, const sembuf* sops, size_t n);
// SETVAL / SETALL clear the adjustments of that semaphore (num) or set
// (num < 0), in every process; we can only clear our own.
void clear_undo(int virt, int num);

void init();
void save_for_exec(int fd);       // PRE_EXEC
void restore_after_exec(int fd);  // POST_EXEC
void forget_undo_in_child();  // ATFORK_CHILD: a child has none
void stand();                 // 2
void elect();                 // 3
void note();  // 5 WRITE_CKPT: image notes for dmtcp_inspect
void save();                  // 4
void resume();                // 6
void remake();                // 7
void publish_new();           // 8
void learn_new_and_undo();    // 9

}  // namespace dmtcp::sysvipc::sem
