// pid_spawn.h -- children made without our fork(): posix_spawn(),
// posix_spawnp() and clone().  See pid_spawn.cpp.
#pragma once

#include <sys/types.h>

namespace dmtcp::pid {

// At INIT of a fresh process: what a posix_spawn() parent left in
// DMTCP_PID_SPAWN (then removed from the environment).  *virt: our virtual
// pid, as the parent registered it; *parent_virt: the parent's virtual
// pid.  False when there is nothing (or it is not from our parent).
bool take_spawn_env(pid_t real, pid_t real_ppid, pid_t* virt,
                    pid_t* parent_virt);

}  // namespace dmtcp::pid
