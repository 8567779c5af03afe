// The coordinator's event loop: accepting peers, the hello handshake,
// framing and dispatch.  Rounds live in round.cpp, commands in commands.cpp.
#include "coordinator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace dmtcp::coordinator {
namespace {

constexpr int64_t kHelloTimeoutMs = 5000;
// Strangers (connected, no hello yet) beyond this evict the oldest one, so a
// flood of silent connections cannot lock real clients out for long.
constexpr size_t kMaxStrangers = 256;
constexpr size_t kMaxPendingOut = size_t{64} << 20;
constexpr int kReadsPerPass = 4;

template <typename T>
std::string_view bytes_of(const T& v) {
  return {reinterpret_cast<const char*>(&v), sizeof v};
}

// A fixed char field from the wire: at most cap bytes, printable only (it
// ends up in log lines, 'l' output and the restart script).
std::string field(const char* p, size_t cap) {
  std::string s(p, strnlen(p, cap));
  for (char& ch : s) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
      ch = '?';
    }
  }
  return s;
}

std::string peer_name(const sockaddr_storage& ss) {
  char addr[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
    port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
    port = ntohs(in6->sin6_port);
  }
  return std::string(addr) + ":" + std::to_string(port);
}

}  // namespace

bool valid_computation_id(std::string_view id) {
  if (id.empty() || id.size() >= proto::kIdLen || id[0] == '.') {
    return false;
  }
  for (char ch : id) {
    if (!isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' &&
        ch != '-') {
      return false;
    }
  }
  return true;
}

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Coordinator::Coordinator(Options opts, int listen_fd, int port,
                         std::string secret, bool read_stdin)
    : opts_(std::move(opts)),
      listen_fd_(listen_fd),
      port_(port),
      secret_(std::move(secret)),
      interval_(opts_.interval),
      read_stdin_(read_stdin) {
  start_ms_ = now_ms();
  idle_since_ms_ = start_ms_;
  time_t t = time(nullptr);
  char when[64] = "";
  tm local{};
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &local));
  started_at_ = when;
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  hostname_ = host;
  // Leave room for the fds we hold ourselves.
  long open_max = sysconf(_SC_OPEN_MAX);
  if (open_max > 64 && static_cast<size_t>(open_max - 32) < max_clients_) {
    max_clients_ = static_cast<size_t>(open_max - 32);
  }
}

Client* Coordinator::find(uint32_t id) {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second;
}

size_t Coordinator::num_processes() const {
  size_t n = 0;
  for (const auto& [id, c] : clients_) {
    n += c.is_process() ? 1 : 0;
  }
  return n;
}

size_t Coordinator::num_running_processes() const {
  size_t n = 0;
  for (const auto& [id, c] : clients_) {
    n += (c.is_process() && !c.closing && c.state != ProcState::kRestarting)
             ? 1
             : 0;
  }
  return n;
}

int Coordinator::run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  schedule_interval();

  std::vector<pollfd> fds;
  std::vector<uint32_t> ids;
  while (!quit_) {
    fds.clear();
    ids.clear();
    bool listening = now_ms() >= listen_paused_until_ms_;
    fds.push_back({listen_fd_, static_cast<short>(listening ? POLLIN : 0), 0});
    fds.push_back({signal_fd_, POLLIN, 0});
    fds.push_back({read_stdin_ ? 0 : -1, POLLIN, 0});
    for (const auto& [id, c] : clients_) {
      short ev = POLLIN;
      if (c.conn->pending_out() > 0) {
        ev |= POLLOUT;
      }
      fds.push_back({c.conn->fd(), ev, 0});
      ids.push_back(id);
    }
    size_t first_leaver = fds.size();
    for (int fd : leavers_.fds()) {
      fds.push_back({fd, POLLIN, 0});
    }
    int n = ::poll(fds.data(), fds.size(), poll_timeout_ms());
    if (n < 0 && errno != EINTR) {
      had_errors_ = true;
      DMTCP_ERROR("poll: %s", strerror(errno));
      return 2;
    }
    for (size_t i = 0; n > 0 && i < ids.size(); ++i) {
      short rev = fds[i + 3].revents;
      Client* c = find(ids[i]);
      if (rev == 0 || c == nullptr || c->closing) {
        continue;
      }
      if ((rev & POLLOUT) != 0 && !c->conn->flush()) {
        c->closing = true;
        continue;
      }
      if ((rev & (POLLIN | POLLHUP | POLLERR)) != 0) {
        on_readable(*c);
      }
    }
    reap_closed();
    bool leaver_gone = false;
    for (size_t i = first_leaver; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents != 0) {
        leavers_.on_ready(fds[i].fd);
        leaver_gone = true;
      }
    }
    if (leaver_gone) {
      maybe_release();
    }
    if (n > 0 && fds[1].revents != 0) {
      signalfd_siginfo si{};
      if (::read(signal_fd_, &si, sizeof si) == sizeof si) {
        DMTCP_INFO("got signal %u; exiting", si.ssi_signo);
        quit_ = true;
      }
    }
    if (n > 0 && fds[2].revents != 0) {
      on_stdin();
      reap_closed();
    }
    if (n > 0 && (fds[0].revents & POLLIN) != 0) {
      accept_clients();
    }
    check_timers();
    reap_closed();
  }
  flush_before_exit();
  write_kv_snapshot();
  return exit_status_;
}

int Coordinator::poll_timeout_ms() const {
  int64_t now = now_ms();
  int64_t next = now + 1000;
  auto consider = [&](int64_t t) {
    if (t > 0 && t < next) {
      next = t;
    }
  };
  for (const auto& [id, c] : clients_) {
    if (!c.authed) {
      consider(c.hello_deadline_ms);
    }
  }
  if (round_.kind == RoundKind::kRestart) {
    consider(round_.deadline_ms);
  }
  consider(next_interval_ms_);
  consider(exit_deadline_ms_);
  consider(leavers_.next_deadline_ms());
  if (listen_paused_until_ms_ > now) {
    consider(listen_paused_until_ms_);
  }
  return next <= now ? 0 : static_cast<int>(next - now);
}

// At most one of these warnings every 5 s: a flood must not flood the log.
static void warn_limited(const char* what) {
  static int64_t last_warn_ms = 0;
  int64_t now = now_ms();
  if (now - last_warn_ms >= 5000) {
    last_warn_ms = now;
    DMTCP_WARN("%s", what);
  }
}

void Coordinator::accept_clients() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        // Out of fds or memory: stop accepting briefly instead of spinning.
        warn_limited("cannot accept connections (out of file descriptors?)");
        listen_paused_until_ms_ = now_ms() + 100;
      }
      return;
    }
    if (clients_.size() >= max_clients_) {
      warn_limited("too many connections; refusing new ones");
      ::close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    admit(fd, peer_name(ss));
  }
}

Client& Coordinator::admit(int fd, std::string peer) {
  size_t strangers = 0;
  Client* oldest = nullptr;
  for (auto& [id, c] : clients_) {
    if (!c.authed && !c.closing) {
      ++strangers;
      oldest = oldest == nullptr ? &c : oldest;
    }
  }
  if (strangers >= kMaxStrangers && oldest != nullptr) {
    warn_limited("many connections without a hello; dropping the oldest");
    oldest->closing = true;
  }
  uint32_t id = next_id_++;
  Client& c = clients_[id];
  c.id = id;
  c.conn = std::make_unique<Connection>(fd);
  c.peer = std::move(peer);
  c.hello_deadline_ms = now_ms() + kHelloTimeoutMs;
  DMTCP_DEBUG("connection %u from %s", id, c.peer.c_str());
  return c;
}

void Coordinator::on_readable(Client& c) {
  for (int i = 0; i < kReadsPerPass && !c.closing; ++i) {
    // Strangers get small reads: they may only send a hello (416 bytes).
    Connection::ReadResult r = c.conn->read_some(c.authed ? 64 * 1024 : 1024);
    if (r == Connection::ReadResult::kAgain) {
      return;
    }
    if (r != Connection::ReadResult::kData) {
      c.closing = true;
      return;
    }
    proto::MsgHeader h{};
    while (!c.closing && c.conn->peek_header(&h)) {
      std::string why;
      if (!check_size(c, h, &why)) {
        if (c.authed) {
          protocol_error(c, why);
        } else {
          reject(c, why);
        }
        return;
      }
      if (!c.conn->has_message(h)) {
        break;
      }
      dispatch(c, h, c.conn->payload(h));
      if (!c.closing) {
        c.conn->consume(h);
      }
    }
  }
}

// Judged from the header alone, before any payload is buffered.
bool Coordinator::check_size(const Client& c, const proto::MsgHeader& h,
                             std::string* why) const {
  std::string_view bad = proto::check_header(h);
  if (!bad.empty()) {
    *why = std::string("bad message header: ") + std::string(bad);
    return false;
  }
  auto type = static_cast<proto::MsgType>(h.type);
  uint32_t len = h.payload_len;
  if (!c.authed) {
    if (type != proto::MsgType::kHello) {
      *why = "expected a hello first";
      return false;
    }
    if (len != sizeof(proto::HelloPayload)) {
      *why = "hello of the wrong size (protocol mismatch?)";
      return false;
    }
    return true;
  }
  bool ok = false;
  switch (type) {
    case proto::MsgType::kHello:
      *why = "second hello";
      return false;
    case proto::MsgType::kBarrier:
      ok = len >= sizeof(proto::BarrierPayload) &&
           len <= sizeof(proto::BarrierPayload) + 4096;
      break;
    case proto::MsgType::kPublish:
    case proto::MsgType::kQuery:
      ok = len >= sizeof(proto::KvHeader);
      break;
    case proto::MsgType::kKvdb:
      ok = len >= sizeof(proto::KvdbRequestHeader);
      break;
    case proto::MsgType::kNamedBarrier:
      ok = len >= 1 && len <= proto::kMaxBarrierNameLen;
      break;
    case proto::MsgType::kCkptRequest:
    case proto::MsgType::kStatusRequest:
    case proto::MsgType::kExecPending:
    case proto::MsgType::kExecFailed:
    case proto::MsgType::kRoundLeft:
      ok = len == 0;
      break;
    case proto::MsgType::kSetInterval:
      ok = len == sizeof(uint32_t);
      break;
    case proto::MsgType::kCommand:
      ok = len == sizeof(proto::CommandPayload);
      break;
    default:
      *why = "unexpected message type " + std::to_string(h.type);
      return false;
  }
  if (!ok) {
    *why = "message type " + std::to_string(h.type) + " has a bad size (" +
           std::to_string(len) + " bytes)";
  }
  return ok;
}

void Coordinator::dispatch(Client& c, const proto::MsgHeader& h,
                           std::string_view payload) {
  switch (static_cast<proto::MsgType>(h.type)) {
    case proto::MsgType::kHello:
      on_hello(c, payload);
      return;
    case proto::MsgType::kBarrier:
      if (!c.is_process()) {
        protocol_error(c, "barrier from a tool");
        return;
      }
      on_barrier(c, payload);
      return;
    case proto::MsgType::kPublish:
      on_publish(c, payload);
      return;
    case proto::MsgType::kQuery:
      on_query(c, payload);
      return;
    case proto::MsgType::kKvdb:
      on_kvdb(c, payload);
      return;
    case proto::MsgType::kNamedBarrier:
      if (!c.is_process()) {
        protocol_error(c, "barrier from a tool");
        return;
      }
      on_named_barrier(c, payload);
      return;
    case proto::MsgType::kCkptRequest: {
      if (!c.is_process()) {
        protocol_error(c, "checkpoint request from a tool");
        return;
      }
      std::string why = "requested by process " + std::to_string(c.id);
      CommandResult r = start_checkpoint(why.c_str(), nullptr);
      if (r.status != 0) {
        DMTCP_INFO("process %u asked for a checkpoint: %s", c.id,
                   r.text.c_str());
      }
      return;
    }
    case proto::MsgType::kStatusRequest:
      on_status_request(c);
      return;
    case proto::MsgType::kExecPending:
    case proto::MsgType::kExecFailed:
    case proto::MsgType::kRoundLeft:
    case proto::MsgType::kSetInterval:
      if (!c.is_process()) {
        protocol_error(c, "process message " + std::to_string(h.type) +
                              " from a tool");
        return;
      }
      if (h.type == static_cast<uint16_t>(proto::MsgType::kExecPending)) {
        c.exec_pending = true;
      } else if (h.type ==
                 static_cast<uint16_t>(proto::MsgType::kExecFailed)) {
        c.exec_pending = false;
      } else if (h.type == static_cast<uint16_t>(proto::MsgType::kRoundLeft)) {
        on_round_left(c);
      } else {
        uint32_t interval = 0;
        memcpy(&interval, payload.data(), sizeof interval);
        // A restarted process names the interval its computation had; an
        // interval this coordinator was given (-i) wins.
        if (interval_ == 0 && interval != 0) {
          set_interval(interval, c.id);
          DMTCP_INFO("checkpoint interval %u s taken back from process %u",
                     interval, c.id);
        }
      }
      return;
    case proto::MsgType::kCommand:
      on_command(c, payload);
      return;
    default:
      protocol_error(c, "unexpected message type " + std::to_string(h.type));
      return;
  }
}

void Coordinator::send_welcome(Client& c, uint32_t generation) {
  proto::WelcomePayload w{};
  w.client_id = c.id;
  w.generation = generation;
  w.interval = interval_;
  proto::copy_field(w.computation_id, sizeof w.computation_id, computation_id_);
  send(c, proto::MsgType::kWelcome, {bytes_of(w)});
}

void Coordinator::on_hello(Client& c, std::string_view payload) {
  proto::HelloPayload h{};
  memcpy(&h, payload.data(), sizeof h);
  if (h.secret[proto::kSecretHexLen] != '\0' ||
      !proto::secrets_equal(h.secret, secret_.c_str())) {
    reject(c, "authentication failed: wrong secret (not from " +
                  proto::key_file_path(port_) + ")");
    return;
  }
  auto role = static_cast<proto::Role>(h.role);
  if (role != proto::Role::kTool && role != proto::Role::kProcess &&
      role != proto::Role::kRestarting) {
    reject(c, "unknown role " + std::to_string(h.role));
    return;
  }
  if (role == proto::Role::kTool) {
    c.authed = true;
    c.role = role;
    send_welcome(c, generation_);
    return;
  }
  c.pid = h.pid;
  c.ppid = h.ppid;
  c.start_time = h.start_time;
  c.unique_pid = field(h.unique_pid, sizeof h.unique_pid);
  c.hostname = field(h.hostname, sizeof h.hostname);
  c.progname = field(h.progname, sizeof h.progname);
  c.forked = (h.flags & proto::kHelloForkedCheckpoint) != 0;
  if (const Client* twin = connected_twin(c)) {
    // The same image restarted twice (or one process speaking twice): two
    // processes with one unique pid would break the next checkpoint.
    reject(c, "process " + c.unique_pid + " (" + c.progname +
                  ") is already connected as " + twin->progname + "[" +
                  std::to_string(twin->pid) + "]@" + twin->hostname +
                  "; each image can run only once");
    return;
  }
  if (role == proto::Role::kRestarting) {
    // The computation comes back, with its unique pids: its new children
    // are nobody's leftovers.
    killed_.clear();
    std::string why = join_restart(c, h);
    if (!why.empty()) {
      reject(c, why);
    }
    return;
  }
  std::string comp = field(h.computation_id, sizeof h.computation_id);
  if (!comp.empty() && !valid_computation_id(comp)) {
    reject(c, "malformed computation id");
    return;
  }
  if (!comp.empty() && !computation_id_.empty() && comp != computation_id_) {
    reject(c, "this coordinator runs another computation (" +
                  computation_id_ + "), not " + comp);
    return;
  }
  c.authed = true;
  c.role = role;
  c.state = ProcState::kRunning;
  // The interval a process asks for is the one its computation started
  // with (dmtcp_launch -i): it counts for the first process only, or for
  // one that takes a computation over; later ones carry a value from
  // their environment that 'i' may have changed since.
  bool sets_interval = computation_id_.empty() && h.interval != 0;
  if (!comp.empty() && computation_id_.empty()) {
    // A process that lost its coordinator: this one takes its
    // computation over, at the generation it knew.
    computation_id_ = comp;
    generation_ = h.generation;
    takeover_expect_ = h.expected_peers;
    takeover_until_ms_ = now_ms() + kTakeoverWaitMs;
    DMTCP_INFO("took over computation %s at generation %u (its coordinator "
               "was lost)",
               computation_id_.c_str(), generation_);
  } else if (!comp.empty() && h.generation > generation_) {
    generation_ = h.generation;
  }
  if (computation_id_.empty()) {
    // The count keeps two computations started within one second apart
    // (their images must never pass for one checkpoint).
    char id[proto::kIdLen];
    snprintf(id, sizeof id, "%.40s-%d-%llx-%u", hostname_.c_str(),
             static_cast<int>(getpid()),
             static_cast<unsigned long long>(time(nullptr)),
             ++computations_started_);
    computation_id_ = id;
    generation_ = 0;
    DMTCP_INFO("new computation %s", computation_id_.c_str());
  }
  ever_joined_ = true;
  exit_deadline_ms_ = 0;
  execs_pending_.erase(c.unique_pid);
  send_welcome(c, generation_);
  if (sets_interval && h.interval != interval_) {
    set_interval(h.interval, c.id);
    DMTCP_INFO("checkpoint interval set to %u s by process %u", interval_,
               c.id);
  }
  DMTCP_INFO("process %u joined: %s[%d]@%s %s", c.id, c.progname.c_str(), c.pid,
             c.hostname.c_str(), c.unique_pid.c_str());
  std::string parent = field(h.parent_unique_pid, sizeof h.parent_unique_pid);
  if (now_ms() < killed_until_ms_ && killed_.count(parent) != 0) {
    // Forked just before its parent was killed: it goes the same way.
    killed_.insert(c.unique_pid);
    send(c, proto::MsgType::kKill, {});
    DMTCP_INFO("process %u: its parent %s was killed; killing it too", c.id,
               parent.c_str());
    return;
  }
  join_round_if_suspending(c);
  maybe_release();  // it may have been the exec a round waited for
}

const Client* Coordinator::connected_twin(const Client& c) {
  if (c.unique_pid.empty()) {
    return nullptr;
  }
  for (auto& [id, other] : clients_) {
    if (id == c.id || !other.is_process() || other.closing ||
        other.unique_pid != c.unique_pid) {
      continue;
    }
    // A process that execs closes its connection and says hello again with
    // the same id: if that close is still unread, the old one is gone.
    char byte;
    if (::recv(other.conn->fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
      other.closing = true;
      continue;
    }
    return &other;
  }
  return nullptr;
}

void Coordinator::send(Client& c, proto::MsgType type,
                       std::initializer_list<std::string_view> parts) {
  if (c.closing) {
    return;
  }
  if (!c.conn->queue(type, parts)) {
    c.closing = true;
    return;
  }
  if (c.conn->pending_out() > kMaxPendingOut) {
    DMTCP_WARN("client %u does not read its replies; closing it", c.id);
    c.closing = true;
  }
}

void Coordinator::reject(Client& c, const std::string& why) {
  DMTCP_WARN("rejecting connection %u from %s: %s", c.id, c.peer.c_str(),
             why.c_str());
  send(c, proto::MsgType::kReject, {why});
  c.closing = true;
}

void Coordinator::protocol_error(Client& c, const std::string& why) {
  DMTCP_WARN("closing client %u (%s[%d]) after a protocol error: %s", c.id,
             c.progname.empty() ? "tool" : c.progname.c_str(), c.pid,
             why.c_str());
  send(c, proto::MsgType::kReject, {"protocol error: " + why});
  c.closing = true;
}

// Closing happens here, after the handlers, so no handler ever sees a
// client vanish under it.  Dropping one participant can release a barrier
// whose sends fail and mark others closing, hence the outer loop.
void Coordinator::reap_closed() {
  std::vector<uint32_t> ids;
  for (;;) {
    ids.clear();
    for (const auto& [id, c] : clients_) {
      if (c.closing) {
        ids.push_back(id);
      }
    }
    if (ids.empty()) {
      break;
    }
    for (uint32_t id : ids) {
      Client& c = clients_.at(id);
      c.conn->flush();  // best effort: a reject or a last reply
      on_disconnect(c);
      clients_.erase(id);
    }
  }
  end_computation_if_empty();
  if (opts_.exit_on_last && ever_joined_ && !quit_ && num_processes() == 0 &&
      round_.kind != RoundKind::kRestart && exit_deadline_ms_ == 0) {
    // Not at once: a process that execs leaves and joins again a moment
    // later (a launcher script exec'ing the real program, a pyenv shim).
    exit_deadline_ms_ = now_ms() + kExitOnLastGraceMs;
  }
}

void Coordinator::end_computation_if_empty() {
  // A process that exec'd is still coming back: its computation goes on.
  if (num_processes() == 0 && !round_.active() && execs_pending_.empty() &&
      !computation_id_.empty()) {
    // The computation is over; the next process to join starts a new one
    // (or a restart brings its old id back).
    DMTCP_INFO("no processes left; computation %s ended",
               computation_id_.c_str());
    computation_id_.clear();
    ended_.clear();
    committed_.clear();
  }
}

void Coordinator::on_disconnect(Client& c) {
  if (!c.is_process()) {
    DMTCP_DEBUG("connection %u closed", c.id);
    return;
  }
  DMTCP_INFO("process %u left: %s[%d]@%s%s", c.id, c.progname.c_str(), c.pid,
             c.hostname.c_str(), c.exec_pending ? " (exec)" : "");
  // An exec whose new program already said hello (both handled in one
  // pass of the loop) is no longer pending.
  bool rejoined = false;
  for (const auto& [id, other] : clients_) {
    rejoined = rejoined || (id != c.id && other.is_process() &&
                            !other.closing &&
                            other.unique_pid == c.unique_pid);
  }
  if (c.exec_pending && c.state != ProcState::kRestarting && !rejoined) {
    execs_pending_[c.unique_pid] = now_ms() + kExecRejoinMs;
  } else if (!c.exec_pending && !rejoined) {
    ended_.insert(c.unique_pid);
    if (is_local(c)) {
      leavers_.add(c.pid, now_ms());
    }
  }
  drop_participant(c);
  for (Waiter& w : round_.waiters) {
    if (w.client_id == c.id) {
      w.client_id = UINT32_MAX;  // nobody to answer any more
    }
  }
}

void Coordinator::check_lifetime(int64_t now) {
  if (opts_.timeout_s > 0 && now - start_ms_ >= opts_.timeout_s * 1000) {
    DMTCP_WARN("--timeout: %lld s since the start; exiting",
               static_cast<long long>(opts_.timeout_s));
    quit_ = true;
    exit_status_ = 1;
    return;
  }
  if (num_processes() > 0 || round_.active()) {
    idle_since_ms_ = 0;
    return;
  }
  if (idle_since_ms_ == 0) {
    idle_since_ms_ = now;
  }
  if (opts_.stale_timeout_s > 0 &&
      now - idle_since_ms_ >= opts_.stale_timeout_s * 1000) {
    DMTCP_WARN("--stale-timeout: no process for %lld s; exiting",
               static_cast<long long>(opts_.stale_timeout_s));
    quit_ = true;
    exit_status_ = 1;
  }
}

void Coordinator::check_timers() {
  int64_t now = now_ms();
  check_lifetime(now);
  if (leavers_.expire(now)) {
    maybe_release();
  }
  if (exit_deadline_ms_ != 0 && now >= exit_deadline_ms_) {
    exit_deadline_ms_ = 0;
    if (num_processes() == 0 && round_.kind != RoundKind::kRestart) {
      DMTCP_INFO("last process left; exiting (--exit-on-last)");
      quit_ = true;
    }
  }
  for (auto& [id, c] : clients_) {
    if (!c.authed && !c.closing && now >= c.hello_deadline_ms) {
      reject(c, "no hello within 5 s");
    }
  }
  expire_execs(now);
  if (round_.kind == RoundKind::kCheckpoint &&
      now - round_.progress_ms >= int64_t{opts_.round_timeout_s} * 1000) {
    abort_stuck_participants();
  }
  if (round_.kind == RoundKind::kRestart &&
      round_.participants.size() < round_.expected &&
      now >= round_.deadline_ms) {
    fail_restart("only " + std::to_string(round_.participants.size()) + " of " +
                 std::to_string(round_.expected) +
                 " processes arrived within " +
                 std::to_string(opts_.restart_timeout_s) + " s");
  }
  if (next_interval_ms_ != 0 && now >= next_interval_ms_) {
    next_interval_ms_ = 0;
    if (round_.active()) {
      return;  // end_round() schedules the next one
    }
    // Refused (a process still away after an aborted round, a takeover
    // still waiting): try again at the next period.
    if (num_running_processes() == 0 ||
        start_checkpoint("periodic", nullptr).status != 0) {
      schedule_interval();
    }
  }
}

// Replies queued just before exiting ('q', 'K' with --exit-on-last) still
// reach their readers: give them up to two seconds.
void Coordinator::flush_before_exit() {
  int64_t deadline = now_ms() + 2000;
  for (;;) {
    std::vector<pollfd> fds;
    for (auto& [id, c] : clients_) {
      if (c.conn->pending_out() > 0 && c.conn->flush() &&
          c.conn->pending_out() > 0) {
        fds.push_back({c.conn->fd(), POLLOUT, 0});
      }
    }
    int64_t left = deadline - now_ms();
    if (fds.empty() || left <= 0) {
      return;
    }
    ::poll(fds.data(), fds.size(), static_cast<int>(left));
  }
}

}  // namespace dmtcp::coordinator
