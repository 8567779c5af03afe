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
    "Usage: dmtcp_launch [OPTIONS] PROGRAM ARGS...\n"
    "Coordinator:\n"
    "  -h, --coord-host H    coordinator host (env DMTCP_COORD_HOST)\n"
    "  -p, --coord-port N    coordinator port (env DMTCP_COORD_PORT)\n"
    "  --port-file F         a coordinator we start writes its port to F\n"
    "  -j, --join-coordinator  use a running coordinator, never start one\n"
    "  --new-coordinator     start a coordinator (a random port unless one\n"
    "                        is given); fail if one runs there\n"
    "  --any-coordinator     join one if it runs, else start it (default)\n"
    "  --coord-logfile F     a coordinator we start logs to F (env\n"
    "                        DMTCP_COORD_LOG_FILENAME)\n"
    "  -i, --interval S      checkpoint every S seconds (0 = never)\n"
    "Checkpoint images:\n"
    "  --ckptdir D           where images go (env DMTCP_CHECKPOINT_DIR;\n"
    "                        default: here); created if missing\n"
    "  --gzip, --no-gzip     compress images or not (env DMTCP_GZIP)\n"
    "  --ckpt-open-files, --checkpoint-open-files\n"
    "                        keep a copy of every open file with the image\n"
    "  --allow-file-overwrite  at restart a saved copy replaces a changed\n"
    "                        file (env "
    "DMTCP_ALLOW_OVERWRITE_WITH_CKPTED_FILES)\n"
    "  --ckpt-signal N       the signal used to checkpoint (default 12)\n"
    "  --forked-checkpoint, --no-forked-checkpoint\n"
    "                        write images from a copy-on-write child while\n"
    "                        the program runs on (env\n"
    "                        DMTCP_FORKED_CHECKPOINT=1)\n"
    "  --incremental, --no-incremental\n"
    "                        each image stores only the pages changed since\n"
    "                        the last (env DMTCP_INCREMENTAL=1); not with\n"
    "                        --forked-checkpoint\n"
    "  --incremental-full-every N  every N-th image of a chain is full\n"
    "                        (default 10, 0 = never; env\n"
    "                        DMTCP_INCREMENTAL_FULL_EVERY)\n"
    "  --enable-unique-checkpoint-filenames,\n"
    "  --disable-unique-checkpoint-filenames\n"
    "                        each checkpoint in its own directory\n"
    "                        <ckptdir>/ckpt_<computation>_<generation>/ (env\n"
    "                        DMTCP_UNIQUE_CKPT_FILENAMES or\n"
    "                        DMTCP_UNIQUE_CKPT_PLUGIN=1)\n"
    "Plugins:\n"
    "  --with-plugin A.so:B.so  preload these plugins (env DMTCP_PLUGIN)\n"
    "  --modify-env          at restart, apply <ckptdir>/dmtcp_env.txt\n"
    "  --pathvirt            not supported (upstream's path translation)\n"
    "  --disable-<name>-plugin  one internal plugin off (env\n"
    "                        DMTCP_<NAME>_PLUGIN=0): --disable-file-plugin,\n"
    "                        --disable-socket-plugin, --disable-event-plugin,\n"
    "                        --disable-svipc-plugin "
    "(--disable-sysvipc-plugin),\n"
    "                        --disable-timer-plugin, --disable-pid-plugin;\n"
    "                        accepted, nothing to disable here:\n"
    "                        --disable-alloc-plugin, --disable-dl-plugin,\n"
    "                        --disable-ssh-plugin, --disable-pty-plugin\n"
    "  --disable-all-plugins, --no-plugins\n"
    "                        no internal plugin (env\n"
    "                        DMTCP_DISABLE_ALL_PLUGINS=1); --with-plugin ones\n"
    "                        still load\n"
    "Other:\n"
    "  --tmpdir D            temporary files and the coordinator's key\n"
    "                        (env DMTCP_TMPDIR)\n"
    "  -q, --quiet           errors only\n"
    "  --help, --version     this text, or the version\n";

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
  bool allow_file_overwrite = false;
  bool unique_ckpt = false;
  bool forked_ckpt = false;
  bool incremental = false;
  int incremental_full_every = -1;  // -1: the runtime's default
  bool modify_env = false;
  bool all_plugins_off = false;
  bool port_given = false;
  int ckpt_signal = SIGUSR2;
  bool quiet = false;
  std::vector<std::string> user_plugins;
  std::vector<std::string> disabled;
  char** program = nullptr;
};

// "1" (or any value but "0" and ""): upstream's on/off variables.
bool env_flag(const char* name) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' && strcmp(v, "0") != 0;
}

// Upstream's plugins we have no counterpart for (their work is done by the
// core, or does not apply): --disable-<name>-plugin is accepted.
bool is_upstream_only_plugin(const std::string& name) {
  return name == "alloc" || name == "dl" || name == "ssh" || name == "pty";
}

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
  o.port_given = getenv("DMTCP_COORD_PORT") != nullptr;
  o.unique_ckpt = env_flag("DMTCP_UNIQUE_CKPT_FILENAMES") ||
                  env_flag("DMTCP_UNIQUE_CKPT_PLUGIN");
  o.all_plugins_off = env_flag("DMTCP_DISABLE_ALL_PLUGINS");
  o.forked_ckpt = env_flag("DMTCP_FORKED_CHECKPOINT");
  o.incremental = env_flag("DMTCP_INCREMENTAL");
  o.allow_file_overwrite = env_flag("DMTCP_ALLOW_OVERWRITE_WITH_CKPTED_FILES");
  if (const char* f = getenv("DMTCP_COORD_LOG_FILENAME"); f != nullptr && *f) {
    o.coord.log_file = f;
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
      o.port_given = true;
    } else if (a == "--port-file") {
      o.coord.port_file = dmtcp::tools::absolute_path(value(a));
    } else if (a == "--coord-logfile") {
      o.coord.log_file = dmtcp::tools::absolute_path(value(a));
    } else if (a == "--any-coordinator") {
      o.coord.join_only = false;  // the default
      o.coord.new_coordinator = false;
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
    } else if (a == "--ckpt-open-files" || a == "--checkpoint-open-files") {
      o.ckpt_open_files = true;
    } else if (a == "--allow-file-overwrite") {
      o.allow_file_overwrite = true;
    } else if (a == "--enable-unique-checkpoint-filenames") {
      o.unique_ckpt = true;
    } else if (a == "--disable-unique-checkpoint-filenames") {
      o.unique_ckpt = false;
    } else if (a == "--forked-checkpoint") {
      o.forked_ckpt = true;
    } else if (a == "--no-forked-checkpoint") {
      o.forked_ckpt = false;
    } else if (a == "--incremental") {
      o.incremental = true;
    } else if (a == "--no-incremental") {
      o.incremental = false;
    } else if (a == "--incremental-full-every") {
      o.incremental_full_every = number(a);
      if (o.incremental_full_every < 0) {
        usage_error("--incremental-full-every wants a count >= 0");
      }
    } else if (a == "--modify-env") {
      o.modify_env = true;
    } else if (a == "--pathvirt") {
      // Upstream's path-virtualization plugin has no counterpart yet: a
      // restart would silently use the old paths.
      usage_error("--pathvirt (DMTCP_PATH_MAPPING) is not supported");
    } else if (a == "--disable-all-plugins" || a == "--no-plugins") {
      o.all_plugins_off = true;
    } else if (a == "--kernel-loader") {
      // Upstream's split-process mode (MANA): no counterpart here.
      usage_error("--kernel-loader (split-process plugins) is not supported");
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
    } else if (a == "--version") {
      dmtcp::tools::print_version("dmtcp_launch");
      exit(0);
    } else if (a.rfind("--disable-", 0) == 0 && a.size() > 17 &&
               a.compare(a.size() - 7, 7, "-plugin") == 0) {
      std::string name = a.substr(10, a.size() - 17);
      if (name == "svipc") {
        name = "sysvipc";  // upstream's name
      }
      if (is_upstream_only_plugin(name)) {
        if (!o.quiet) {
          fprintf(stderr,
                  "dmtcp_launch: %s: there is no %s plugin here "
                  "(nothing to disable)\n",
                  a.c_str(), name.c_str());
        }
        continue;
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
  if (o.coord.new_coordinator && !o.port_given) {
    o.coord.port = 0;  // upstream: a random port unless one is named
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
  if (o.all_plugins_off) {
    return false;
  }
  if (name == "sysvipc" && getenv("DMTCP_SVIPC_PLUGIN") != nullptr &&
      strcmp(getenv("DMTCP_SVIPC_PLUGIN"), "0") == 0) {
    return false;  // upstream's name for it
  }
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
  // A directory that does not exist yet is created, as upstream does.
  std::string mkdir_error;
  if (!dmtcp::tools::make_directories(o.ckpt_dir, &mkdir_error)) {
    fail("checkpoint directory " + o.ckpt_dir + ": " + mkdir_error);
  }
  o.ckpt_dir = absolute(o.ckpt_dir);
  if (std::string risk = dmtcp::tools::shared_dir_risk(o.ckpt_dir);
      !risk.empty() && !o.quiet) {
    fprintf(stderr, "dmtcp_launch: warning: %s\n", risk.c_str());
  }
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
  if (o.allow_file_overwrite) {
    // Ours puts a saved copy back over a changed file whenever it has one
    // (docs/file.md); the variable tells later tools what was asked.
    setenv("DMTCP_ALLOW_OVERWRITE_WITH_CKPTED_FILES", "1", 1);
  }
  if (o.unique_ckpt) {
    setenv("DMTCP_UNIQUE_CKPT_FILENAMES", "1", 1);  // read by the runtime
  } else {
    unsetenv("DMTCP_UNIQUE_CKPT_FILENAMES");
    unsetenv("DMTCP_UNIQUE_CKPT_PLUGIN");
  }
  if (o.incremental && o.forked_ckpt) {
    // The forked writer is a copy of the process: what it learns of the
    // pages stays in the copy (docs/incremental.md).
    usage_error("--incremental and --forked-checkpoint cannot be combined");
  }
  if (o.incremental) {
    setenv("DMTCP_INCREMENTAL", "1", 1);  // read by the runtime
  } else {
    unsetenv("DMTCP_INCREMENTAL");
  }
  if (o.incremental_full_every >= 0) {
    setenv("DMTCP_INCREMENTAL_FULL_EVERY",
           std::to_string(o.incremental_full_every).c_str(), 1);
  }
  if (o.forked_ckpt) {
    setenv("DMTCP_FORKED_CHECKPOINT", "1", 1);  // read by the runtime
  } else {
    unsetenv("DMTCP_FORKED_CHECKPOINT");
  }
  if (o.modify_env) {
    setenv("DMTCP_MODIFY_ENV", "1", 1);  // read by the runtime at restart
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
  // What the user preloaded at launch: dmtcp_nocheckpoint gives a program
  // outside the computation exactly this (upstream's meaning).
  setenv("DMTCP_ORIG_LD_PRELOAD", user_preload.c_str(), 1);
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
