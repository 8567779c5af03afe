// Event dispatch: the core calls the first dmtcp_event_hook in library
// search order; each plugin passes the event on with DMTCP_NEXT_EVENT_HOOK.
#pragma once

#include "dmtcp/plugin.h"

namespace dmtcp::events {

// Finds the first hook (once, at start-up), and has the DMTCP 3.x plugins
// register their descriptors (the first dmtcp_initialize_plugin in search
// order, which calls the next).
void init();
// Records a descriptor (dmtcp_register_plugin).
void register_descriptor(const DmtcpPluginDescriptor_t& d);
// How many were registered in this process.
int descriptor_count();
void fire(DmtcpEvent_t event, DmtcpEventData_t* data = nullptr);

// Plugin state across exec (docs/plugins.md): the old image hands PRE_EXEC
// a memfd, the new image finds its number in kExecFdEnv and hands it to
// POST_EXEC.
inline constexpr const char* kExecFdEnv = "DMTCP_EXEC_STATE_FD";
// A fresh state fd in the protected range, inherited by exec; -1 if the
// kernel refuses one (plugins then get fd -1 and carry nothing).
int make_exec_state_fd();
// Whether fd is an exec-state fd we made (a memfd of that name).
bool is_exec_state_fd(int fd);
// In a new image: takes the fd named by kExecFdEnv out of the environment;
// returns it, or -1 when there is none (or it is not ours).
int take_exec_state_fd();
// Fires POST_EXEC with that fd, then closes it; nothing for -1.
void fire_post_exec(int fd);

}  // namespace dmtcp::events
