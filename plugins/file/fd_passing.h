// fd_passing.h -- re-made descriptions handed between processes at
// restart (fd_passing.cpp, over dmtcp/fd_share.h's FdExchange).
#pragma once

#include "fd_table.h"

namespace dmtcp::file {

// RESTART: open our abstract socket for the others' requests.
bool listen_for_askers(int park_min);
// REGISTER_NAME_SERVICE_DATA: ask each provider other than `me` once for
// every Desc it provides (connect and write; answers come in SEND_QUERIES).
bool ask_providers(Table* t, pid_t me, int park_min);
// SEND_QUERIES: answer every queued request, then close the socket.
void serve(Table* t);
// SEND_QUERIES, after serve(): read our answers into Desc::new_fd.
void collect(Table* t, int park_min);

// The fd we hold for a description another process (or we) asked for, or
// -1.  Pipes are found by inode and end; the rest by the leader's fd
// number (or, without kcmp, by DescKey).
int provide(const Table& t, const DescKey& key, int leader_fd);

}  // namespace dmtcp::file
