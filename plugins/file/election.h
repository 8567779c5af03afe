// election.h -- one leader per open file description (election.cpp,
// over dmtcp/fd_share.h).
#pragma once

#include "fd_table.h"

namespace dmtcp::file {

void save_owners(Table* t);     // THREADS_SUSPEND
void claim(Table* t);           // SUSPENDED
void read_leaders(Table* t);    // LEADER_ELECTION
void restore_owners(Table* t);  // DRAIN
// DRAIN, after the election: a non-leader finds the leader's fd number for
// the description (kcmp), so the leader can hand exactly it back at restart.
void find_leader_fds(Table* t);

}  // namespace dmtcp::file
