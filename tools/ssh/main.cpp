// dmtcp_ssh: makes a remote shell's channel part of the computation
// (docs/ssh.md).  Never run by hand: the runtime's exec wrapper runs it in
// place of a remote shell (core/runtime/remote_shell.cpp).
//
//   dmtcp_ssh --local PROGRAM ARGV0 ARGS...   (on the calling host)
//   dmtcp_ssh --remote COMMAND                (on HOST, under dmtcp_launch)
//
// 1. --local (in the computation, checkpoints held off until step 4) finds
//    HOST and the command in the remote shell's arguments (ssh's option
//    syntax) and runs the real remote shell outside the computation
//    (dmtcp_nocheckpoint) with the command replaced by
//    "dmtcp_launch --join-coordinator -h H -p P [--tmpdir D] [--ckptdir C]
//    dmtcp_ssh --remote COMMAND": the same coordinator, key directory and
//    checkpoint directory.  The remote shell's stdin is /dev/null: the
//    program's stdin is for the command.
// 2. --remote (on HOST, in the computation, checkpoints held off) listens
//    on the address it reaches the coordinator from and prints
//    "DMTCP_SSH_READY ADDR PORT TOKEN" (32 random bytes, hex) on its stdout,
//    which is the remote shell's channel back to --local.
// 3. --local connects there and sends the token; --remote checks it, stops
//    listening, and detaches: it forks, the parent exits (so the remote
//    shell's session ends, and the real ssh process with it), the child
//    drops the channel (stdin/stdout/stderr on /dev/null), starts
//    "$SHELL -c COMMAND" with pipes for its stdin, stdout and stderr, and
//    lets checkpoints in.
// 4. --local waits for the remote shell to exit, lets checkpoints in, and
//    both relay: the program's stdin to the command's, the command's
//    stdout and stderr to --local's, and at the end the command's exit
//    status, which --local exits with (as ssh does).
//
// The relay's TCP connection joins two processes of the computation: the
// socket plugin drains and re-makes it at restart, across hosts if the
// restart moves them; the pipes on each side are the file plugin's.  So
// after a restart the two sides talk again with no remote shell run.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dmtcp.h"

namespace {

constexpr size_t kTokenBytes = 32;
constexpr int kAcceptTimeoutMs = 60000;
constexpr size_t kChunk = 4096;  // one pipe write that never blocks
constexpr size_t kMaxQueued = 64 * 1024;

// Frames on the relay connection: type, 4-byte big-endian length, data.
enum FrameType : uint8_t {
  kStdin = 0,   // local -> remote; empty: end of input
  kStdout = 1,  // remote -> local
  kStderr = 2,  // remote -> local
  kExit = 3,    // remote -> local; 4 bytes: the exit status
};
constexpr size_t kHeader = 5;

bool write_all(int fd, const void* buf, size_t n);

// One line on stderr, written at once (it may travel through a channel).
[[noreturn]] void die(const char* fmt, const char* a = "", const char* b = "") {
  char msg[1024];
  int n = snprintf(msg, sizeof msg, "dmtcp_ssh: ");
  n += snprintf(msg + n, sizeof msg - static_cast<size_t>(n), fmt, a, b);
  if (n > static_cast<int>(sizeof msg) - 2) {
    n = static_cast<int>(sizeof msg) - 2;
  }
  msg[n++] = '\n';
  write_all(2, msg, static_cast<size_t>(n));
  exit(255);
}

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) {
    die("cannot read /proc/self/exe: %s", strerror(errno));
  }
  buf[n] = '\0';
  char* slash = strrchr(buf, '/');
  *slash = '\0';
  return buf;
}

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return q + "'";
}

std::string hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

bool write_all(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Waits for fd to be readable for at most ms; false on timeout or error.
bool wait_readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    int r = poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) {
      continue;  // a checkpoint: the clock starts again, which is fine
    }
    return r > 0;
  }
}

bool read_exact(int fd, void* buf, size_t n, int ms) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    if (!wait_readable(fd, ms)) {
      return false;
    }
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return false;
    }
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void hold_checkpoints() {
  if (dmtcp_disable_ckpt != nullptr) {
    dmtcp_disable_ckpt();
  }
}
void let_checkpoints_in() {
  if (dmtcp_enable_ckpt != nullptr) {
    dmtcp_enable_ckpt();
  }
}

// ---------------------------------------------------------------- relay

// Moves bytes between local fds and the relay connection.  Sources are
// read only while the connection's queue is short, and the connection only
// while no sink has bytes waiting: every queue stays bounded and a side
// that stops reading stops the other (as a pipe would).
class Relay {
 public:
  explicit Relay(int conn) : conn_(conn) {
    fcntl(conn_, F_SETFL, fcntl(conn_, F_GETFL) | O_NONBLOCK);
  }
  void add_source(int fd, uint8_t type) { sources_.push_back({fd, type}); }
  void add_sink(int fd, uint8_t type) {
    sinks_.push_back({fd, type, {}, false});
  }
  void queue(uint8_t type, const void* data, size_t n) {
    unsigned char h[kHeader] = {type, static_cast<unsigned char>(n >> 24),
                                static_cast<unsigned char>(n >> 16),
                                static_cast<unsigned char>(n >> 8),
                                static_cast<unsigned char>(n)};
    out_.append(reinterpret_cast<char*>(h), kHeader);
    out_.append(static_cast<const char*>(data), n);
  }
  bool sources_open() const {
    for (const Source& s : sources_) {
      if (s.fd >= 0) {
        return true;
      }
    }
    return false;
  }
  bool flushed() const {
    if (!out_.empty()) {
      return false;
    }
    for (const Sink& s : sinks_) {
      if (!s.pending.empty()) {
        return false;
      }
    }
    return true;
  }
  bool exited() const { return exit_seen_; }
  int exit_status() const { return exit_status_; }
  bool conn_closed() const { return conn_eof_; }
  // The connection is gone: the local ends are closed so that whatever
  // writes to or reads from them sees it.
  void close_local() {
    for (Source& s : sources_) {
      if (s.fd >= 0) {
        close(s.fd);
        s.fd = -1;
      }
    }
    for (Sink& s : sinks_) {
      if (s.fd >= 0) {
        close(s.fd);
        s.fd = -1;
      }
    }
  }

  // One round of poll; false when nothing can move any more (the
  // connection is gone and nothing is left to write locally).
  bool step() {
    std::vector<pollfd> fds;
    for (const Source& s : sources_) {
      fds.push_back(
          {s.fd >= 0 && out_.size() < kMaxQueued ? s.fd : -1, POLLIN, 0});
    }
    bool sinks_busy = false;
    for (const Sink& s : sinks_) {
      sinks_busy |= !s.pending.empty();
      fds.push_back({s.fd >= 0 && !s.pending.empty() ? s.fd : -1, POLLOUT, 0});
    }
    short want = 0;
    if (!conn_eof_ && !sinks_busy) {
      want |= POLLIN;
    }
    if (!conn_eof_ && !out_.empty()) {
      want |= POLLOUT;
    }
    fds.push_back({want != 0 ? conn_ : -1, want, 0});
    if ((conn_eof_ || want == 0) && !sinks_busy &&
        (conn_eof_ || !sources_open())) {
      return false;  // nothing more can arrive or be delivered
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      return errno == EINTR;  // a checkpoint came and went
    }
    size_t i = 0;
    for (Source& s : sources_) {
      if (fds[i++].revents != 0) {
        read_source(&s);
      }
    }
    for (Sink& s : sinks_) {
      if (fds[i++].revents != 0) {
        write_sink(&s);
      }
    }
    short got = fds[i].revents;
    if ((got & POLLOUT) != 0 || (got & (POLLERR | POLLHUP)) != 0) {
      send_some();
    }
    if ((got & (POLLIN | POLLHUP | POLLERR)) != 0) {
      receive_some();
    }
    return true;
  }

 private:
  struct Source {
    int fd;
    uint8_t type;
  };
  struct Sink {
    int fd;
    uint8_t type;
    std::string pending;
    bool close_when_done;  // end of input reached it
  };

  void read_source(Source* s) {
    char buf[kChunk];
    ssize_t n = read(s->fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      return;
    }
    if (n > 0) {
      queue(s->type, buf, static_cast<size_t>(n));
      return;
    }
    if (s->type == kStdin) {
      queue(kStdin, nullptr, 0);  // end of input
    }
    close(s->fd);
    s->fd = -1;
  }

  void write_sink(Sink* s) {
    size_t n = s->pending.size() < kChunk ? s->pending.size() : kChunk;
    ssize_t w = write(s->fd, s->pending.data(), n);
    if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
      return;
    }
    if (w < 0) {  // the reader is gone: what it would get is dropped
      s->pending.clear();
    } else {
      s->pending.erase(0, static_cast<size_t>(w));
    }
    close_if_done(s);
  }

  void close_if_done(Sink* s) {
    if (s->close_when_done && s->pending.empty() && s->fd >= 0) {
      close(s->fd);
      s->fd = -1;
    }
  }

  void send_some() {
    while (!out_.empty()) {
      ssize_t w = send(conn_, out_.data(), out_.size(), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w < 0 && errno == EAGAIN) {
        return;
      }
      if (w < 0) {
        conn_eof_ = true;
        out_.clear();
        return;
      }
      out_.erase(0, static_cast<size_t>(w));
    }
  }

  void receive_some() {
    char buf[kChunk * 4];
    ssize_t n = recv(conn_, buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      return;
    }
    if (n <= 0) {
      conn_eof_ = true;
      return;
    }
    in_.append(buf, static_cast<size_t>(n));
    while (in_.size() >= kHeader) {
      const auto* h = reinterpret_cast<const unsigned char*>(in_.data());
      size_t len = (size_t{h[1]} << 24) | (size_t{h[2]} << 16) |
                   (size_t{h[3]} << 8) | h[4];
      if (in_.size() < kHeader + len) {
        return;
      }
      deliver(h[0], in_.data() + kHeader, len);
      in_.erase(0, kHeader + len);
    }
  }

  void deliver(uint8_t type, const char* data, size_t len) {
    if (type == kExit && len == 4) {
      exit_seen_ = true;
      exit_status_ = static_cast<unsigned char>(data[3]);
      return;
    }
    for (Sink& s : sinks_) {
      if (s.type != type || s.fd < 0) {
        continue;
      }
      if (len == 0) {
        s.close_when_done = true;
        close_if_done(&s);
      } else {
        s.pending.append(data, len);
      }
    }
  }

  int conn_;
  std::vector<Source> sources_;
  std::vector<Sink> sinks_;
  std::string out_;  // framed bytes for the connection
  std::string in_;   // bytes from the connection not yet a whole frame
  bool conn_eof_ = false;
  bool exit_seen_ = false;
  int exit_status_ = 255;
};

// ---------------------------------------------------------------- local

// OpenSSH's options that take an argument (ssh(1)); rsh's -l is one too.
bool takes_argument(char c) {
  return strchr("BbcDEeFIiJLlmOopQRSWw", c);
}

struct Split {
  int host = -1;          // index of HOST in args
  int command = -1;       // index of the first word of the command
  bool no_stdin = false;  // -n
};

Split split_args(const std::vector<std::string>& args) {
  Split s;
  size_t i = 0;
  while (i < args.size()) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      break;
    }
    for (size_t k = 1; k < a.size(); ++k) {
      if (a[k] == 'n') {
        s.no_stdin = true;
      }
      if (takes_argument(a[k])) {
        if (k + 1 == a.size()) {
          ++i;  // the argument is the next word
        }
        break;
      }
    }
    ++i;
  }
  if (i < args.size()) {
    s.host = static_cast<int>(i);
    if (i + 1 < args.size()) {
      s.command = static_cast<int>(i + 1);
    }
  }
  return s;
}

bool loopback(const char* host) {
  return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
         strcmp(host, "localhost") == 0;
}

int connect_to(const std::string& addr, const std::string& port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* ai = nullptr;
  if (getaddrinfo(addr.c_str(), port.c_str(), &hints, &ai) != 0) {
    return -1;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  // No checkpoint signal can interrupt it: checkpoints are held off.
  int r = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo(ai);
  if (r < 0 && fd >= 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int run_local(int argc, char** argv) {
  // argv: dmtcp_ssh --local PROGRAM ARGV0 ARGS...
  if (argc < 4) {
    die("usage: dmtcp_ssh --local PROGRAM ARGV0 ARGS... (run by DMTCP)");
  }
  std::string program = argv[2];
  std::vector<std::string> args(argv + 4, argv + argc);
  std::string bin = self_dir();
  std::string nocheckpoint = bin + "/dmtcp_nocheckpoint";
  Split split = split_args(args);
  if (split.command < 0) {
    // No command (an interactive login): nothing to join; the remote
    // shell runs outside the computation.
    std::vector<char*> v{nocheckpoint.data(), program.data()};
    for (std::string& a : args) {
      v.push_back(a.data());
    }
    v.push_back(nullptr);
    execv(v[0], v.data());
    die("cannot run %s: %s", nocheckpoint.c_str(), strerror(errno));
  }
  const char* host = getenv("DMTCP_COORD_HOST");
  const char* port = getenv("DMTCP_COORD_PORT");
  if (host == nullptr || port == nullptr) {
    die("not under DMTCP (no DMTCP_COORD_HOST/PORT)");
  }
  if (loopback(host)) {
    die("the coordinator at %s:%s listens on loopback only: the remote "
        "command cannot join it (start it with --bind ADDR and launch with "
        "-h ADDR, docs/ssh.md)",
        host, port);
  }
  std::string command;
  for (size_t i = static_cast<size_t>(split.command); i < args.size(); ++i) {
    command += (command.empty() ? "" : " ") + args[i];
  }
  std::string remote = "exec " + quoted(bin + "/dmtcp_launch") +
                       " --join-coordinator -h " + quoted(host) + " -p " +
                       quoted(port);
  const char* tmpdir = getenv("DMTCP_TMPDIR");
  if (tmpdir != nullptr && tmpdir[0] != '\0') {
    remote += " --tmpdir " + quoted(tmpdir);
  }
  const char* ckptdir = getenv("DMTCP_CHECKPOINT_DIR");
  if (ckptdir != nullptr && ckptdir[0] != '\0') {
    remote += " --ckptdir " + quoted(ckptdir);
  }
  remote += " " + quoted(bin + "/dmtcp_ssh") + " --remote " + quoted(command);

  std::vector<char*> v{nocheckpoint.data(), program.data()};
  for (int i = 0; i < split.command; ++i) {
    v.push_back(args[static_cast<size_t>(i)].data());
  }
  v.push_back(remote.data());
  v.push_back(nullptr);

  hold_checkpoints();  // until the real remote shell is gone (step 4)
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    die("pipe: %s", strerror(errno));
  }
  pid_t shell = fork();
  if (shell < 0) {
    die("fork: %s", strerror(errno));
  }
  if (shell == 0) {
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out[1], 1);
    execv(v[0], v.data());
    _exit(127);
  }
  close(out[1]);

  // 3. The remote side's address and token come first on the channel;
  // anything printed before them is the remote shell's own output.
  FILE* from_shell = fdopen(out[0], "r");
  char* line = nullptr;
  size_t cap = 0;
  int conn = -1;
  while (conn < 0 && getline(&line, &cap, from_shell) > 0) {
    char addr[256], rport[16], token[2 * kTokenBytes + 1];
    if (sscanf(line, "DMTCP_SSH_READY %255s %15s %64s", addr, rport, token) !=
        3) {
      fputs(line, stdout);
      continue;
    }
    fflush(stdout);
    conn = connect_to(addr, rport);
    if (conn < 0) {
      die("cannot connect to the remote command's relay at %s:%s", addr, rport);
    }
    unsigned char raw[kTokenBytes];
    for (size_t i = 0; i < kTokenBytes; ++i) {
      unsigned int b = 0;
      sscanf(token + 2 * i, "%2x", &b);
      raw[i] = static_cast<unsigned char>(b);
    }
    if (!write_all(conn, raw, sizeof raw)) {
      die("cannot send the token to %s:%s", addr, rport);
    }
  }
  // The remote side has detached: the remote shell's session ends.
  char drain[256];
  while (fread(drain, 1, sizeof drain, from_shell) > 0) {
  }
  fclose(from_shell);
  free(line);
  int status = 0;
  while (waitpid(shell, &status, 0) < 0 && errno == EINTR) {
  }
  if (conn < 0) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
    fprintf(stderr,
            "dmtcp_ssh: the remote command did not join the computation "
            "(%s exited with %d)\n",
            program.c_str(), code);
    return code != 0 ? code : 255;
  }
  let_checkpoints_in();

  // 4. Relay until the remote command's exit status arrives.
  signal(SIGPIPE, SIG_IGN);
  Relay relay(conn);
  if (split.no_stdin) {
    relay.queue(kStdin, nullptr, 0);
  } else {
    relay.add_source(0, kStdin);
  }
  relay.add_sink(1, kStdout);
  relay.add_sink(2, kStderr);
  while (!(relay.exited() && relay.flushed()) && relay.step()) {
  }
  if (!relay.exited()) {
    fprintf(stderr,
            "dmtcp_ssh: the connection to the remote command was "
            "lost\n");
    return 255;
  }
  return relay.exit_status();
}

// ---------------------------------------------------------------- remote

int run_remote(int argc, char** argv) {
  if (argc != 3) {
    die("usage: dmtcp_ssh --remote COMMAND (run by DMTCP)");
  }
  hold_checkpoints();  // until the channel is dropped (step 3)
  // The address this host reaches the coordinator from (the route's
  // source: what a connected UDP socket is given), any port.
  const char* host = getenv("DMTCP_COORD_HOST");
  const char* cport = getenv("DMTCP_COORD_PORT");
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* ai = nullptr;
  if (host == nullptr || cport == nullptr ||
      getaddrinfo(host, cport, &hints, &ai) != 0) {
    die("not under DMTCP (no usable DMTCP_COORD_HOST/PORT)");
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int probe = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0 || connect(probe, ai->ai_addr, ai->ai_addrlen) != 0 ||
      getsockname(probe, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    die("no route to the coordinator at %s: %s", host, strerror(errno));
  }
  close(probe);
  freeaddrinfo(ai);
  if (ss.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&ss)->sin_port = 0;
  } else {
    reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = 0;
  }
  int listener = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&ss), len) ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    die("cannot listen for the relay: %s", strerror(errno));
  }
  char addr[NI_MAXHOST], port[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, addr, sizeof addr,
                  port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    die("getnameinfo failed");
  }
  unsigned char token[kTokenBytes];
  if (getrandom(token, sizeof token, 0) != sizeof token) {
    die("getrandom: %s", strerror(errno));
  }
  printf("DMTCP_SSH_READY %s %s %s\n", addr, port,
         hex(token, sizeof token).c_str());
  fflush(stdout);
  if (!wait_readable(listener, kAcceptTimeoutMs)) {
    die("no connection from the calling side within %s s", "60");
  }
  int conn = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  unsigned char got[kTokenBytes];
  if (conn < 0 || !read_exact(conn, got, sizeof got, kAcceptTimeoutMs) ||
      memcmp(got, token, sizeof token) != 0) {
    die("the relay connection did not bring the token");
  }
  close(listener);

  // Detach: the parent's exit ends the remote shell's session.
  pid_t daemon = fork();
  if (daemon < 0) {
    die("fork: %s", strerror(errno));
  }
  if (daemon > 0) {
    let_checkpoints_in();
    return 0;
  }
  setsid();
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(null, 1);
  dup2(null, 2);
  close(null);
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
      pipe2(err, O_CLOEXEC) != 0) {
    _exit(255);
  }
  pid_t child = fork();
  if (child == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    const char* shell = getenv("SHELL");
    if (shell == nullptr || shell[0] == '\0') {
      shell = "/bin/sh";
    }
    execl(shell, shell, "-c", argv[2], static_cast<char*>(nullptr));
    fprintf(stderr, "dmtcp_ssh: cannot run %s: %s\n", shell, strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  Relay relay(conn);
  if (child < 0) {
    const char msg[] = "dmtcp_ssh: fork failed on the remote host\n";
    relay.queue(kStderr, msg, sizeof msg - 1);
    close(out[0]);
    close(err[0]);
  } else {
    relay.add_source(out[0], kStdout);
    relay.add_source(err[0], kStderr);
  }
  relay.add_sink(in[1], kStdin);
  let_checkpoints_in();
  while (relay.sources_open() && relay.step()) {
  }
  if (relay.conn_closed()) {
    relay.close_local();  // the calling side is gone
  }
  int status = 0;
  int code = 255;
  if (child > 0) {
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  unsigned char be[4] = {0, 0, 0, static_cast<unsigned char>(code)};
  relay.queue(kExit, be, sizeof be);
  while (!relay.conn_closed() && !relay.flushed() && relay.step()) {
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "--local") == 0) {
    return run_local(argc, argv);
  }
  if (argc >= 2 && strcmp(argv[1], "--remote") == 0) {
    return run_remote(argc, argv);
  }
  fprintf(stderr,
          "dmtcp_ssh: run by DMTCP in place of a remote shell (docs/ssh.md); "
          "not a command\n");
  return 1;
}
