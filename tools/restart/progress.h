// dmtcp_restart's live progress line on a terminal (docs/coordinator.md,
// "Progress"): processes back, bytes of their images, MB/s, elapsed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/common/tool_support.h"

namespace dmtcp::restart {

struct ImageSize {
  std::string unique_pid;
  int64_t bytes = 0;
};

// Starts a monitor, when stderr is a terminal and the line was not turned
// off (-q): a grandchild of ours that nobody waits for and that holds no fd
// but the terminal, so the restored processes never see it as a child or
// through an fd.  It asks the coordinator ('j') twice a second, from 1 s
// after the start, and clears its line once the restart round is over.
void start_progress_monitor(const tools::CoordinatorOptions& coord,
                            uint32_t generation,
                            const std::vector<ImageSize>& images);

}  // namespace dmtcp::restart
