#include "runtime/coord_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "dmtcp/plugin.h"
#include "dmtcp/raw_syscall.h"
#include "runtime/forked_writer.h"
#include "runtime/runtime.h"

namespace dmtcp::coord {

void die_on_kill() {
  // The coordinator ends the computation ('k', 'q', --kcheckpoint).  A
  // forked image writer goes first (it would die with us anyway, through
  // PR_SET_PDEATHSIG, but leave its temporary file and a zombie).
  forked_writer::abandon();
  raw::kill(raw::getpid(), SIGKILL);
  _exit(137);
}

namespace {

using proto::MsgHeader;
using proto::MsgType;

// Replies carry at most a value of kMaxValueLen: one buffer, mapped on first
// use so that nothing here ever calls malloc.
char* reply_buffer() {
  static char* buf = nullptr;
  if (buf == nullptr) {
    void* p = mmap(nullptr, proto::kMaxPayload, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    DMTCP_ASSERT(p != MAP_FAILED, "mapping %u bytes", proto::kMaxPayload);
    buf = static_cast<char*>(p);
  }
  return buf;
}

// kAbortRound was read and not yet reported by barrier().
bool g_abort_pending = false;

// Handles the messages that may come at any time; true when m was one.
bool handle_async(const MsgHeader& h, const char* payload) {
  switch (static_cast<MsgType>(h.type)) {
    case MsgType::kKill:
      die_on_kill();
    case MsgType::kAbortRound:
      g_abort_pending = true;
      return true;
    case MsgType::kSetInterval:
      if (h.payload_len == sizeof(uint32_t)) {
        memcpy(&rt::g_config.interval, payload, sizeof(uint32_t));
      }
      return true;
    default:
      return false;
  }
}

// Reads messages until one of type `want`; kKill ends the process.
int recv_expect(int fd, MsgType want, MsgHeader* h, char* buf, size_t cap) {
  for (;;) {
    if (proto::recv_msg(fd, h, buf, cap) != 0) {
      return -1;
    }
    auto type = static_cast<MsgType>(h->type);
    if (type == want) {
      return 0;
    }
    if (handle_async(*h, buf)) {
      if (g_abort_pending && (want == MsgType::kBarrierRelease ||
                              want == MsgType::kNamedBarrierRelease)) {
        return kAborted;
      }
      continue;
    }
    DMTCP_WARN("coordinator sent message %u while we waited for %u", h->type,
               static_cast<unsigned>(want));
  }
}

}  // namespace

void forget_abort() {
  g_abort_pending = false;
}

int barrier(int fd, proto::Barrier b, const char* image_path,
            uint32_t* num_peers) {
  return barrier_bytes(fd, b, image_path,
                       image_path != nullptr ? strlen(image_path) : 0,
                       num_peers);
}

int barrier_bytes(int fd, proto::Barrier b, const char* image_path,
                  size_t path_len, uint32_t* num_peers) {
  if (g_abort_pending) {
    g_abort_pending = false;
    return kAborted;
  }
  proto::BarrierPayload p{static_cast<uint32_t>(b), 0};
  p.path_len = static_cast<uint32_t>(path_len);
  if (proto::send_msg(fd, MsgType::kBarrier, &p, sizeof p, image_path,
                      path_len) != 0) {
    return -1;
  }
  MsgHeader h{};
  proto::BarrierPayload release{};
  // Room for any message that may come first (kSetInterval, kAbortRound).
  char buf[64];
  for (;;) {
    int rc = recv_expect(fd, MsgType::kBarrierRelease, &h, buf, sizeof buf);
    if (rc == kAborted) {
      g_abort_pending = false;
      return kAborted;
    }
    if (rc != 0) {
      return -1;
    }
    if (h.payload_len != sizeof release) {
      errno = EPROTO;
      return -1;
    }
    memcpy(&release, buf, sizeof release);
    if (release.barrier == static_cast<uint32_t>(b)) {
      if (num_peers != nullptr && release.num_peers != 0) {
        *num_peers = release.num_peers;
      }
      return 0;
    }
    DMTCP_WARN("coordinator released barrier %u while we wait at %u",
               release.barrier, static_cast<unsigned>(b));
  }
}

int read_one_async(int fd) {
  MsgHeader h{};
  char* buf = reply_buffer();
  if (proto::recv_msg(fd, &h, buf, proto::kMaxPayload) != 0) {
    return -1;
  }
  switch (static_cast<MsgType>(h.type)) {
    case MsgType::kKill:
      return kKilled;
    case MsgType::kAbortRound:
      return kAborted;
    default:
      break;
  }
  if (!handle_async(h, buf)) {
    DMTCP_WARN("coordinator sent message %u while the image was written",
               h.type);
  }
  return 0;
}

int publish(int fd, const void* key, size_t key_len, const void* val,
            size_t val_len) {
  if (key_len > proto::kMaxKeyLen || val_len > proto::kMaxValueLen) {
    errno = EMSGSIZE;
    return -1;
  }
  proto::KvHeader kv{static_cast<uint32_t>(key_len),
                     static_cast<uint32_t>(val_len)};
  if (proto::send_msg(fd, MsgType::kPublish, &kv, sizeof kv, key, key_len, val,
                      val_len) != 0) {
    return -1;
  }
  MsgHeader h{};
  int32_t result = 0;
  if (recv_expect(fd, MsgType::kPublishReply, &h,
                  reinterpret_cast<char*>(&result), sizeof result) != 0) {
    return -1;
  }
  if (result < 0) {
    errno = -result;
    return -1;
  }
  return 1;
}

int query(int fd, const void* key, size_t key_len, void* val, size_t* val_len) {
  if (key_len > proto::kMaxKeyLen) {
    errno = EMSGSIZE;
    return -1;
  }
  size_t asked =
      *val_len > proto::kMaxValueLen ? proto::kMaxValueLen : *val_len;
  proto::KvHeader kv{static_cast<uint32_t>(key_len),
                     static_cast<uint32_t>(asked)};
  if (proto::send_msg(fd, MsgType::kQuery, &kv, sizeof kv, key, key_len) != 0) {
    return -1;
  }
  MsgHeader h{};
  char* buf = reply_buffer();
  if (recv_expect(fd, MsgType::kQueryReply, &h, buf, proto::kMaxPayload) != 0) {
    return -1;
  }
  proto::QueryReplyPayload reply{};
  if (h.payload_len < sizeof reply) {
    errno = EPROTO;
    return -1;
  }
  memcpy(&reply, buf, sizeof reply);
  if (reply.result < 0) {
    errno = -reply.result;
    return -1;
  }
  size_t got = h.payload_len - sizeof reply;
  if (got > asked) {
    got = asked;
  }
  memcpy(val, buf + sizeof reply, got);
  *val_len = reply.value_len;
  return reply.result == 1 ? 1 : 0;
}

int named_barrier(int fd, const char* name, size_t name_len) {
  if (g_abort_pending) {
    return kAborted;  // barrier() reports it at the step's own barrier
  }
  if (proto::send_msg(fd, MsgType::kNamedBarrier, name, name_len) != 0) {
    return -1;
  }
  MsgHeader h{};
  char buf[proto::kMaxBarrierNameLen + 64];
  for (;;) {
    // kBarrierRelease is what recv_expect turns a pending abort into.
    int rc = recv_expect(fd, MsgType::kNamedBarrierRelease, &h, buf,
                         sizeof buf);
    if (rc == kAborted) {
      return kAborted;  // still pending: the step's barrier() reports it
    }
    if (rc != 0) {
      return -1;
    }
    if (h.payload_len == name_len && memcmp(buf, name, name_len) == 0) {
      return 0;
    }
    DMTCP_WARN("coordinator released another named barrier while we wait");
  }
}

int wait_idle(int fd, proto::DoCheckpointPayload* ckpt) {
  for (;;) {
    MsgHeader h{};
    char* buf = reply_buffer();
    if (proto::recv_msg(fd, &h, buf, proto::kMaxPayload) != 0) {
      return -1;
    }
    auto type = static_cast<MsgType>(h.type);
    if (handle_async(h, buf)) {
      // An abort read here belongs to no round of ours any more.
      g_abort_pending = false;
      continue;
    }
    if (type == MsgType::kDoCheckpoint &&
        h.payload_len == sizeof(proto::DoCheckpointPayload)) {
      memcpy(ckpt, buf, sizeof *ckpt);
      ckpt->ckpt_dir[sizeof ckpt->ckpt_dir - 1] = '\0';
      return static_cast<int>(type);
    }
    DMTCP_WARN("ignoring coordinator message %u outside a checkpoint", h.type);
  }
}

namespace {

// The open tool connections (a few threads may ask at once).
// dmtcp_checkpoint() closes its connection only after the reply, and the
// round it asked for may list our fds before that: they are the runtime's,
// not the program's (is_tool_fd), and live in the protected range.
constexpr int kToolSlots = 8;
std::atomic<int> g_tool_fds[kToolSlots];

// A slot is free when it holds no protected-range number (0 at start, -1
// once released).
void remember_tool_fd(int fd) {
  for (auto& slot : g_tool_fds) {
    int cur = slot.load();
    if (cur < rt::kProtectedFdBase && slot.compare_exchange_strong(cur, fd)) {
      return;
    }
  }
}

void close_tool_fd(int fd) {
  for (auto& slot : g_tool_fds) {
    int mine = fd;
    if (slot.compare_exchange_strong(mine, -1)) {
      break;
    }
  }
  close(fd);
}

// Opens a kTool connection to our coordinator; -1 on failure.
int open_tool_connection() {
  int fd = connect_tcp(rt::g_config.coord_host, rt::g_config.coord_port, 5000);
  if (fd < 0) {
    return -1;
  }
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, rt::kProtectedFdBase);
  if (moved >= 0) {
    close(fd);
    fd = moved;
    remember_tool_fd(fd);
  }
  proto::HelloPayload h{};
  h.role = static_cast<uint32_t>(proto::Role::kTool);
  h.pid = getpid();
  h.ppid = getppid();
  proto::copy_field(h.progname, sizeof h.progname, rt::g_id.progname);
  proto::copy_field(h.hostname, sizeof h.hostname, rt::g_id.hostname);
  fill_secret(rt::g_config.coord_port, &h);
  proto::WelcomePayload w{};
  char why[256];
  if (hello(fd, h, &w, why, sizeof why) != 0) {
    DMTCP_WARN("%s", why);
    close_tool_fd(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int tool_command(char command, int arg, char* text, size_t text_len) {
  int fd = open_tool_connection();
  if (fd < 0) {
    return -1;
  }
  proto::CommandPayload c{};
  c.command = command;
  c.arg = arg;
  MsgHeader h{};
  char buf[8192];
  int status = -1;
  if (proto::send_msg(fd, MsgType::kCommand, &c, sizeof c) == 0 &&
      proto::recv_msg(fd, &h, buf, sizeof buf) == 0 &&
      h.type == static_cast<uint16_t>(MsgType::kCommandReply) &&
      h.payload_len >= sizeof(proto::CommandReplyPayload)) {
    proto::CommandReplyPayload r{};
    memcpy(&r, buf, sizeof r);
    status = r.status;
    size_t n = h.payload_len - sizeof r;
    if (text_len > 0) {
      if (n >= text_len) {
        n = text_len - 1;
      }
      memcpy(text, buf + sizeof r, n);
      text[n] = '\0';
    }
  }
  close_tool_fd(fd);
  return status;
}

int tool_status(proto::StatusPayload* status) {
  int fd = open_tool_connection();
  if (fd < 0) {
    return -1;
  }
  MsgHeader h{};
  int r = -1;
  if (proto::send_msg(fd, MsgType::kStatusRequest, nullptr, 0) == 0 &&
      proto::recv_msg(fd, &h, status, sizeof *status) == 0 &&
      h.type == static_cast<uint16_t>(MsgType::kStatusReply)) {
    r = 0;
  }
  close_tool_fd(fd);
  return r;
}

bool is_tool_fd(int fd) {
  if (fd < rt::kProtectedFdBase) {
    return false;
  }
  for (const auto& slot : g_tool_fds) {
    if (slot.load() == fd) {
      return true;
    }
  }
  return false;
}

namespace {

// Sends one kvdb request and reads its reply into buf (cap bytes).
int kvdb_exchange(int fd, bool own_connection, uint32_t op, const void* id,
                  size_t id_len, const void* key, size_t key_len,
                  const void* val, size_t val_len, char* buf, size_t cap,
                  MsgHeader* h) {
  proto::KvdbRequestHeader rq{op, static_cast<uint32_t>(id_len),
                              static_cast<uint32_t>(key_len),
                              static_cast<uint32_t>(val_len)};
  // The id and the key go as one piece: send_msg takes three.
  char idkey[proto::kMaxKvdbIdLen + proto::kMaxKeyLen];
  memcpy(idkey, id, id_len);
  memcpy(idkey + id_len, key, key_len);
  if (proto::send_msg(fd, MsgType::kKvdb, &rq, sizeof rq, idkey,
                      id_len + key_len, val, val_len) != 0) {
    return -1;
  }
  if (own_connection) {
    if (proto::recv_msg(fd, h, buf, cap) != 0) {
      return -1;
    }
    if (h->type != static_cast<uint16_t>(MsgType::kKvdbReply)) {
      errno = EPROTO;
      return -1;
    }
    return 0;
  }
  return recv_expect(fd, MsgType::kKvdbReply, h, buf, cap);
}

}  // namespace

int kvdb(int fd, uint32_t op, const void* id, size_t id_len, const void* key,
         size_t key_len, const void* val, size_t val_len, char** out,
         size_t* out_len) {
  if (id_len > proto::kMaxKvdbIdLen || key_len > proto::kMaxKeyLen ||
      val_len > proto::kMaxValueLen) {
    errno = EMSGSIZE;
    return -1;
  }
  bool own = fd < 0;
  char* buf = nullptr;
  size_t cap = sizeof(proto::KvdbReplyHeader) + proto::kMaxValueLen;
  if (own) {
    fd = open_tool_connection();
    if (fd < 0) {
      return -1;
    }
    buf = static_cast<char*>(dmtcp_alloc(cap));
    if (buf == nullptr) {
      close_tool_fd(fd);
      errno = ENOMEM;
      return -1;
    }
  } else {
    buf = reply_buffer();
  }
  MsgHeader h{};
  int rc = kvdb_exchange(fd, own, op, id, id_len, key, key_len, val, val_len,
                         buf, cap, &h);
  proto::KvdbReplyHeader reply{};
  if (rc == 0 && h.payload_len < sizeof reply) {
    errno = EPROTO;
    rc = -1;
  }
  if (rc == 0) {
    memcpy(&reply, buf, sizeof reply);
    size_t n = h.payload_len - sizeof reply;
    if (reply.result < 0) {
      errno = -reply.result;
      rc = -1;
    } else if (out != nullptr) {
      char* v = static_cast<char*>(dmtcp_alloc(n + 1));
      if (v == nullptr) {
        errno = ENOMEM;
        rc = -1;
      } else {
        memcpy(v, buf + sizeof reply, n);
        v[n] = '\0';
        *out = v;
        if (out_len != nullptr) {
          *out_len = n;
        }
      }
    }
  } else {
    rc = -1;
  }
  if (own) {
    int saved = errno;
    dmtcp_free(buf);
    close_tool_fd(fd);
    errno = saved;
  }
  return rc < 0 ? -1 : reply.result;
}

}  // namespace dmtcp::coord
