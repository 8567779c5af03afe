// The runtime's side of the coordinator protocol (protocol/protocol.h).
// Only the checkpoint thread talks on the process's own connection; other
// threads (dmtcp_checkpoint(), status) open a short tool connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/protocol.h"

namespace dmtcp::coord {

// TCP connect with a timeout; -1 with errno on failure (EHOSTUNREACH also
// when host does not resolve: resolve_failure() tells which).
int connect_tcp(const char* host, int port, int timeout_ms);
// "" when host resolves, else the resolver's reason.
std::string resolve_failure(const char* host);

// Sends hello and waits for kWelcome.  On kReject or error returns -1 and
// leaves a one-line reason in why.
int hello(int fd, const proto::HelloPayload& hello,
          proto::WelcomePayload* welcome, char* why, size_t why_len);

// Fills the secret for host:port from the coordinator's key file (empty if
// there is none: the coordinator will then refuse us and say why).
void fill_secret(int port, proto::HelloPayload* hello);

// Checkpoint thread, during a round:
// Reports reaching a barrier and waits for its release.  kKill ends the
// process.  0, -1 (connection lost) or kAborted: the coordinator aborted
// the round for this process (kAbortRound, read here or while a publish or
// query of this round waited for its reply).  kSetInterval, whenever it
// comes, sets g_config.interval.
// A release may carry the round's current number of processes: stored in
// *num_peers when it does.
inline constexpr int kAborted = -2;
// A fork child's connection is new: an abort its parent had read is not
// its own.
void forget_abort();
int barrier(int fd, proto::Barrier b, const char* image_path = nullptr,
            uint32_t* num_peers = nullptr);
// The same with the bytes after the payload given by length: at
// kCkptWritten a NUL byte followed by a reason reports a failed image.
int barrier_bytes(int fd, proto::Barrier b, const char* image_path,
                  size_t path_len, uint32_t* num_peers);
// Reads one message while the checkpoint thread waits for a forked image
// writer (forked_writer.cpp): 0 when it was handled (kSetInterval),
// kAborted for kAbortRound, kKilled for kKill (the caller cleans up, then
// calls die_on_kill()), -1 when the connection is gone.
inline constexpr int kKilled = -3;
int read_one_async(int fd);
[[noreturn]] void die_on_kill();
int publish(int fd, const void* key, size_t key_len, const void* val,
            size_t val_len);
int query(int fd, const void* key, size_t key_len, void* val, size_t* val_len);
// A plugin's own barrier inside a step (dmtcp_global_barrier): 0 released,
// -1 connection lost, kAborted the round was aborted for us.
int named_barrier(int fd, const char* name, size_t name_len);

// The DMTCP 3.x key-value database.  On fd (the checkpoint thread's
// connection), or fd -1 for a tool connection of its own (any other
// thread).  Returns the KvdbResult (>= 0) with the value in *out (from
// dmtcp_alloc, NUL-terminated, for dmtcp_free; *out_len without the NUL)
// when out is not NULL; -1 with errno on a transport error.
int kvdb(int fd, uint32_t op, const void* id, size_t id_len, const void* key,
         size_t key_len, const void* val, size_t val_len, char** out,
         size_t* out_len);

// Waits for the next message while idle: returns its type, or -1 when the
// connection is gone.  The DoCheckpoint payload lands in *ckpt.
int wait_idle(int fd, proto::DoCheckpointPayload* ckpt);

// A tool connection: command letter -> status and text reply.
int tool_command(char command, int arg, char* text, size_t text_len);
int tool_status(proto::StatusPayload* status);

// True while fd is one of these tool connections (the runtime's own: a
// checkpoint that dmtcp_checkpoint() asked for may come before it closes).
bool is_tool_fd(int fd);

}  // namespace dmtcp::coord
