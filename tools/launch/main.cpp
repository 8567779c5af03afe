// dmtcp_launch (also installed as dmtcp_checkpoint) [options] PROGRAM ARGS...
//
// Checks everything it can first (options, the plugins, the program), then
// makes sure a coordinator runs (starting one when none does), puts the
// runtime and the plugins into LD_PRELOAD and the configuration into DMTCP_*
// variables, and execs the program.  Every plugin is loaded once in a
// throw-away child first (plugins.h), so a missing or broken one is
// reported before the program starts.  A coordinator we started is stopped
// again if the exec fails.
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "tools/common/tool_support.h"
#include "tools/launch/plugins.h"

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

// One line (SPEC section 3): the problem, and where the usage text is.
[[noreturn]] void usage_error(const std::string& what) {
  fprintf(stderr, "dmtcp_launch: %s (see dmtcp_launch --help)\n", what.c_str());
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
      std::string name = a.substr(10, a.size() - 17);
      if (name == "alloc" || name == "dl") {
        continue;  // upstream's plugins we do not have: nothing to disable
      }
      if (!dmtcp::launch::is_internal_plugin(name)) {
        fail("unknown plugin '" + name + "' in " + a + " (internal plugins: " +
             dmtcp::launch::internal_plugin_names() + ")");
      }
      o.disabled.push_back(name);
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

std::string build_preload(const Options& o) {
  std::string lib = dmtcp::tools::lib_dir();
  std::string core = absolute(lib + "/libdmtcp.so");
  if (access(core.c_str(), R_OK) != 0) {
    fail("runtime " + core + " not found (broken installation?)");
  }
  std::vector<std::string> outer;
  for (const char* name : kOuterPlugins) {
    std::string path = absolute(lib + "/libdmtcp_" + name + ".so");
    if (internal_enabled(o, name) && access(path.c_str(), R_OK) == 0) {
      outer.push_back(path);
    }
  }
  std::string pid_plugin = absolute(lib + "/libdmtcp_pid.so");
  bool with_pid =
      internal_enabled(o, "pid") && access(pid_plugin.c_str(), R_OK) == 0;
  // A library is preloaded once, however often it is named (DMTCP_PLUGIN
  // and --with-plugin, two spellings of one path, an internal plugin).
  std::set<std::string> seen(outer.begin(), outer.end());
  seen.insert(core);
  if (with_pid) {
    seen.insert(pid_plugin);
  }
  std::vector<std::string> list;
  for (const std::string& name : o.user_plugins) {
    std::string path;
    std::string error;
    if (!dmtcp::launch::find_plugin(name, &path, &error)) {
      fail(error);
    }
    if (!seen.insert(path).second) {
      continue;
    }
    if (!dmtcp::launch::check_plugin(path, core, &error)) {
      fail(error);
    }
    list.push_back(path);
  }
  list.insert(list.end(), outer.begin(), outer.end());
  list.push_back(core);
  if (with_pid) {
    list.push_back(pid_plugin);
  }
  std::string joined;
  for (const std::string& p : list) {
    joined += (joined.empty() ? "" : ":") + p;
  }
  return joined;
}

// What execvp would run: a name with a '/' as it is, else the first
// executable regular file of that name on $PATH.  false with errno set.
bool find_program(const char* name, std::string* path) {
  if (strchr(name, '/') != nullptr) {
    *path = name;
    return access(name, X_OK) == 0;
  }
  const char* env = getenv("PATH");
  std::string dirs = env != nullptr ? env : "/bin:/usr/bin";
  int err = ENOENT;
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(
        start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(candidate.c_str(), X_OK) == 0) {
        *path = candidate;
        return true;
      }
      err = EACCES;
    }
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
  errno = err;
  return false;
}

// An ELF executable without a program interpreter is statically linked:
// the dynamic loader never runs in it, so LD_PRELOAD cannot bring in the
// runtime and it would never join the coordinator.
bool is_static_elf(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  Elf64_Ehdr eh{};
  bool is_static = false;
  if (pread(fd, &eh, sizeof eh, 0) == static_cast<ssize_t>(sizeof eh) &&
      memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 &&
      (eh.e_type == ET_EXEC || eh.e_type == ET_DYN) &&
      eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum > 0) {
    is_static = true;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph{};
      off_t off = static_cast<off_t>(eh.e_phoff + i * sizeof ph);
      if (pread(fd, &ph, sizeof ph, off) != static_cast<ssize_t>(sizeof ph)) {
        is_static = false;  // unreadable: let the exec judge it
        break;
      }
      if (ph.p_type == PT_INTERP) {
        is_static = false;
        break;
      }
    }
  }
  close(fd);
  return is_static;
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
  std::string program;
  if (!find_program(o.program[0], &program)) {
    fprintf(stderr, "dmtcp_launch: cannot run %s: %s\n", o.program[0],
            strerror(errno));
    return 127;
  }
  if (is_static_elf(program)) {
    fail(program +
         " is statically linked: the runtime cannot be preloaded into it, "
         "so it cannot be checkpointed");
  }
  // The coordinator we may start writes its key under the tmpdir, and the
  // program looks for it there (protocol.h key_dir_path): set it first.
  if (!o.tmpdir.empty()) {
    setenv("DMTCP_TMPDIR", dmtcp::tools::absolute_path(o.tmpdir).c_str(), 1);
  }
  std::string error;
  if (!dmtcp::tools::ensure_coordinator(&o.coord, &error) ||
      !dmtcp::tools::check_coordinator_key(o.coord, &error)) {
    dmtcp::tools::stop_started_coordinator(o.coord);
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
  if (o.quiet) {
    setenv("DMTCP_QUIET", "1", 1);
  }
  unsetenv("DMTCP_UNIQUE_PID");
  unsetenv("DMTCP_PARENT_UNIQUE_PID");
  // Ours first, then whatever the user preloads; the runtime hides ours
  // from the program again (core/runtime/preload_env.h).
  setenv("DMTCP_PRELOAD", preload.c_str(), 1);
  std::string user_preload;
  if (const char* old = getenv("LD_PRELOAD"); old != nullptr) {
    user_preload = old;
  }
  setenv(
      "LD_PRELOAD",
      (user_preload.empty() ? preload : preload + ":" + user_preload).c_str(),
      1);
  execvp(o.program[0], o.program);
  int err = errno;
  // Nothing will join the coordinator we started: it would wait forever.
  dmtcp::tools::stop_started_coordinator(o.coord);
  fprintf(
      stderr, "dmtcp_launch: cannot run %s: %s%s\n", o.program[0],
      strerror(err),
      err == ENOENT ? " (its #! interpreter or ELF loader is missing)" : "");
  return 127;
}
