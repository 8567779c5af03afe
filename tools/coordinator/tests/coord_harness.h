// Test harness for dmtcp_coordinator: starts the real binary on a free port
// with a private DMTCP_TMPDIR and speaks the protocol to it over real
// sockets, playing processes, restarted processes and tools.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/protocol.h"

namespace coord_test {

namespace proto = dmtcp::proto;
using proto::Barrier;
using proto::MsgType;
using proto::Role;

// The barriers of a checkpoint round and of a restart round, in order.
inline constexpr Barrier kCkptSequence[] = {
    Barrier::kThreadsSuspended, Barrier::kSuspended,
    Barrier::kLeaderElection,   Barrier::kDrain,
    Barrier::kCkptWritten,      Barrier::kResumed,
    Barrier::kRegisterNameService, Barrier::kSendQueries,
    Barrier::kRefilled};
// The forked order (proto::kCheckpointForked): CKPT_WRITTEN comes last.
inline constexpr Barrier kForkedCkptSequence[] = {
    Barrier::kThreadsSuspended, Barrier::kSuspended,
    Barrier::kLeaderElection,   Barrier::kDrain,
    Barrier::kResumed,          Barrier::kRegisterNameService,
    Barrier::kSendQueries,      Barrier::kRefilled,
    Barrier::kCkptWritten};
inline constexpr Barrier kRestartSequence[] = {
    Barrier::kRestarted, Barrier::kRegisterNameService,
    Barrier::kSendQueries, Barrier::kRefilled};

inline bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

inline int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The file's text once it holds `what`, or as it is after timeout_ms
// (files another process writes a moment after the one waited for).
inline std::string read_file_holding(const std::string& path,
                                     const std::string& what,
                                     int64_t timeout_ms = 10000) {
  int64_t deadline = now_ms() + timeout_ms;
  std::string s = read_file(path);
  while (!contains(s, what) && now_ms() < deadline) {
    usleep(10 * 1000);
    s = read_file(path);
  }
  return s;
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

inline bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

inline std::string local_hostname() {
  char h[256] = "";
  gethostname(h, sizeof h - 1);
  return h;
}

// One connection to the coordinator.
class Peer {
 public:
  struct Msg {
    proto::MsgHeader h{};
    std::vector<char> data;
    MsgType type() const { return static_cast<MsgType>(h.type); }
    template <typename T>
    T as() const {
      T v{};
      BOOST_REQUIRE(data.size() >= sizeof v);
      memcpy(&v, data.data(), sizeof v);
      return v;
    }
    std::string tail(size_t off) const {
      return off >= data.size()
                 ? std::string()
                 : std::string(data.data() + off, data.size() - off);
    }
  };

  explicit Peer(int port, const char* host = "127.0.0.1") {
    fd_ = proto::connect_to(host, port, 3000);
    BOOST_REQUIRE_MESSAGE(fd_ >= 0, "connect: " << strerror(errno));
    timeval tv{10, 0};  // a broken test fails, it does not hang
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Peer() { close_now(); }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  int fd() const { return fd_; }
  void close_now() {
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  void send(MsgType t, const void* p1 = nullptr, size_t n1 = 0,
            const void* p2 = nullptr, size_t n2 = 0) {
    BOOST_REQUIRE(proto::send_msg(fd_, t, p1, n1, p2, n2) == 0);
  }
  // Best effort: the coordinator may already have hung up on us.
  void send_raw(const void* p, size_t n) {
    (void)::send(fd_, p, n, MSG_NOSIGNAL);
  }

  Msg recv(int ms = 5000) {
    pollfd p{fd_, POLLIN, 0};
    BOOST_REQUIRE_MESSAGE(poll(&p, 1, ms) == 1,
                          "no message within " << ms << " ms");
    Msg m;
    m.data.resize(proto::kMaxPayload);
    BOOST_REQUIRE_MESSAGE(
        proto::recv_msg(fd_, &m.h, m.data.data(), m.data.size()) == 0,
        "recv_msg: " << strerror(errno));
    m.data.resize(m.h.payload_len);
    return m;
  }
  Msg expect(MsgType t, int ms = 5000) {
    Msg m = recv(ms);
    BOOST_REQUIRE_EQUAL(static_cast<int>(m.h.type), static_cast<int>(t));
    return m;
  }
  // True when nothing arrives for ms.
  bool quiet_for(int ms) {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, ms) == 0;
  }
  // True when the coordinator closes the connection within ms (anything it
  // sends first, e.g. a kReject, is read and dropped).
  bool closed_within(int ms) {
    int64_t deadline = now_ms() + ms;
    char buf[4096];
    for (;;) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        return false;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) != 1) {
        return false;
      }
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        return true;
      }
    }
  }

  void barrier(Barrier b, const std::string& path = {}) {
    proto::BarrierPayload p{static_cast<uint32_t>(b),
                            static_cast<uint32_t>(path.size())};
    send(MsgType::kBarrier, &p, sizeof p, path.data(), path.size());
  }
  void expect_release(Barrier b, int ms = 5000) {
    auto p = expect(MsgType::kBarrierRelease, ms).as<proto::BarrierPayload>();
    BOOST_REQUIRE_EQUAL(p.barrier, static_cast<uint32_t>(b));
  }
  // Sends a dmtcp_command letter; returns the reply.
  // Sends a dmtcp_command letter without waiting for the reply (a blocking
  // checkpoint is answered when its round ends).
  void send_command(char c, int32_t arg = 0) {
    proto::CommandPayload p{};
    p.command = c;
    p.arg = arg;
    send(MsgType::kCommand, &p, sizeof p);
  }
  Msg command(char c, int32_t arg = 0, int ms = 5000) {
    send_command(c, arg);
    return expect(MsgType::kCommandReply, ms);
  }
  int32_t publish(const std::string& key, const std::string& value) {
    proto::KvHeader kv{static_cast<uint32_t>(key.size()),
                       static_cast<uint32_t>(value.size())};
    std::string body = key + value;
    send(MsgType::kPublish, &kv, sizeof kv, body.data(), body.size());
    return expect(MsgType::kPublishReply).as<int32_t>();
  }
  // Returns the reply; *value gets the bytes that came.
  proto::QueryReplyPayload query(const std::string& key, uint32_t buf_size,
                                 std::string* value) {
    proto::KvHeader kv{static_cast<uint32_t>(key.size()), buf_size};
    send(MsgType::kQuery, &kv, sizeof kv, key.data(), key.size());
    Msg m = expect(MsgType::kQueryReply);
    *value = m.tail(sizeof(proto::QueryReplyPayload));
    return m.as<proto::QueryReplyPayload>();
  }
  // A DMTCP 3.x kvdb request: the result, *value the value that came.
  int32_t kvdb(proto::KvdbOp op, const std::string& id, const std::string& key,
               const std::string& value, std::string* out = nullptr) {
    proto::KvdbRequestHeader rq{static_cast<uint32_t>(op),
                                static_cast<uint32_t>(id.size()),
                                static_cast<uint32_t>(key.size()),
                                static_cast<uint32_t>(value.size())};
    std::string body = id + key + value;
    send(MsgType::kKvdb, &rq, sizeof rq, body.data(), body.size());
    Msg m = expect(MsgType::kKvdbReply);
    auto r = m.as<proto::KvdbReplyHeader>();
    std::string v = m.tail(sizeof r);
    BOOST_REQUIRE_EQUAL(v.size(), r.value_len);
    if (out != nullptr) {
      *out = v;
    }
    return r.result;
  }
  void named_barrier(const std::string& name) {
    send(MsgType::kNamedBarrier, name.data(), name.size());
  }
  void expect_named_release(const std::string& name, int ms = 5000) {
    BOOST_REQUIRE_EQUAL(expect(MsgType::kNamedBarrierRelease, ms).tail(0),
                        name);
  }
  proto::StatusPayload status() {
    send(MsgType::kStatusRequest);
    return expect(MsgType::kStatusReply).as<proto::StatusPayload>();
  }

 private:
  int fd_ = -1;
};

inline int reply_status(const Peer::Msg& m) {
  return m.as<proto::CommandReplyPayload>().status;
}
inline std::string reply_text(const Peer::Msg& m) {
  return m.tail(sizeof(proto::CommandReplyPayload));
}

struct HelloArgs {
  Role role = Role::kProcess;
  std::string prog = "prog";
  std::string host = local_hostname();
  uint32_t generation = 0;
  uint32_t expected_peers = 0;
  uint32_t interval = 0;
  std::string computation_id;
  std::string unique_pid;  // empty: prog + "-uniq"
  std::string parent_unique_pid;
  uint8_t flags = 0;  // HelloPayload::flags
};

inline proto::HelloPayload make_hello(const std::string& secret,
                                      const HelloArgs& a) {
  proto::HelloPayload h{};
  h.role = static_cast<uint32_t>(a.role);
  h.pid = 1000;
  h.ppid = 1;
  h.generation = a.generation;
  h.expected_peers = a.expected_peers;
  h.interval = a.interval;
  proto::copy_field(h.unique_pid, sizeof h.unique_pid,
                    a.unique_pid.empty() ? a.prog + "-uniq" : a.unique_pid);
  proto::copy_field(h.computation_id, sizeof h.computation_id,
                    a.computation_id);
  proto::copy_field(h.hostname, sizeof h.hostname, a.host);
  proto::copy_field(h.progname, sizeof h.progname, a.prog);
  proto::copy_field(h.parent_unique_pid, sizeof h.parent_unique_pid,
                    a.parent_unique_pid);
  proto::copy_field(h.secret, sizeof h.secret, secret);
  h.flags = a.flags;
  return h;
}

// A dmtcp_coordinator on a free port, in a private temporary directory.
// With interactive, its stdin and stdout are pipes: type() a command and
// read what it answers with output_until().
class Coord {
 public:
  explicit Coord(std::vector<std::string> extra_args = {},
                 std::vector<std::string> extra_env = {},
                 bool interactive = false) {
    char tmpl[] = "/tmp/coord_test.XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    ckpt_dir_ = dir_ + "/ckpt";
    BOOST_REQUIRE(mkdir(ckpt_dir_.c_str(), 0700) == 0);
    setenv("DMTCP_TMPDIR", (dir_ + "/tmp").c_str(), 1);
    for (const char* v : {"DMTCP_COORD_PORT", "DMTCP_COORD_HOST",
                          "DMTCP_CHECKPOINT_DIR", "DMTCP_CHECKPOINT_INTERVAL",
                          "DMTCP_COORD_BIND", "DMTCP_RESTART_TIMEOUT"}) {
      unsetenv(v);
    }
    std::vector<std::string> args = {
        DMTCP_COORDINATOR_EXE, "-p",        "0",      "--port-file",
        port_file(),           "--ckptdir", ckpt_dir_};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    int in[2] = {-1, -1};
    int out[2] = {-1, -1};
    if (interactive) {
      BOOST_REQUIRE(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
    }
    pid_ = fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      if (interactive) {
        dup2(in[0], 0);
        dup2(out[1], 1);
      } else {
        int null_fd = open("/dev/null", O_RDONLY);
        dup2(null_fd, 0);
      }
      int log = open(log_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(log, 2);
      for (const std::string& e : extra_env) {
        putenv(strdup(e.c_str()));
      }
      std::vector<char*> argv;
      for (std::string& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    if (interactive) {
      close(in[0]);
      close(out[1]);
      stdin_fd_ = in[1];
      stdout_fd_ = out[0];
    }
    int64_t deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
      std::string s = read_file(port_file());
      if (!s.empty() && s.back() == '\n') {
        port_ = atoi(s.c_str());
        break;
      }
      usleep(10 * 1000);
    }
    BOOST_REQUIRE_MESSAGE(
        port_ > 0, "coordinator did not start: " << read_file(log_path()));
    char secret[proto::kSecretHexLen + 1];
    BOOST_REQUIRE(proto::read_secret(port_, secret));
    secret_ = secret;
  }

  ~Coord() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      wait_exit(5000);
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
    for (int fd : {stdin_fd_, stdout_fd_}) {
      if (fd >= 0) {
        close(fd);
      }
    }
    std::string cmd = "rm -rf '" + dir_ + "'";
    if (system(cmd.c_str()) != 0) {
      BOOST_TEST_MESSAGE("could not remove " << dir_);
    }
  }

  // Waits for the coordinator to exit; its exit status, or -1.
  int wait_exit(int ms) {
    int64_t deadline = now_ms() + ms;
    while (pid_ > 0 && now_ms() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      usleep(10 * 1000);
    }
    return -1;
  }
  bool alive() const { return pid_ > 0 && kill(pid_, 0) == 0; }

  int port() const { return port_; }
  const std::string& secret() const { return secret_; }
  const std::string& dir() const { return dir_; }
  const std::string& ckpt_dir() const { return ckpt_dir_; }
  pid_t pid() const { return pid_; }
  std::string port_file() const { return dir_ + "/port"; }
  std::string log_path() const { return dir_ + "/coordinator.log"; }
  std::string script_path() const {
    return ckpt_dir_ + "/dmtcp_restart_script.sh";
  }
  std::string log() const { return read_file(log_path()); }

  // Interactive only: one line on the coordinator's stdin.
  void type(const std::string& line) {
    std::string l = line + "\n";
    BOOST_REQUIRE(write(stdin_fd_, l.data(), l.size()) ==
                  static_cast<ssize_t>(l.size()));
  }
  // Interactive only: stdout read so far once it contains what (at most
  // ms); the text is consumed, so the next call sees only newer output.
  std::string output_until(const std::string& what, int ms = 5000) {
    int64_t deadline = now_ms() + ms;
    size_t at;
    while ((at = out_.find(what)) == std::string::npos) {
      int64_t left = deadline - now_ms();
      pollfd p{stdout_fd_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) != 1) {
        BOOST_FAIL("no '" << what << "' on stdout; got: " << out_);
      }
      char buf[4096];
      ssize_t n = read(stdout_fd_, buf, sizeof buf);
      if (n <= 0) {
        BOOST_FAIL("stdout closed before '" << what << "'; got: " << out_);
      }
      out_.append(buf, static_cast<size_t>(n));
    }
    std::string text = out_.substr(0, at + what.size());
    out_.erase(0, at + what.size());
    return text;
  }

  // A connection that said hello and was welcomed.
  std::unique_ptr<Peer> join(const HelloArgs& a,
                             proto::WelcomePayload* welcome = nullptr) {
    auto p = std::make_unique<Peer>(port_);
    proto::HelloPayload h = make_hello(secret_, a);
    p->send(MsgType::kHello, &h, sizeof h);
    auto w = p->expect(MsgType::kWelcome).as<proto::WelcomePayload>();
    if (welcome != nullptr) {
      *welcome = w;
    }
    return p;
  }
  // A hello that must be refused: returns the reason.
  std::string join_expect_reject(const HelloArgs& a) {
    Peer p(port_);
    proto::HelloPayload h = make_hello(secret_, a);
    p.send(MsgType::kHello, &h, sizeof h);
    auto m = p.expect(MsgType::kReject);
    return std::string(m.data.begin(), m.data.end());
  }
  std::unique_ptr<Peer> process(const std::string& prog,
                                const std::string& host = local_hostname()) {
    HelloArgs a;
    a.prog = prog;
    a.host = host;
    return join(a);
  }
  std::unique_ptr<Peer> tool() {
    HelloArgs a;
    a.role = Role::kTool;
    a.prog = "tool";
    return join(a);
  }

 private:
  std::string dir_;
  std::string ckpt_dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string secret_;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string out_;
};

// Runs dmtcp_command (in the background until finish()).
class CommandRun {
 public:
  explicit CommandRun(std::vector<std::string> args) {
    args.insert(args.begin(), DMTCP_COMMAND_EXE);
    int p[2];
    BOOST_REQUIRE(pipe(p) == 0);
    pid_ = fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      dup2(p[1], 1);
      dup2(p[1], 2);
      close(p[0]);
      close(p[1]);
      std::vector<char*> argv;
      for (std::string& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(p[1]);
    fd_ = p[0];
  }
  ~CommandRun() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  bool running() {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      finished_status_ = st;
      pid_ = -1;
      return false;
    }
    return pid_ > 0;
  }
  // Waits (at most 20 s) and returns the exit code; output() has the text.
  int finish() {
    char buf[4096];
    pollfd p{fd_, POLLIN, 0};
    int64_t deadline = now_ms() + 20000;
    while (now_ms() < deadline && poll(&p, 1, 100) >= 0) {
      if (p.revents != 0) {
        ssize_t n = read(fd_, buf, sizeof buf);
        if (n <= 0) {
          break;
        }
        out_.append(buf, static_cast<size_t>(n));
      }
    }
    int st = finished_status_;
    for (int i = 0; pid_ > 0 && i < 200; ++i) {
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
      } else {
        usleep(10 * 1000);
      }
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);  // hung: fail loudly below
      waitpid(pid_, &st, 0);
      pid_ = -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  const std::string& output() const { return out_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int finished_status_ = 0;
  std::string out_;
};

inline int run_command(std::vector<std::string> args, std::string* out) {
  CommandRun r(std::move(args));
  int code = r.finish();
  *out = r.output();
  return code;
}

}  // namespace coord_test
