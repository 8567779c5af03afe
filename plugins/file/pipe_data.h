// pipe_data.h -- unread bytes of pipes and FIFOs (pipe_data.cpp).
#pragma once

#include "fd_table.h"

namespace dmtcp::file {

bool can_read(const Desc& d);
// Checkpoint (leader, DRAIN): copies the unread bytes into d->data without
// taking them out of the pipe.
void save_pipe_data(Desc* d);
// Restart: writes d.data into the pipe through write_fd.
bool refill(int write_fd, const Desc& d);

}  // namespace dmtcp::file
