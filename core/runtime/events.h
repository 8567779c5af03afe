// Event dispatch: the core calls the first dmtcp_event_hook in library
// search order; each plugin passes the event on with DMTCP_NEXT_EVENT_HOOK.
#pragma once

#include "dmtcp/plugin.h"

namespace dmtcp::events {

// Finds the first hook (once, at start-up).
void init();
void fire(DmtcpEvent_t event, DmtcpEventData_t* data = nullptr);

}  // namespace dmtcp::events
