#include "tools/launch/plugins.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace dmtcp::launch {
namespace {

const char* const kInternal[] = {"pid",   "file",    "socket",
                                 "event", "sysvipc", "timer"};

// A constructor that has not returned by then never will.
constexpr int kLoadTimeoutMs = 30000;

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  return realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

bool is_file(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  std::string name = abbrev != nullptr ? std::string("SIG") + abbrev
                                       : "signal " + std::to_string(sig);
  const char* desc = sigdescr_np(sig);
  return desc != nullptr ? name + ": " + desc : name;
}

}  // namespace

bool is_internal_plugin(const std::string& name) {
  for (const char* n : kInternal) {
    if (name == n) {
      return true;
    }
  }
  return false;
}

std::string internal_plugin_names() {
  std::string s;
  for (const char* n : kInternal) {
    s += (s.empty() ? "" : " ") + std::string(n);
  }
  return s;
}

bool find_plugin(const std::string& name, std::string* path,
                 std::string* error) {
  std::vector<std::string> tried;
  if (name.find('/') != std::string::npos) {
    tried.push_back(name);
  } else {
    tried.push_back(name);  // the current directory
    const char* llp = getenv("LD_LIBRARY_PATH");
    std::string dirs = llp != nullptr ? llp : "";
    size_t start = 0;
    while (!dirs.empty() && start <= dirs.size()) {
      size_t colon = dirs.find(':', start);
      std::string dir =
          dirs.substr(start, colon == std::string::npos ? std::string::npos
                                                        : colon - start);
      if (!dir.empty()) {
        tried.push_back(dir + "/" + name);
      }
      if (colon == std::string::npos) {
        break;
      }
      start = colon + 1;
    }
  }
  for (const std::string& t : tried) {
    if (is_file(t)) {
      *path = real_path(t);
      return true;
    }
  }
  struct stat st {};
  if (stat(tried[0].c_str(), &st) == 0) {
    *error = "plugin " + name + " is not a regular file";
  } else if (name.find('/') != std::string::npos) {
    *error = "plugin " + name + " not found: " + strerror(errno);
  } else {
    *error = "plugin " + name +
             " not found in the current directory or $LD_LIBRARY_PATH "
             "(give its path, or add its directory to LD_LIBRARY_PATH)";
  }
  return false;
}

bool check_plugin(const std::string& path, const std::string& core,
                  std::string* error) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + strerror(errno);
    return false;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    close(p[0]);
    close(p[1]);
    return false;
  }
  if (pid == 0) {
    close(p[0]);
    rlimit no_core{0, 0};  // a crashing constructor leaves no core file
    setrlimit(RLIMIT_CORE, &no_core);
    // The runtime first (it stays inert in a DMTCP tool): plugins use its
    // API (NEXT_FNC, publish/subscribe, dmtcp_alloc) and would not link
    // alone.
    std::string msg;
    if (dlopen(core.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
      msg = "runtime " + core + " cannot be loaded: " + dlerror();
    } else if (dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) {
      msg = "plugin " + path + " cannot be loaded: " + dlerror();
    }
    if (!msg.empty()) {
      (void)!write(p[1], msg.data(), msg.size());
      _exit(1);
    }
    _exit(0);
  }
  close(p[1]);
  // Read the child's message until it exits.  Not just until EOF: a
  // constructor may start a process that keeps the pipe open.
  std::string msg;
  int64_t deadline = now_ms() + kLoadTimeoutMs;
  int status = 0;
  bool exited = false;
  bool timed_out = false;
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  while (!exited) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    pollfd pfd{p[0], POLLIN, 0};
    poll(&pfd, 1, left < 50 ? static_cast<int>(left) : 50);
    exited = waitpid(pid, &status, WNOHANG) == pid;
    char buf[1024];
    ssize_t got;
    while ((got = read(p[0], buf, sizeof buf)) > 0) {
      msg.append(buf, static_cast<size_t>(got));
    }
  }
  close(p[0]);
  if (timed_out) {
    *error = "plugin " + path + " did not finish loading within " +
             std::to_string(kLoadTimeoutMs / 1000) +
             " s (its constructor hangs?)";
    return false;
  }
  if (WIFSIGNALED(status)) {
    *error = "plugin " + path + " crashed while loading (" +
             signal_text(WTERMSIG(status)) + ")";
    return false;
  }
  if (WEXITSTATUS(status) != 0) {
    *error = !msg.empty()
                 ? msg
                 : "plugin " + path + " exited with status " +
                       std::to_string(WEXITSTATUS(status)) + " while loading";
    return false;
  }
  return true;
}

}  // namespace dmtcp::launch
