// The coordinator protocol: what processes, dmtcp_restart and dmtcp_command
// say to the coordinator over TCP, and what it answers.
//
// Every message is a fixed MsgHeader followed by payload_len bytes.  Payload
// structs are trivially copyable, little-endian, fixed size unless noted.
// The codec (protocol.cpp) never allocates, so the runtime can use it from
// the checkpoint thread while user threads hold the malloc lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dmtcp::proto {

inline constexpr uint32_t kMagic = 0x43544d44;  // "DMTC"
// 2: kExecPending, kExecFailed, kRoundLeft, kAbortRound and kSetInterval.
// 3: kKvdb, kKvdbReply, kNamedBarrier, kNamedBarrierRelease (the 3.x API);
//    the hello and checkpoint order carry flags (forked checkpoints).
inline constexpr uint16_t kVersion = 3;
// Keys up to 4 KiB and values up to 1 MiB (SPEC section 4) plus framing.
inline constexpr uint32_t kMaxKeyLen = 4096;
inline constexpr uint32_t kMaxValueLen = 1024 * 1024;
// (+ a kKvdb request's header and database id, the largest framing).
inline constexpr uint32_t kMaxPayload = kMaxValueLen + kMaxKeyLen + 256;
// A named barrier (dmtcp_global_barrier) and a kvdb database id.
inline constexpr uint32_t kMaxBarrierNameLen = 128;
inline constexpr uint32_t kMaxKvdbIdLen = 128;
inline constexpr int kDefaultPort = 7779;
inline constexpr size_t kSecretHexLen = 64;  // 32 random bytes, hex

enum class MsgType : uint16_t {
  // process or tool -> coordinator
  kHello = 1,         // HelloPayload
  kBarrier = 2,       // BarrierPayload (+ image path for WRITE_CKPT)
  kPublish = 3,       // KvHeader + key + value
  kQuery = 4,         // KvHeader (value_len = caller's buffer size) + key
  kCkptRequest = 5,   // no payload: application-initiated checkpoint
  kStatusRequest = 6, // no payload: dmtcp_get_coordinator_status()
  kCommand = 7,       // CommandPayload (dmtcp_command and stdin commands)
  // No payload: this process is about to exec; the new program says hello
  // with the same unique pid.  Until then (bounded) no round goes past
  // THREADS_SUSPENDED without it.
  kExecPending = 8,
  // No payload: the process has finished, on its own, the round the
  // coordinator aborted for it (kAbortRound); barriers it sent before it
  // read the abort were ignored, and it may take part in rounds again.
  kRoundLeft = 9,
  // No payload: the exec announced by kExecPending failed; the process
  // goes on as it was.
  kExecFailed = 10,
  // Name bytes: a barrier of a plugin's own (dmtcp_global_barrier, the
  // DMTCP 3.x API), reached inside a step of a round; released when every
  // participant has reached the same name.
  kNamedBarrier = 11,
  // KvdbRequestHeader + id + key + value: the DMTCP 3.x key-value database
  // (dmtcp::kvdb), from a process or a tool, at any time.
  kKvdb = 12,

  // coordinator -> process or tool
  kWelcome = 20,        // WelcomePayload
  kReject = 21,         // text: why, one line
  kDoCheckpoint = 22,   // DoCheckpointPayload
  kBarrierRelease = 23, // BarrierPayload
  kQueryReply = 24,     // QueryReplyPayload + value
  kKill = 25,           // no payload: exit now
  kStatusReply = 26,    // StatusPayload
  kCommandReply = 27,   // CommandReplyPayload + text
  kPublishReply = 28,   // int32 result (1 ok, -errno)
  // No payload: this round is over for you (you were stuck past the
  // round timeout): finish it without barriers; no image of yours counts.
  // Answer kRoundLeft when done.
  kAbortRound = 29,
  kSetInterval = 30,  // uint32 seconds: remember it (it comes back after
                      // a restart in the restarting hello)
  kNamedBarrierRelease = 31,  // the name bytes of kNamedBarrier
  kKvdbReply = 32,            // KvdbReplyHeader + value
};

struct MsgHeader {
  uint32_t magic;
  uint16_t version;
  uint16_t type;  // MsgType
  uint32_t payload_len;
  uint32_t reserved;
};
static_assert(sizeof(MsgHeader) == 16);

enum class Role : uint32_t {
  kProcess = 1,     // a process of the computation starting fresh
  kRestarting = 2,  // a process coming back from an image
  kTool = 3,        // dmtcp_command, dmtcp_launch probing: asks, then leaves
};

inline constexpr size_t kIdLen = 64;

struct HelloPayload {
  uint32_t role;  // Role
  int32_t pid;    // real pid
  int32_t ppid;
  uint32_t generation;      // restarting: the image's generation
  uint32_t expected_peers;  // restarting: processes in the checkpoint;
                            // rejoining (computation_id set): processes
                            // in the last round it knew
  uint32_t interval;        // requested checkpoint interval (s), 0 = keep
  char unique_pid[kIdLen];
  char computation_id[kIdLen];  // restarting: from the image; else empty
  char hostname[kIdLen];
  char progname[kIdLen];
  // A fork child: its parent's unique pid (a child still joining when its
  // parent is killed is killed too); empty otherwise.
  char parent_unique_pid[kIdLen];
  char secret[kSecretHexLen + 1];  // from the coordinator's key file
  uint8_t flags;  // kHello* bits
  char pad[6];
  // The process's start time (/proc/<pid>/stat field 22, clock ticks since
  // boot), 0 if unknown: with pid it names the process beyond doubt, so a
  // coordinator on its host may signal it (kill_all stops every local
  // process before it kills any).
  uint64_t start_time;
};

// HelloPayload::flags.  The process asks for forked checkpoints
// (dmtcp_launch --forked-checkpoint, DMTCP_FORKED_CHECKPOINT=1): a round
// with such a process runs the forked barrier order (kCheckpointForked).
inline constexpr uint8_t kHelloForkedCheckpoint = 1;

struct WelcomePayload {
  uint32_t client_id;
  uint32_t generation;  // current generation of the computation
  uint32_t interval;
  uint32_t reserved;
  char computation_id[kIdLen];
};

// Checkpoint and restart barriers, in protocol order (SPEC section 4).
enum class Barrier : uint32_t {
  kThreadsSuspended = 2,
  kSuspended = 3,
  kLeaderElection = 4,
  kDrain = 5,
  kCkptWritten = 6,
  kResumed = 7,
  kRestarted = 8,  // restart: after DMTCP_EVENT_RESTART
  kRegisterNameService = 9,
  kSendQueries = 10,
  kRefilled = 11,
};

struct BarrierPayload {
  uint32_t barrier;  // Barrier
  union {
    uint32_t path_len;  // kBarrier at kCkptWritten: image path bytes follow
    // kBarrierRelease of a checkpoint round: the processes taking part now
    // (a fork child that joins before THREADS_SUSPENDED is released is
    // added to the round), 0 = unchanged.  Goes into the image header.
    uint32_t num_peers;
  };
};

struct DoCheckpointPayload {
  uint32_t generation;
  uint32_t num_peers;  // processes taking part in this checkpoint
  char ckpt_dir[1024]; // coordinator's --ckptdir, empty = process's own
  uint32_t flags;      // kCheckpoint* bits
  // The generation the coordinator committed last (0: none it knows of):
  // an incremental image may build only on the image of that generation
  // (core/runtime/incremental.h).  Older coordinators sent 0 here.
  uint32_t last_committed;
};

// DoCheckpointPayload::flags.  The round runs the forked order: after
// DRAIN come RESUMED, REGISTER_NAME_SERVICE, SEND_QUERIES, REFILLED and
// only then CKPT_WRITTEN (with the image path), the last barrier; a
// process that checkpoints forked lets its program run again after
// REFILLED while a copy-on-write child writes its image, the others write
// theirs before RESUMED (docs/coordinator.md, "Forked checkpoints").
inline constexpr uint32_t kCheckpointForked = 1;

struct KvHeader {
  uint32_t key_len;
  uint32_t value_len;
};

// kKvdb.  op: KvdbOp; the database and key are not empty; the value is
// empty only for kGet.  Values are bytes; the arithmetic ops read them as
// decimal int64 (what upstream's set64 writes).
enum class KvdbOp : uint32_t {
  kGet = 0,
  kSet = 1,
  kIncrBy = 2,
  kAnd = 3,
  kOr = 4,
  kXor = 5,
  kMin = 6,
  kMax = 7,
};
// kKvdbReply result, upstream's KVDBResponse numbers.
enum class KvdbResult : int32_t {
  kSuccess = 0,
  kInvalidRequest = 1,
  kDbNotFound = 2,
  kKeyNotFound = 3,
};
struct KvdbRequestHeader {
  uint32_t op;
  uint32_t id_len;
  uint32_t key_len;
  uint32_t value_len;
};
struct KvdbReplyHeader {
  int32_t result;  // KvdbResult, or -errno (ENOSPC: the database is full)
  // kGet: the value; the other ops: the value before ("0" when the key
  // was new, as upstream).
  uint32_t value_len;
};

struct QueryReplyPayload {
  int32_t result;  // 1 found, 0 missing, -errno
  uint32_t value_len;  // full size of the value; bytes sent = min(that, asked)
};

struct StatusPayload {
  uint32_t num_processes;
  uint32_t is_running;  // 1 when no checkpoint or restart is in progress
  uint32_t generation;
  uint32_t interval;
};

// dmtcp_command letters, as upstream: s l c b(=bcheckpoint) K(=kcheckpoint)
// k q i.
struct CommandPayload {
  char command;
  char pad[3];
  int32_t arg;  // interval for 'i'
};

struct CommandReplyPayload {
  int32_t status;  // 0 ok, else an error; text says what
  uint32_t text_len;
};

// Fills a header; the caller sends header then payload.
MsgHeader make_header(MsgType type, uint32_t payload_len);

// Checks magic, version and the payload bound.  Returns an empty view when
// the header is good, else a one-line reason.
std::string_view check_header(const MsgHeader& h);

// Blocking I/O that survives EINTR and short transfers.  0 on success,
// -1 on error or EOF (errno set; ECONNRESET for EOF).
int write_all(int fd, const void* buf, size_t len);
int read_all(int fd, void* buf, size_t len);

// Sends header + up to three payload pieces in one writev.
int send_msg(int fd, MsgType type, const void* p1, size_t n1,
             const void* p2 = nullptr, size_t n2 = 0,
             const void* p3 = nullptr, size_t n3 = 0);

// Reads one message: the header into *h and the payload into buf.  A payload
// bigger than cap is an error (the rest is not read: the stream is then
// unusable).  0 ok, -1 error (errno set; EPROTO for a bad header,
// EMSGSIZE for a payload bigger than cap, ECONNRESET for EOF).
int recv_msg(int fd, MsgHeader* h, void* buf, size_t cap);

// Copies s into a fixed char field, always NUL-terminated, truncating.
void copy_field(char* dst, size_t cap, std::string_view s);

// The image file of one process for one checkpoint generation:
// "ckpt_<prog>_<unique pid>_gen<generation>.dmtcp".  The generation is in
// the name so that a round never overwrites an image of the last complete
// checkpoint (docs/coordinator.md, "Generations").  Writes into out (cap
// bytes, NUL-terminated, truncated); never allocates.
void format_image_name(char* out, size_t cap, const char* progname,
                       const char* unique_pid, uint32_t generation);

// Constant-time comparison of two kSecretHexLen-character secrets, so a
// stranger cannot learn the secret a byte at a time from reply timing.
bool secrets_equal(const char* a, const char* b);

// ---- Tool helpers below may allocate: not for the checkpoint thread. ----

// Directory for per-user coordinator files: $DMTCP_TMPDIR, else $TMPDIR,
// else /tmp, plus "/dmtcp-<uid>".
std::string key_dir_path();
// "<key_dir_path()>/coordinator-<port>.key": the secret of the coordinator
// listening on that port, mode 0600.
std::string key_file_path(int port);
// "$TMPDIR (or /tmp)/dmtcp-<uid>", whatever DMTCP_TMPDIR says: a
// coordinator whose key_dir_path() differs keeps a copy of its key there,
// so tools and processes started with another --tmpdir still find it.
std::string shared_key_dir_path();
// Reads the secret of the coordinator on `port` into out (NUL-terminated):
// from key_dir_path(), else (no such file) from shared_key_dir_path().
// Refuses a key file or directory owned by another user, or one that others
// can read or write.  false with errno set on failure.
bool read_secret(int port, char out[kSecretHexLen + 1]);

// Connects a TCP socket to host:port within timeout_ms (host is a name or a
// numeric address).  Returns a blocking, close-on-exec fd, or -1 with errno
// set (ETIMEDOUT on timeout, EHOSTUNREACH when the name does not resolve).
int connect_to(const char* host, int port, int timeout_ms);

}  // namespace dmtcp::proto
