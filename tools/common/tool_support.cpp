#include "tools/common/tool_support.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
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

}  // namespace

bool ensure_coordinator(CoordinatorOptions* opts, std::string* error) {
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
  std::string port_file;
  if (opts->port == 0) {
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
    if (!port_file.empty()) {
      unlink(port_file.c_str());
    }
    return false;
  }
  if (!port_file.empty()) {
    std::ifstream in(port_file);
    int port = 0;
    in >> port;
    unlink(port_file.c_str());
    if (port <= 0) {
      *error = "the coordinator did not report its port";
      return false;
    }
    opts->port = port;
  }
  return true;
}

}  // namespace dmtcp::tools
