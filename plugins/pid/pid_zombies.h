// pid_zombies.h -- children that had exited but were not reaped at the
// checkpoint (zombies), and the stand-ins that replace them after a
// restart.
//
// A zombie has no image: it runs no code and cannot be restored.  Its
// parent may still reap it, by the virtual pid it knows and expecting its
// exit status.  So the parent's checkpoint thread notes each one (virtual
// pid, how it ended; WNOWAIT, never reaping it), and after a restart forks
// a stand-in for it that ends the same way (the same exit code, or the same
// signal, without a core dump), and maps the zombie's virtual pid to the
// stand-in's real pid.  waitpid/wait4/waitid and SIGCHLD then report it as
// before the checkpoint.  After a resume nothing is needed: the kernel
// still has the zombies.
//
// Storage: a dmtcp_alloc'd array, refilled at every WRITE_CKPT, so it
// comes back with the image.  Only the checkpoint thread touches it, while
// user threads are frozen; no malloc.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "pid_restart_map.h"

namespace dmtcp::pid::zombies {

// WRITE_CKPT (before the image is written): notes our unreaped exited
// children.  A child on its way out (exit begun, not yet a zombie) is
// waited for briefly: it has no image either.
void record();
// RESUME: the record is not needed (the kernel kept the zombies); REFILL
// after a restart: the stand-ins are mapped.
void forget();
// RESTART, after our own entry is updated and the others are tombstones:
// forks the stand-ins; a zombie whose virtual pid is in the table now maps
// to its stand-in.  Nothing is done when SIGCHLD is ignored or has
// SA_NOCLDWAIT (the kernel would reap them at once: nobody can wait).
void restore();
// SEND_QUERIES: true for a virtual pid restore() gave a stand-in (not to be
// looked up: no process publishes it).
bool has_stand_in(pid_t virt);
// SEND_QUERIES: the stand-ins of zombies that were not in the table (the
// program knew them by their real pid); at most `cap` written to `out`.
size_t stand_ins_outside_table(restart_map::Pair* out, size_t cap);
size_t count();

}  // namespace dmtcp::pid::zombies
