// pipe_plan.h -- who re-makes each pipe at restart (pipe_plan.cpp).
#pragma once

#include "fd_table.h"
#include "reopen.h"

namespace dmtcp::file {

// RESTART: creators make their pipes (with the saved bytes) and everyone
// publishes what the others need to know.
void plan_pipes_at_restart(Table* t, const RestartCtx& ctx, pid_t me);
// REGISTER_NAME_SERVICE_DATA: every other pipe end learns its provider.
void find_pipe_providers(Table* t, const RestartCtx& ctx, pid_t me);
// REFILL: the one process picked per FIFO writes its unread bytes back.
void refill_fifos(Table* t);

}  // namespace dmtcp::file
