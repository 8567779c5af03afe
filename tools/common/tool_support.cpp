#include "tools/common/tool_support.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "common/parse.h"
#include "runtime/coord_client.h"

namespace dmtcp::tools {

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) {
    return ".";
  }
  buf[n] = '\0';
  std::string path(buf);
  return path.substr(0, path.rfind('/'));
}

std::string lib_dir() { return self_dir() + "/../lib/dmtcp"; }

std::string absolute_path(const std::string& path) {
  if (path.empty() || path[0] == '/') {
    return path;
  }
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) {
    return path;
  }
  std::string rel = path;
  while (rel.rfind("./", 0) == 0) {
    rel.erase(0, 2);
  }
  return rel.empty() || rel == "." ? cwd : std::string(cwd) + "/" + rel;
}

bool parse_int(const char* s, int* out) {
  long v = 0;
  if (!parse_long(s, 0, INT_MAX, &v)) {
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

void coordinator_options_from_env(CoordinatorOptions* opts) {
  if (const char* h = getenv("DMTCP_COORD_HOST"); h != nullptr && *h) {
    opts->host = h;
  }
  int port = 0;
  if (const char* p = getenv("DMTCP_COORD_PORT");
      p != nullptr && parse_int(p, &port)) {
    opts->port = port;
  }
}

namespace {

bool coordinator_answers(const CoordinatorOptions& opts) {
  if (opts.port == 0) {
    return false;
  }
  int fd = coord::connect_tcp(opts.host.c_str(), opts.port, 2000);
  if (fd < 0) {
    return false;
  }
  close(fd);
  return true;
}

bool is_local(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

std::string where(const CoordinatorOptions& opts) {
  return opts.host + ":" + std::to_string(opts.port);
}


}  // namespace

int tool_connection(const CoordinatorOptions& opts, std::string* error,
                    const char* progname) {
  int fd = coord::connect_tcp(opts.host.c_str(), opts.port, 5000);
  if (fd < 0) {
    *error = unreachable(opts.host, opts.port, errno);
    return -1;
  }
  timeval tv{10, 0};  // a coordinator that never answers is not waited for
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  proto::HelloPayload h{};
  h.role = static_cast<uint32_t>(proto::Role::kTool);
  h.pid = getpid();
  h.ppid = getppid();
  proto::copy_field(h.progname, sizeof h.progname, progname);
  if (!proto::read_secret(opts.port, h.secret)) {
    *error = "cannot read the key of the coordinator at " + where(opts) +
             " from " + proto::key_file_path(opts.port) + ": " +
             strerror(errno) +
             " (was it started with another DMTCP_TMPDIR or --tmpdir?)";
    close(fd);
    return -1;
  }
  proto::WelcomePayload w{};
  char why[512];
  if (coord::hello(fd, h, &w, why, sizeof why) != 0) {
    *error = "coordinator at " + where(opts) + ": " + why;
    close(fd);
    return -1;
  }
  return fd;
}


bool tool_command(int fd, char letter, int32_t arg, std::string* text) {
  proto::CommandPayload cmd{};
  cmd.command = letter;
  cmd.arg = arg;
  if (proto::send_msg(fd, proto::MsgType::kCommand, &cmd, sizeof cmd) != 0) {
    *text = std::string("cannot send the command: ") + strerror(errno);
    return false;
  }
  std::vector<char> buf(proto::kMaxPayload);
  proto::MsgHeader h{};
  if (proto::recv_msg(fd, &h, buf.data(), buf.size()) != 0) {
    *text = std::string("no answer to the command: ") + strerror(errno);
    return false;
  }
  buf.resize(h.payload_len);
  proto::CommandReplyPayload r{};
  if (h.type != static_cast<uint16_t>(proto::MsgType::kCommandReply) ||
      buf.size() < sizeof r) {
    *text = std::string(buf.data(), buf.size());
    return false;
  }
  memcpy(&r, buf.data(), sizeof r);
  *text = std::string(buf.data() + sizeof r,
                      std::min<size_t>(r.text_len, buf.size() - sizeof r));
  return r.status == 0;
}

std::string unreachable(const std::string& host, int port, int err) {
  if (err == EHOSTUNREACH) {
    std::string why = coord::resolve_failure(host.c_str());
    if (!why.empty()) {
      return "cannot resolve the coordinator host '" + host + "': " + why;
    }
  }
  return "no coordinator at " + host + ":" + std::to_string(port) + ": " +
         strerror(err);
}

bool check_coordinator_key(const CoordinatorOptions& opts, std::string* error) {
  int fd = tool_connection(opts, error);
  if (fd < 0) {
    return false;
  }
  close(fd);
  return true;
}

void stop_started_coordinator(const CoordinatorOptions& opts) {
  if (!opts.started) {
    return;
  }
  std::string error;
  int fd = tool_connection(opts, &error);
  if (fd < 0) {
    return;
  }
  // 'Q': quit if no process is connected (one may have joined meanwhile,
  // e.g. from another dmtcp_launch on the same port).
  std::string text;
  (void)tool_command(fd, 'Q', 0, &text);
  close(fd);
}

bool ensure_coordinator(CoordinatorOptions* opts, std::string* error) {
  opts->started = false;
  if (std::string why = coord::resolve_failure(opts->host.c_str());
      !why.empty()) {
    *error = "cannot resolve the coordinator host '" + opts->host + "': " + why;
    return false;
  }
  bool running = coordinator_answers(*opts);
  if (running && opts->new_coordinator) {
    *error = "a coordinator already runs at " + opts->host + ":" +
             std::to_string(opts->port) + " (--new-coordinator)";
    return false;
  }
  if (running) {
    return true;
  }
  if (opts->join_only) {
    *error = "no coordinator at " + opts->host + ":" +
             std::to_string(opts->port) + " (--join-coordinator)";
    return false;
  }
  if (!is_local(opts->host)) {
    *error = "no coordinator at " + opts->host + ":" +
             std::to_string(opts->port) +
             " (start one there: only a local one is started on demand)";
    return false;
  }
  std::string port_file = opts->port_file;
  if (opts->port == 0 && port_file.empty()) {
    char tmpl[] = "/tmp/dmtcp-port-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) {
      *error = std::string("cannot make a port file: ") + strerror(errno);
      return false;
    }
    close(fd);
    port_file = tmpl;
  }
  std::string exe = self_dir() + "/dmtcp_coordinator";
  std::string port_str = std::to_string(opts->port);
  std::string interval_str = std::to_string(opts->interval);
  std::vector<const char*> argv = {exe.c_str(), "--exit-on-last", "--daemon",
                                   "-q", "-p", port_str.c_str()};
  if (!port_file.empty()) {
    argv.push_back("--port-file");
    argv.push_back(port_file.c_str());
  }
  if (!opts->ckpt_dir.empty()) {
    argv.push_back("--ckptdir");
    argv.push_back(opts->ckpt_dir.c_str());
  }
  if (opts->interval > 0) {
    argv.push_back("-i");
    argv.push_back(interval_str.c_str());
  }
  if (!opts->log_file.empty()) {
    argv.push_back("--coord-logfile");
    argv.push_back(opts->log_file.c_str());
  }
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    return false;
  }
  if (pid == 0) {
    // The coordinator must not join the computation itself.
    unsetenv("LD_PRELOAD");
    execv(exe.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  int status = 0;
  // --daemon: the first process exits once the socket listens.
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = "could not start a coordinator on port " + port_str +
             (WIFEXITED(status) && WEXITSTATUS(status) == 127
                  ? " (" + exe + " missing)"
                  : "");
    if (!port_file.empty() && port_file != opts->port_file) {
      unlink(port_file.c_str());
    }
    return false;
  }
  if (!port_file.empty()) {
    std::ifstream in(port_file);
    int port = 0;
    in >> port;
    if (port_file != opts->port_file) {
      unlink(port_file.c_str());  // ours, not the user's
    }
    if (port <= 0) {
      *error = "the coordinator did not report its port";
      return false;
    }
    opts->port = port;
  }
  opts->started = true;
  return true;
}

bool make_directories(const std::string& path, std::string* error) {
  std::string abs = absolute_path(path);
  for (size_t at = 1; at <= abs.size(); ++at) {
    if (at < abs.size() && abs[at] != '/') {
      continue;
    }
    std::string part = abs.substr(0, at);
    struct stat st {};
    if (stat(part.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        *error = part + " is not a directory";
        return false;
      }
      continue;
    }
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      *error = "cannot create " + part + ": " + strerror(errno);
      return false;
    }
  }
  return true;
}

std::string shared_dir_risk(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return "";
  }
  bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (st.st_uid == getuid() && !others_write) {
    return "";
  }
  std::string who = st.st_uid != getuid() ? "belongs to another user"
                                          : "is writable by others";
  if ((st.st_mode & S_ISVTX) != 0 || !others_write) {
    // Sticky (or only its owner writes): nothing of ours can be replaced,
    // but a name taken before us fails that checkpoint.
    return "checkpoint directory " + dir + " " + who +
           ": a file planted under a name we use fails the checkpoint "
           "(never followed); prefer a private directory";
  }
  return "checkpoint directory " + dir + " " + who +
         " and is not sticky: others can replace its images and restart "
         "script, which run as you on restart; use a private directory";
}

void print_version(const char* tool) {
  printf(
      "%s (DMTCP) %s\n"
      "A DMTCP-compatible checkpoint/restart in C++ (dmtcp_cpp); command\n"
      "lines and plugin API of DMTCP 3.x.\n",
      tool, DMTCP_CPP_VERSION);
}

}  // namespace dmtcp::tools
