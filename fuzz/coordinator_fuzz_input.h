// coordinator_fuzz_input.h -- the input format of coordinator_msg_fuzz and
// the message builders its seed generator (make_coordinator_seeds) uses.
//
// An input is one control byte, then the bytes a peer sends the
// coordinator over its connection (any number of messages, or garbage):
//   bits 0-1  who the peer is when those bytes start: kStranger (nothing
//             sent yet: it must say hello itself), or a process, a tool or
//             a restarting process whose valid hello (with the secret the
//             harness gave the coordinator) was sent first;
//   bit 2     another process joined before it and stays silent (rounds
//             then wait for it; a kill command has someone to kill);
//   bits 3-7  the peer writes in chunks of that many times 8 bytes (0: all
//             at once), so headers and payloads arrive split.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "protocol/protocol.h"

namespace dmtcp::coordinator::fuzz {

enum Mode : uint8_t {
  kStranger = 0,
  kProcess = 1,
  kTool = 2,
  kRestarting = 3,
};
inline constexpr uint8_t kModeMask = 3;
inline constexpr uint8_t kSilentPeer = 4;
inline constexpr int kChunkShift = 3;

// The coordinator's secret in the harness (a real one is random: make_secret).
inline constexpr char kSecret[] =
    "f00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dface";
static_assert(sizeof kSecret == proto::kSecretHexLen + 1);

// What a restarting hello names (its image's computation and generation).
inline constexpr char kComputation[] = "fuzz-computation";
inline constexpr uint32_t kRestartGeneration = 3;

inline uint8_t control(Mode mode, bool silent_peer, uint8_t chunk_8s) {
  return static_cast<uint8_t>(mode | (silent_peer ? kSilentPeer : 0) |
                              (chunk_8s << kChunkShift));
}

inline std::string message(proto::MsgType type, std::string_view payload) {
  proto::MsgHeader h =
      proto::make_header(type, static_cast<uint32_t>(payload.size()));
  std::string m(reinterpret_cast<const char*>(&h), sizeof h);
  m.append(payload);
  return m;
}

template <typename T>
std::string_view bytes_of(const T& v) {
  return {reinterpret_cast<const char*>(&v), sizeof v};
}

// A hello as the runtime, dmtcp_restart or dmtcp_command sends it.  The
// pid is one no process has (pid_max is at most 2^22), and the hostname
// never matches the harness coordinator's: a fuzzed 'k' signals nothing.
inline proto::HelloPayload hello(proto::Role role, const char* unique_pid,
                                 const char* secret = kSecret) {
  proto::HelloPayload h{};
  h.role = static_cast<uint32_t>(role);
  h.pid = 0x7ffffff0;
  h.ppid = 1;
  proto::copy_field(h.unique_pid, sizeof h.unique_pid, unique_pid);
  proto::copy_field(h.hostname, sizeof h.hostname, "fuzz-host");
  proto::copy_field(h.progname, sizeof h.progname, "fuzzed");
  proto::copy_field(h.secret, sizeof h.secret, secret);
  if (role == proto::Role::kRestarting) {
    proto::copy_field(h.computation_id, sizeof h.computation_id, kComputation);
    h.generation = kRestartGeneration;
    h.expected_peers = 1;
  }
  return h;
}

inline std::string hello_msg(proto::Role role, const char* unique_pid,
                             const char* secret = kSecret) {
  proto::HelloPayload h = hello(role, unique_pid, secret);
  return message(proto::MsgType::kHello, bytes_of(h));
}

inline std::string barrier_msg(proto::Barrier b, std::string_view path = {}) {
  proto::BarrierPayload p{};
  p.barrier = static_cast<uint32_t>(b);
  p.path_len = static_cast<uint32_t>(path.size());
  std::string payload(bytes_of(p));
  payload.append(path);
  return message(proto::MsgType::kBarrier, payload);
}

// Publish: key and value follow.  Query: value_len is the asker's buffer.
inline std::string kv_msg(proto::MsgType type, std::string_view key,
                          std::string_view value, uint32_t value_len) {
  proto::KvHeader kv{static_cast<uint32_t>(key.size()), value_len};
  std::string payload(bytes_of(kv));
  payload.append(key);
  payload.append(value);
  return message(type, payload);
}

inline std::string command_msg(char cmd, int32_t arg = 0) {
  proto::CommandPayload c{};
  c.command = cmd;
  c.arg = arg;
  return message(proto::MsgType::kCommand, bytes_of(c));
}

}  // namespace dmtcp::coordinator::fuzz
