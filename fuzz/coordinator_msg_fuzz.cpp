// coordinator_msg_fuzz.cpp -- libFuzzer target: whatever a peer sends the
// coordinator (a stranger, a joined process, a tool, a restarting process;
// the input format is in coordinator_fuzz_input.h) is answered, refused or
// closed on; never a crash, a hang, an overflow or undefined behaviour
// (built with ASan and UBSan, fuzz/CMakeLists.txt).
//
// The bytes go through a socketpair into the real Coordinator (the library
// dmtcp_coordinator is built from): on_readable -> check_size -> dispatch ->
// on_hello / on_barrier / publish, query / commands, then reap_closed and
// check_timers, as one pass of Coordinator::run() does.  Each input gets a
// fresh Coordinator.  Everything it answers must be well framed.
//
// Safety of fuzzing a coordinator: its kill command signals only processes
// on its own host, and it removes image files only of its own host.  The
// harness gives it a host name with a control character, which no hello
// can carry (field() turns those into '?'), so nothing on this machine is
// ever signalled or unlinked; restart scripts go into a private --ckptdir
// made at start-up and removed at exit.
#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.h"
#include "coordinator.h"
#include "coordinator_fuzz_input.h"

namespace dmtcp::coordinator {

// The friend Coordinator names: the private handlers one loop pass calls.
class CoordinatorFuzzAccess {
 public:
  static void unreachable_hostname(Coordinator& co) {
    co.hostname_ = "\x01-fuzz-harness";
  }
  static uint32_t admit(Coordinator& co, int fd) {
    return co.admit(fd, "fuzz-peer").id;
  }
  static Client* find(Coordinator& co, uint32_t id) { return co.find(id); }
  static size_t num_clients(const Coordinator& co) {
    return co.clients_.size();
  }
  // One pass of Coordinator::run() for the clients with something to read.
  static void pass(Coordinator& co) {
    std::vector<uint32_t> ids;
    for (const auto& [id, c] : co.clients_) {
      ids.push_back(id);
    }
    for (uint32_t id : ids) {
      Client* c = co.find(id);
      if (c == nullptr || c->closing) {
        continue;
      }
      // run() flushes on POLLOUT; a flush that cannot send is a no-op.
      if (c->conn->pending_out() > 0 && !c->conn->flush()) {
        c->closing = true;
        continue;
      }
      co.on_readable(*c);
    }
    co.reap_closed();
    co.check_timers();
    co.reap_closed();
  }
};

namespace {

using Access = CoordinatorFuzzAccess;

// The coordinators' --ckptdir: private to this run.  A committed round
// writes its restart scripts there; they are removed every kCleanEvery
// inputs (a directory per input would cost a mkdir and an rmdir each).
std::string g_ckpt_dir;
constexpr unsigned kCleanEvery = 256;

void clean_ckpt_dir() {
  if (DIR* d = opendir(g_ckpt_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      unlinkat(dirfd(d), e->d_name, 0);  // fails harmlessly on . and ..
    }
    closedir(d);
  }
}

// One peer: our end of the socketpair, and what the coordinator sent us.
struct Peer {
  int fd = -1;
  uint32_t id = 0;
  std::string got;

  ~Peer() {
    if (fd >= 0) {
      close(fd);
    }
  }
};

void connect(Coordinator& co, Peer* p) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) !=
      0) {
    perror("socketpair");
    abort();
  }
  p->fd = sv[0];
  p->id = Access::admit(co, sv[1]);
}

void drain(Peer* p) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = read(p->fd, buf, sizeof buf);
    if (n <= 0) {
      return;
    }
    p->got.append(buf, static_cast<size_t>(n));
  }
}

// Every reply is framed by a header check_header accepts, of a type the
// coordinator sends.  The last one may be cut short: output still queued
// when the coordinator drops a peer is sent only as far as it fits.
void check_replies(const Peer& p) {
  size_t off = 0;
  proto::MsgHeader h{};
  while (p.got.size() - off >= sizeof h) {
    memcpy(&h, p.got.data() + off, sizeof h);
    std::string_view bad = proto::check_header(h);
    if (!bad.empty() || h.type < 20) {
      fprintf(stderr, "coordinator sent a bad header (type %u): %.*s\n", h.type,
              static_cast<int>(bad.size()), bad.data());
      abort();
    }
    off += sizeof h + h.payload_len;
    if (off > p.got.size()) {
      return;
    }
  }
}

size_t unread(Coordinator& co, const Peer& p) {
  Client* c = Access::find(co, p.id);
  int n = 0;
  if (c == nullptr || c->closing || ioctl(c->conn->fd(), FIONREAD, &n) != 0) {
    return 0;
  }
  return static_cast<size_t>(n);
}

// Runs passes until the coordinator has read all p sent (or dropped p).
void settle(Coordinator& co, Peer* p) {
  for (int i = 0; i < 10000; ++i) {
    Access::pass(co);
    drain(p);
    if (unread(co, *p) == 0) {
      return;
    }
  }
  fprintf(stderr, "coordinator stopped reading a live connection\n");
  abort();
}

// Sends bytes in chunks of `chunk` (0: at once), letting the coordinator
// read after each.  Stops when it closed the connection.
void send_all(Coordinator& co, Peer* p, const uint8_t* data, size_t size,
              size_t chunk) {
  size_t off = 0;
  while (off < size && Access::find(co, p->id) != nullptr) {
    size_t want = chunk == 0 ? size - off : std::min(chunk, size - off);
    ssize_t n = send(p->fd, data + off, want, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) {
      return;  // the coordinator closed its end
    }
    off += n > 0 ? static_cast<size_t>(n) : 0;
    settle(co, p);
  }
}

void say_hello(Coordinator& co, Peer* p, proto::Role role,
               const char* unique_pid) {
  std::string m = fuzz::hello_msg(role, unique_pid);
  send_all(co, p, reinterpret_cast<const uint8_t*>(m.data()), m.size(), 0);
}

}  // namespace
}  // namespace dmtcp::coordinator

using namespace dmtcp::coordinator;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Errors still print (they cannot be silenced); run.sh closes stderr
  // with -close_fd_mask, sanitizer reports go to libFuzzer's copy of it.
  // DMTCP_LOG_LEVEL=3 shows what the coordinator did with one input.
  if (getenv("DMTCP_LOG_LEVEL") == nullptr) {
    dmtcp::log::set_level(dmtcp::log::kError);
  }
  char tmpl[] = "/tmp/coordinator-fuzz-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    perror("mkdtemp");
    abort();
  }
  g_ckpt_dir = tmpl;
  // libFuzzer ends with exit() on -runs, -max_total_time and single inputs.
  atexit([] {
    clean_ckpt_dir();
    rmdir(g_ckpt_dir.c_str());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  uint8_t ctl = data[0];
  static unsigned inputs = 0;
  if (++inputs % kCleanEvery == 0) {
    clean_ckpt_dir();
  }
  Options opts;
  opts.ckpt_dir = g_ckpt_dir;
  Coordinator co(opts, -1, dmtcp::proto::kDefaultPort, fuzz::kSecret, false);
  Access::unreachable_hostname(co);

  Peer silent;
  if ((ctl & fuzz::kSilentPeer) != 0) {
    connect(co, &silent);
    say_hello(co, &silent, dmtcp::proto::Role::kProcess, "fuzz-silent-peer");
  }
  Peer peer;
  connect(co, &peer);
  switch (ctl & fuzz::kModeMask) {
    case fuzz::kProcess:
      say_hello(co, &peer, dmtcp::proto::Role::kProcess, "fuzz-peer");
      break;
    case fuzz::kTool:
      say_hello(co, &peer, dmtcp::proto::Role::kTool, "");
      break;
    case fuzz::kRestarting:
      say_hello(co, &peer, dmtcp::proto::Role::kRestarting, "fuzz-peer");
      break;
    default:
      break;
  }
  size_t chunk = static_cast<size_t>(ctl >> fuzz::kChunkShift) * 8;
  send_all(co, &peer, data + 1, size - 1, chunk);

  // Both peers hang up: the coordinator sees EOF and drops them (a
  // process leaving mid-round fails the round or the restart).
  shutdown(peer.fd, SHUT_WR);
  if (silent.fd >= 0) {
    shutdown(silent.fd, SHUT_WR);
  }
  for (int i = 0; i < 8 && Access::num_clients(co) > 0; ++i) {
    Access::pass(co);
  }
  drain(&peer);
  check_replies(peer);
  if (silent.fd >= 0) {
    drain(&silent);
    check_replies(silent);
  }
  return 0;
}
