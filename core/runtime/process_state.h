// Process-wide kernel state that is not memory: signal dispositions,
// resource limits, umask and cwd.  Saved by the checkpoint thread while the
// user threads are frozen, put back by it after a restart.
#pragma once

namespace dmtcp::process_state {

void save();
void restore();

}  // namespace dmtcp::process_state
