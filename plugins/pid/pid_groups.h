// pid_groups.h -- process groups that outlive their leader.
//
// A group's id is its leader's pid, and the group lives on after the leader
// is reaped (the kernel does not reuse the number while the group exists).
// Once a restart has made the leader's virtual and real pids differ, the
// reap turns the leader's table entry into a tombstone: right for the
// process (kill(v) gives ESRCH), wrong for its group (kill(-v), getpgid()
// of a member).  So the reap also records the pair here if the group still
// exists, and the group-id translations consult it:
// - in (kill(-v), killpg, waitpid(-v), waitid(P_PGID), setpgid's pgid,
//   tcsetpgrp): only while the kernel still has the group, so a number the
//   kernel may have given to a stranger is never used;
// - out (getpgid, getpgrp, getsid, tcgetpgrp, tcgetsid): the kernel just
//   named the group, so the number is still the group's.
// A fixed array (no allocation, lock-free); cleared at restart, where no
// group of a dead leader is rebuilt.  Sessions that outlive their leader are
// not tracked (no system call tells whether a session exists).
#pragma once

#include <sys/types.h>

#include <optional>

namespace dmtcp::pid {

// A child (virtual pid virt, real pid real) was reaped: remembers the pair
// when virt != real and a process group `real` still exists.
void note_reaped_leader(pid_t virt, pid_t real);
std::optional<pid_t> leaderless_group_real(pid_t virt);
std::optional<pid_t> leaderless_group_virt(pid_t real);
// The kernel handed out `real` again: no group of that id is left.
void forget_leaderless_group(pid_t real);
void forget_leaderless_groups();  // RESTART

// Group ids: the leader's pid, or a leaderless group above.
std::optional<pid_t> pgid_to_real(pid_t virt);
pid_t pgid_to_virt(pid_t real);

}  // namespace dmtcp::pid
