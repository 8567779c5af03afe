// install.h -- re-made descriptions move to their fd numbers (install.cpp).
#pragma once

#include "fd_table.h"
#include "reopen.h"

namespace dmtcp::file {

// RESTART, first: where temporaries wait, and dmtcp_restart's fds 0-2
// kept aside (they are what "outside" becomes).
RestartCtx begin_restart(const Table& t);
// Descriptions we asked ourselves for (a pipe we both made and share).
void resolve_own_requests(Table* t, pid_t me, int park_min);
// SEND_QUERIES, last: every fd at its number; temporaries closed.
void install(Table* t, RestartCtx* ctx);

}  // namespace dmtcp::file
