// reopen.h -- a leader re-makes its descriptions at restart (reopen.cpp).
#pragma once

#include "fd_table.h"

namespace dmtcp::file {

struct RestartCtx {
  pid_t me = 0;                     // our virtual pid
  int park_min = 3;                 // temporaries wait at or above this fd
  int inherited[3] = {-1, -1, -1};  // dmtcp_restart's fds 0-2, parked
};

// Files, deleted files, FIFOs and terminals: d->new_fd.  Exits with a
// one-line error when a file the program had open cannot come back.
void remake(Desc* d, const RestartCtx& ctx);

// Whether d is a file under /proc/<N>/ of another process of ours (N, a
// virtual pid, not `me`): its new real pid is known only after the pid
// plugin's SEND_QUERIES, so the leader re-makes it then (before serving
// it), not at RESTART.
bool remake_after_queries(const Desc& d, pid_t me);

// The flags to reopen a description with (no O_CREAT/O_TRUNC, no new
// controlling terminal, close-on-exec until it moves to its number).
int open_flags_for(int saved);
// The terminal dmtcp_restart runs in (or /dev/null, said so).
int reopen_outside_terminal(const Desc& d, const RestartCtx& ctx);

// A parked copy of dmtcp_restart's fd at d's number (0-2), or -1.
int inherited_for(const Desc& d, const RestartCtx& ctx);

}  // namespace dmtcp::file
