// dmtcp_launch (also installed as dmtcp_checkpoint) [options] PROGRAM ARGS...
//
// Makes sure a coordinator runs (starting one when none does), puts the
// runtime and the plugins into LD_PRELOAD and the configuration into DMTCP_*
// variables, then execs the program.  Every plugin is loaded once in a
// throw-away child first, so a missing or broken one is reported before
// the program starts.
#include <dlfcn.h>
#include <getopt.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/common/tool_support.h"

namespace {

using dmtcp::tools::CoordinatorOptions;

constexpr const char* kUsage =
    "usage: dmtcp_launch [-h|--coord-host H] [-p|--coord-port N] "
    "[-j|--join-coordinator]\n"
    "                    [--new-coordinator] [-i|--interval S] "
    "[--ckptdir D] [--no-gzip|--gzip]\n"
    "                    [--ckpt-open-files] [--with-plugin A.so:B.so] "
    "[--disable-<name>-plugin] [--ckpt-signal N]\n"
    "                    [--tmpdir D] [-q] PROGRAM ARGS...\n";

// Internal plugins in LD_PRELOAD order (SPEC section 4); pid goes last,
// after libdmtcp.so.
const char* const kOuterPlugins[] = {"socket", "file", "event", "sysvipc",
                                     "timer"};

[[noreturn]] void usage_error(const std::string& what) {
  fprintf(stderr, "dmtcp_launch: %s\n%s", what.c_str(), kUsage);
  exit(1);
}

[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "dmtcp_launch: %s\n", what.c_str());
  exit(1);
}

struct Options {
  CoordinatorOptions coord;
  std::string ckpt_dir;
  std::string tmpdir;
  bool gzip = true;
  bool ckpt_open_files = false;
  int ckpt_signal = SIGUSR2;
  bool quiet = false;
  std::vector<std::string> user_plugins;
  std::vector<std::string> disabled;
  char** program = nullptr;
};

std::string upper(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  }
  return s;
}

void split_plugins(const std::string& list, std::vector<std::string>* out) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t colon = list.find(':', start);
    std::string one = list.substr(
        start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!one.empty()) {
      out->push_back(one);
    }
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
}

std::string absolute(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) != nullptr) {
    return buf;
  }
  return path;
}

Options parse(int argc, char** argv) {
  Options o;
  dmtcp::tools::coordinator_options_from_env(&o.coord);
  if (const char* d = getenv("DMTCP_CHECKPOINT_DIR"); d != nullptr && *d) {
    o.ckpt_dir = d;
  }
  if (const char* g = getenv("DMTCP_GZIP"); g != nullptr) {
    o.gzip = strcmp(g, "0") != 0;
  }
  if (const char* p = getenv("DMTCP_PLUGIN"); p != nullptr) {
    split_plugins(p, &o.user_plugins);
  }
  if (const char* t = getenv("DMTCP_TMPDIR"); t != nullptr) {
    o.tmpdir = t;
  }
  if (const char* s = getenv("DMTCP_SIGCKPT"); s != nullptr) {
    dmtcp::tools::parse_int(s, &o.ckpt_signal);
  }
  if (const char* i = getenv("DMTCP_CHECKPOINT_INTERVAL"); i != nullptr) {
    dmtcp::tools::parse_int(i, &o.coord.interval);
  }
  std::vector<std::string> args(argv, argv + argc);
  int i = 1;
  auto value = [&](const std::string& opt) -> std::string {
    if (i + 1 >= argc) {
      usage_error("option " + opt + " needs a value");
    }
    return args[static_cast<size_t>(++i)];
  };
  auto number = [&](const std::string& opt) {
    std::string v = value(opt);
    int n = 0;
    if (!dmtcp::tools::parse_int(v.c_str(), &n)) {
      usage_error("bad value '" + v + "' for " + opt);
    }
    return n;
  };
  for (; i < argc; ++i) {
    const std::string& a = args[static_cast<size_t>(i)];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-') {
      break;
    }
    if (a == "-h" || a == "--coord-host" || a == "--host") {
      o.coord.host = value(a);
    } else if (a == "-p" || a == "--coord-port" || a == "--port") {
      o.coord.port = number(a);
    } else if (a == "-j" || a == "--join-coordinator" || a == "--join") {
      o.coord.join_only = true;
    } else if (a == "--new-coordinator") {
      o.coord.new_coordinator = true;
    } else if (a == "-i" || a == "--interval") {
      o.coord.interval = number(a);
    } else if (a == "--ckptdir") {
      o.ckpt_dir = value(a);
    } else if (a == "--no-gzip") {
      o.gzip = false;
    } else if (a == "--gzip") {
      o.gzip = true;
    } else if (a == "--ckpt-open-files") {
      o.ckpt_open_files = true;
    } else if (a == "--with-plugin") {
      split_plugins(value(a), &o.user_plugins);
    } else if (a == "--ckpt-signal" || a == "--mtcp-checkpoint-signal") {
      o.ckpt_signal = number(a);
    } else if (a == "--tmpdir") {
      o.tmpdir = value(a);
    } else if (a == "-q" || a == "--quiet") {
      o.quiet = true;
    } else if (a == "--help") {
      fputs(kUsage, stdout);
      exit(0);
    } else if (a.rfind("--disable-", 0) == 0 && a.size() > 17 &&
               a.compare(a.size() - 7, 7, "-plugin") == 0) {
      o.disabled.push_back(a.substr(10, a.size() - 17));
    } else {
      usage_error("unknown option '" + a + "'");
    }
  }
  if (i >= argc) {
    usage_error("no program given");
  }
  if (o.ckpt_signal <= 0 || o.ckpt_signal >= 65 || o.ckpt_signal == SIGKILL ||
      o.ckpt_signal == SIGSTOP) {
    usage_error("--ckpt-signal " + std::to_string(o.ckpt_signal) +
                " is not a usable signal");
  }
  o.program = argv + i;
  return o;
}

bool internal_enabled(const Options& o, const std::string& name) {
  for (const std::string& d : o.disabled) {
    if (d == name) {
      return false;
    }
  }
  const char* env = getenv(("DMTCP_" + upper(name) + "_PLUGIN").c_str());
  return env == nullptr || strcmp(env, "0") != 0;
}

// Loads the plugin in a child so its constructors cannot touch us.  The
// runtime is loaded first (it stays inert in a DMTCP tool): plugins use its
// API (NEXT_FNC, publish/subscribe, dmtcp_alloc) and would not link alone.
void check_plugin(const std::string& path, const std::string& core) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    fail("plugin " + path + " not found: " + strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    fail("plugin " + path + " is not a regular file");
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (dlopen(core.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
      fprintf(stderr, "dmtcp_launch: runtime %s cannot be loaded: %s\n",
              core.c_str(), dlerror());
      _exit(1);
    }
    if (dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) {
      fprintf(stderr, "dmtcp_launch: plugin %s cannot be loaded: %s\n",
              path.c_str(), dlerror());
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    exit(1);
  }
}

std::string build_preload(const Options& o) {
  std::string lib = dmtcp::tools::lib_dir();
  std::string core = absolute(lib + "/libdmtcp.so");
  if (access(core.c_str(), R_OK) != 0) {
    fail("runtime " + core + " not found (broken installation?)");
  }
  std::vector<std::string> list;
  for (const std::string& p : o.user_plugins) {
    std::string path = absolute(p);
    check_plugin(path, core);
    list.push_back(path);
  }
  for (const char* name : kOuterPlugins) {
    std::string path = lib + "/libdmtcp_" + name + ".so";
    if (internal_enabled(o, name) && access(path.c_str(), R_OK) == 0) {
      list.push_back(path);
    }
  }
  list.push_back(core);
  std::string pid_plugin = lib + "/libdmtcp_pid.so";
  if (internal_enabled(o, "pid") && access(pid_plugin.c_str(), R_OK) == 0) {
    list.push_back(absolute(pid_plugin));
  }
  std::string joined;
  for (const std::string& p : list) {
    joined += (joined.empty() ? "" : ":") + p;
  }
  return joined;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (o.ckpt_dir.empty()) {
    char cwd[PATH_MAX];
    o.ckpt_dir = getcwd(cwd, sizeof cwd) != nullptr ? cwd : ".";
  }
  struct stat st {};
  if (stat(o.ckpt_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    fail("checkpoint directory " + o.ckpt_dir + " does not exist");
  }
  o.ckpt_dir = absolute(o.ckpt_dir);
  o.coord.ckpt_dir.clear();  // images go where each process says
  std::string preload = build_preload(o);
  std::string error;
  if (!dmtcp::tools::ensure_coordinator(&o.coord, &error)) {
    fail(error);
  }
  setenv("DMTCP_COORD_HOST", o.coord.host.c_str(), 1);
  setenv("DMTCP_COORD_PORT", std::to_string(o.coord.port).c_str(), 1);
  setenv("DMTCP_CHECKPOINT_DIR", o.ckpt_dir.c_str(), 1);
  setenv("DMTCP_GZIP", o.gzip ? "1" : "0", 1);
  if (o.ckpt_open_files) {
    setenv("DMTCP_CKPT_OPEN_FILES", "1", 1);  // read by the file plugin
  }
  setenv("DMTCP_SIGCKPT", std::to_string(o.ckpt_signal).c_str(), 1);
  setenv("DMTCP_CHECKPOINT_INTERVAL", std::to_string(o.coord.interval).c_str(),
         1);
  if (!o.tmpdir.empty()) {
    setenv("DMTCP_TMPDIR", o.tmpdir.c_str(), 1);
  }
  if (o.quiet) {
    setenv("DMTCP_QUIET", "1", 1);
  }
  unsetenv("DMTCP_UNIQUE_PID");
  unsetenv("DMTCP_PARENT_UNIQUE_PID");
  // Ours first, then whatever the user preloads; the runtime hides ours
  // from the program again (core/runtime/preload_env.h).
  setenv("DMTCP_PRELOAD", preload.c_str(), 1);
  if (const char* old = getenv("LD_PRELOAD"); old != nullptr && *old) {
    preload += std::string(":") + old;
  }
  setenv("LD_PRELOAD", preload.c_str(), 1);
  execvp(o.program[0], o.program);
  fprintf(stderr, "dmtcp_launch: cannot run %s: %s\n", o.program[0],
          strerror(errno));
  return 127;
}
