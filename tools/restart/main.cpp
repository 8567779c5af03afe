// dmtcp_restart [-h H] [-p N] [-j] [--new-coordinator] [-i S] [--ckptdir D]
//               IMAGE...
//
// Restarts the images as one computation.  Every image is opened and its
// header and region table checked before anything starts.  They must be of
// one computation; of several generations, the newest complete one is
// restarted and the others are named in one line (image_set.h); the chosen
// ones must be one checkpoint (each process once, no more than it had).
// Otherwise one line and exit 1, and nothing is started.  The process
// tree is rebuilt from the images' parent ids: a process forks its
// children's processes, then becomes its own image.  A single tree's root
// is restored in this very process (so the shell sees the program's exit
// status); several trees are restored each in a child, and we exit with
// the status of the first.
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/parse.h"
#include "common/proc_stat.h"
#include "image/image_reader.h"
#include "protocol/protocol.h"
#include "runtime/coord_client.h"
#include "runtime/runtime.h"
#include "tools/common/tool_support.h"
#include "tools/restart/chain.h"
#include "tools/restart/image_set.h"
#include "tools/restart/low_break.h"
#include "tools/restart/progress.h"
#include "tools/restart/restore_plan.h"
#include "tools/restart/sessions.h"
#include "tools/restart/shared_mappings.h"

extern char** environ;

namespace dmtcp::restart {
namespace {

constexpr const char* kUsage =
    "Usage: dmtcp_restart [OPTIONS] IMAGE... | --restartdir D\n"
    "  -h, --coord-host H    coordinator host (env DMTCP_COORD_HOST)\n"
    "  -p, --coord-port N    coordinator port (env DMTCP_COORD_PORT)\n"
    "  --port-file F         a coordinator we start writes its port to F\n"
    "  -j, --join-coordinator  use a running coordinator, never start one\n"
    "  --new-coordinator     start a coordinator; fail if one runs there\n"
    "  --any-coordinator     join one if it runs, else start it (default)\n"
    "  --coord-logfile F     a coordinator we start logs to F (env\n"
    "                        DMTCP_COORD_LOG_FILENAME)\n"
    "  -i, --interval S      checkpoint every S seconds (0 = never)\n"
    "  --ckptdir D           later checkpoints go to D (created if missing)\n"
    "  --restartdir D        restart the images (ckpt_*.dmtcp) found in D\n"
    "                        and in its ckpt_* subdirectories\n"
    "  --tmpdir D            temporary files (env DMTCP_TMPDIR)\n"
    "  --forked-checkpoint, --no-forked-checkpoint\n"
    "                        later checkpoints are (not) written by a\n"
    "                        copy-on-write child (env "
    "DMTCP_FORKED_CHECKPOINT;\n"
    "                        default: as each process was launched)\n"
    "  --incremental, --no-incremental\n"
    "                        later checkpoints store (not) only the pages\n"
    "                        changed since the last (env DMTCP_INCREMENTAL;\n"
    "                        default: as each process was launched)\n"
    "  --incremental-full-every N  every N-th image of a chain is full\n"
    "                        (env DMTCP_INCREMENTAL_FULL_EVERY)\n"
    "  --lazy, --no-lazy     the program runs again before its large\n"
    "                        private memory is read back; pages come from\n"
    "                        the image on first touch (env\n"
    "                        DMTCP_RESTART_LAZY; docs/lazy-restart.md)\n"
    "  --no-strict-checking  restart images of another user too (env\n"
    "                        DMTCP_DISABLE_STRICT_CHECKING)\n"
    "  --debug-restart-pause N  (env DMTCP_RESTART_PAUSE=N, N 1..7) each\n"
    "                        restarted process waits, before its image is\n"
    "                        restored, for a debugger (gdb -p PID) or\n"
    "                        SIGCONT\n"
    "  env DMTCP_RESTART_THREADS=N  threads reading each image back\n"
    "                        (default: one per CPU; docs/restore.md)\n"
    "  env DMTCP_RESTART_THP=0  read into small pages only\n"
    "  -q, --quiet           errors only\n"
    "  --help, --version     this text, or the version\n";

// One line (SPEC section 3): the problem, and where the usage text is.
[[noreturn]] void usage_error(const std::string& what) {
  fprintf(stderr, "dmtcp_restart: %s (see dmtcp_restart --help)\n",
          what.c_str());
  exit(1);
}

[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "dmtcp_restart: %s\n", what.c_str());
  exit(1);
}

struct Options {
  tools::CoordinatorOptions coord;
  std::string ckpt_dir;
  std::string restart_dir;
  bool strict = true;  // images must be ours (--no-strict-checking)
  int pause_level = 0;  // --debug-restart-pause
  std::vector<std::string> images;
};

// --debug-restart-pause: 1..7 as upstream; every level pauses at the same
// point here (before the image is restored).
int parse_pause_level(const char* v, const char* what) {
  long level = 0;
  if (!parse_long(v, 1, 7, &level)) {
    usage_error(std::string("bad ") + what + " '" + v + "' (1 to 7)");
  }
  return static_cast<int>(level);
}

// The images of --restartdir: ckpt_*.dmtcp in it and in its ckpt_*
// subdirectories (--enable-unique-checkpoint-filenames), by name.
std::vector<std::string> images_in(const std::string& dir) {
  std::vector<std::string> found;
  auto scan = [&](const std::string& d, bool descend) {
    DIR* dp = opendir(d.c_str());
    if (dp == nullptr) {
      if (descend) {
        fail("--restartdir " + d + ": " + strerror(errno));
      }
      return std::vector<std::string>{};
    }
    std::vector<std::string> subdirs;
    while (dirent* e = readdir(dp)) {
      std::string name = e->d_name;
      if (name.rfind("ckpt_", 0) != 0) {
        continue;
      }
      std::string path = d + "/" + name;
      struct stat st {};
      if (lstat(path.c_str(), &st) != 0) {
        continue;
      }
      if (S_ISREG(st.st_mode) && name.size() > 6 &&
          name.compare(name.size() - 6, 6, ".dmtcp") == 0) {
        found.push_back(path);
      } else if (S_ISDIR(st.st_mode)) {
        subdirs.push_back(path);
      }
    }
    closedir(dp);
    return subdirs;
  };
  for (const std::string& sub : scan(dir, true)) {
    scan(sub, false);
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) {
    fail("--restartdir " + dir + ": no checkpoint image (ckpt_*.dmtcp) in it");
  }
  return found;
}

Options parse(int argc, char** argv) {
  Options o;
  tools::coordinator_options_from_env(&o.coord);
  static const option kLong[] = {
      {"coord-host", required_argument, nullptr, 'h'},
      {"host", required_argument, nullptr, 'h'},
      {"coord-port", required_argument, nullptr, 'p'},
      {"port", required_argument, nullptr, 'p'},
      {"join-coordinator", no_argument, nullptr, 'j'},
      {"join", no_argument, nullptr, 'j'},
      {"new-coordinator", no_argument, nullptr, 'n'},
      {"interval", required_argument, nullptr, 'i'},
      {"ckptdir", required_argument, nullptr, 'd'},
      {"tmpdir", required_argument, nullptr, 't'},
      {"quiet", no_argument, nullptr, 'q'},
      {"help", no_argument, nullptr, 'H'},
      {"version", no_argument, nullptr, 'V'},
      {"restartdir", required_argument, nullptr, 'R'},
      {"no-strict-checking", no_argument, nullptr, 'S'},
      {"debug-restart-pause", required_argument, nullptr, 'P'},
      {"port-file", required_argument, nullptr, 'F'},
      {"coord-logfile", required_argument, nullptr, 'L'},
      {"any-coordinator", no_argument, nullptr, 'A'},
      {"forked-checkpoint", no_argument, nullptr, 'K'},
      {"no-forked-checkpoint", no_argument, nullptr, 'k'},
      {"incremental", no_argument, nullptr, 'N'},
      {"no-incremental", no_argument, nullptr, 'M'},
      {"incremental-full-every", required_argument, nullptr, 'E'},
      {"lazy", no_argument, nullptr, 'Z'},
      {"no-lazy", no_argument, nullptr, 'z'},
      {nullptr, 0, nullptr, 0}};
  if (const char* v = getenv("DMTCP_DISABLE_STRICT_CHECKING");
      v != nullptr && *v != '\0' && strcmp(v, "0") != 0) {
    o.strict = false;
  }
  if (const char* v = getenv("DMTCP_RESTART_PAUSE"); v != nullptr && *v) {
    o.pause_level = parse_pause_level(v, "DMTCP_RESTART_PAUSE");
  }
  if (const char* f = getenv("DMTCP_COORD_LOG_FILENAME"); f != nullptr && *f) {
    o.coord.log_file = f;
  }
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "+:h:p:ji:q", kLong, nullptr)) != -1) {
    switch (c) {
      case 'h':
        o.coord.host = optarg;
        break;
      case 'p':
        if (!tools::parse_int(optarg, &o.coord.port)) {
          usage_error(std::string("bad port '") + optarg + "'");
        }
        break;
      case 'j':
        o.coord.join_only = true;
        break;
      case 'n':
        o.coord.new_coordinator = true;
        break;
      case 'i':
        if (!tools::parse_int(optarg, &o.coord.interval)) {
          usage_error(std::string("bad interval '") + optarg + "'");
        }
        break;
      case 'd':
        // Made absolute here: the restored processes resolve a relative one
        // against their own working directories.
        o.ckpt_dir = tools::absolute_path(optarg);
        break;
      case 't':
        // Where the coordinator's key lives (protocol.h key_dir_path): a
        // coordinator we start puts it there and we look there.
        setenv("DMTCP_TMPDIR", tools::absolute_path(optarg).c_str(), 1);
        break;
      case 'q':
        log::set_level(log::kError);
        break;
      case 'H':
        fputs(kUsage, stdout);
        exit(0);
      case 'V':
        tools::print_version("dmtcp_restart");
        exit(0);
      case 'R':
        o.restart_dir = tools::absolute_path(optarg);
        break;
      case 'S':
        o.strict = false;
        break;
      case 'P':
        o.pause_level = parse_pause_level(optarg, "--debug-restart-pause");
        break;
      case 'F':
        o.coord.port_file = tools::absolute_path(optarg);
        break;
      case 'L':
        o.coord.log_file = tools::absolute_path(optarg);
        break;
      case 'K':
        // The restored processes read it from our environment
        // (RestartInfo::env); the hello below tells the coordinator.
        setenv("DMTCP_FORKED_CHECKPOINT", "1", 1);
        break;
      case 'k':
        setenv("DMTCP_FORKED_CHECKPOINT", "0", 1);
        break;
      case 'N':
        // As the forked mode: the restored processes read it from our
        // environment (RestartInfo::env).
        setenv("DMTCP_INCREMENTAL", "1", 1);
        break;
      case 'M':
        setenv("DMTCP_INCREMENTAL", "0", 1);
        break;
      case 'E': {
        char* end = nullptr;
        long n = strtol(optarg, &end, 10);
        if (end == optarg || *end != '\0' || n < 0 || n > 1000000) {
          usage_error(std::string("--incremental-full-every wants a count "
                                  "0..1000000, not '") +
                      optarg + "'");
        }
        setenv("DMTCP_INCREMENTAL_FULL_EVERY", optarg, 1);
        break;
      }
      case 'Z':
        // Read by restore_in_place() in each restarted process.
        setenv("DMTCP_RESTART_LAZY", "1", 1);
        break;
      case 'z':
        setenv("DMTCP_RESTART_LAZY", "0", 1);
        break;
      case 'A':
        o.coord.join_only = false;  // the default
        o.coord.new_coordinator = false;
        break;
      case ':':
        usage_error(std::string("option '") + argv[optind - 1] +
                    "' needs a value");
      default:
        usage_error("unknown option '" +
                    (optopt != 0 ? std::string("-") + static_cast<char>(optopt)
                                 : std::string(argv[optind - 1])) +
                    "'");
    }
  }
  for (int i = optind; i < argc; ++i) {
    o.images.emplace_back(argv[i]);
  }
  // Both set here (by these options or our environment): the forked writer
  // is a copy of the process, what it learns of the pages stays in the
  // copy (docs/incremental.md).
  auto on = [](const char* name) {
    const char* v = getenv(name);
    return v != nullptr && *v != '\0' && strcmp(v, "0") != 0;
  };
  if (on("DMTCP_INCREMENTAL") && on("DMTCP_FORKED_CHECKPOINT")) {
    usage_error("--incremental and --forked-checkpoint cannot be combined");
  }
  if (!o.restart_dir.empty()) {
    if (!o.images.empty()) {
      usage_error("images and --restartdir together");
    }
    o.images = images_in(o.restart_dir);
  }
  if (o.images.empty()) {
    usage_error("no image given");
  }
  if (!o.ckpt_dir.empty()) {
    // Created now, as upstream does, so the first checkpoint can go there.
    std::string error;
    if (!tools::make_directories(o.ckpt_dir, &error)) {
      fail("--ckptdir: " + error);
    }
  }
  o.coord.ckpt_dir = o.ckpt_dir;
  return o;
}

std::string field(const char* p, size_t cap) {
  return std::string(p, strnlen(p, cap));
}

// Opens every image and keeps those of the generation to restart
// (image_set.h), in command-line order; the others are closed.  Exits with
// one line if an image is unreadable (its header too: we cannot tell what
// it is), another user's, or the set cannot be restarted.  Checked before
// anything is started, so a bad set is refused whole.
std::vector<std::unique_ptr<image::ImageReader>> open_images(
    const std::vector<std::string>& paths, bool strict) {
  std::vector<std::unique_ptr<image::ImageReader>> readers;
  std::vector<ImageInfo> infos;
  for (const std::string& path : paths) {
    auto reader = std::make_unique<image::ImageReader>();
    std::string error;
    bool ok = reader->open(path, &error);
    if (!ok && !reader->header_checked()) {
      fail(error);
    }
    const image::FileHeader& h = reader->header();
    if (h.uid != getuid() && !strict) {
      fprintf(stderr,
              "dmtcp_restart: %s: image of uid %u restarted by uid %u "
              "(--no-strict-checking)\n",
              path.c_str(), h.uid, getuid());
    } else if (h.uid != getuid()) {
      fail(path + ": image belongs to uid " + std::to_string(h.uid) +
           ", not to you (uid " + std::to_string(getuid()) + ")");
    }
    infos.push_back({path, field(h.computation_id, sizeof h.computation_id),
                     h.generation, h.num_peers,
                     field(h.unique_pid, sizeof h.unique_pid),
                     {h.image_id[0], h.image_id[1]},
                     {h.parent_id[0], h.parent_id[1]},
                     ok ? std::string() : error});
    readers.push_back(std::move(reader));
  }
  ImageSelection chosen = select_images(infos);
  if (!chosen.ok) {
    fail(chosen.refusal);
  }
  if (!chosen.notice.empty() && log::level() >= log::kWarn) {
    fprintf(stderr, "dmtcp_restart: %s\n", chosen.notice.c_str());
  }
  std::vector<std::unique_ptr<image::ImageReader>> kept;
  for (size_t i : chosen.chosen) {
    // An incremental image needs its whole chain, checked now.
    if (std::string error; !open_chain(*readers[i], &error)) {
      fail(error);
    }
    kept.push_back(std::move(readers[i]));
  }
  return kept;
}

// Connects as a restarting process and fills what the runtime needs.
void join_as_restarting(const Options& o, const image::FileHeader& h,
                        RestartInfo* info) {
  memset(info, 0, sizeof *info);
  int fd = coord::connect_tcp(o.coord.host.c_str(), o.coord.port, 5000);
  if (fd < 0) {
    fail(tools::unreachable(o.coord.host, o.coord.port, errno));
  }
  int protected_fd = fcntl(fd, F_DUPFD_CLOEXEC, rt::kProtectedFdBase);
  if (protected_fd >= 0) {
    close(fd);
    fd = protected_fd;
  }
  proto::HelloPayload hello{};
  hello.role = static_cast<uint32_t>(proto::Role::kRestarting);
  hello.pid = getpid();
  hello.ppid = getppid();
  hello.start_time = proc_stat_field(0, kStatStartTime);
  hello.generation = h.generation;
  hello.expected_peers = h.num_peers != 0 ? h.num_peers : 1;
  hello.interval = static_cast<uint32_t>(o.coord.interval);
  // Forked checkpoints: as DMTCP_FORKED_CHECKPOINT says, else as the
  // process was launched (the image header keeps it).
  bool forked = (h.flags & image::kHeaderForkedCheckpoint) != 0;
  if (const char* v = getenv("DMTCP_FORKED_CHECKPOINT"); v != nullptr && *v) {
    forked = strcmp(v, "0") != 0;
  }
  hello.flags = forked ? proto::kHelloForkedCheckpoint : 0;
  proto::copy_field(
      hello.unique_pid, sizeof hello.unique_pid,
      std::string_view(h.unique_pid,
                       strnlen(h.unique_pid, sizeof h.unique_pid)));
  proto::copy_field(
      hello.computation_id, sizeof hello.computation_id,
      std::string_view(h.computation_id,
                       strnlen(h.computation_id, sizeof h.computation_id)));
  char host[64] = {};
  gethostname(host, sizeof host - 1);
  proto::copy_field(hello.hostname, sizeof hello.hostname, host);
  proto::copy_field(
      hello.progname, sizeof hello.progname,
      std::string_view(h.progname, strnlen(h.progname, sizeof h.progname)));
  coord::fill_secret(o.coord.port, &hello);
  proto::WelcomePayload welcome{};
  char why[512];
  if (coord::hello(fd, hello, &welcome, why, sizeof why) != 0) {
    fprintf(stderr, "dmtcp_restart: coordinator at %s:%d: %s\n",
            o.coord.host.c_str(), o.coord.port, why);
    exit(1);
  }
  info->magic = kRestartInfoMagic;
  info->size = sizeof *info;
  info->coord_fd = fd;
  info->client_id = welcome.client_id;
  info->coord_port = o.coord.port;
  info->interval = welcome.interval;
  proto::copy_field(info->coord_host, sizeof info->coord_host, o.coord.host);
  proto::copy_field(info->ckpt_dir, sizeof info->ckpt_dir, o.ckpt_dir);
  proto::copy_field(info->computation_id, sizeof info->computation_id,
                    welcome.computation_id);
  uint32_t used = 0;
  for (char** e = environ; *e != nullptr; ++e) {
    size_t len = strlen(*e) + 1;
    if (used + len >= sizeof info->env) {
      break;
    }
    memcpy(info->env + used, *e, len);
    used += static_cast<uint32_t>(len);
  }
  info->env_len = used;
}

volatile sig_atomic_t g_paused = 0;

void end_pause(int) { g_paused = 0; }

// --debug-restart-pause: wait for a debugger (which clears g_paused or
// sends SIGCONT) before this process joins the coordinator and becomes
// its image.
void debug_pause(int level) {
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
  struct sigaction sa {};
  sa.sa_handler = end_pause;
  sigaction(SIGCONT, &sa, nullptr);
  g_paused = 1;
  fprintf(stderr,
          "dmtcp_restart: pid %d paused before restoring its image "
          "(--debug-restart-pause %d): attach with gdb -p %d, or "
          "kill -CONT %d\n",
          getpid(), level, getpid(), getpid());
  while (g_paused != 0) {
    pause();
  }
  signal(SIGCONT, SIG_DFL);
}

[[noreturn]] void restore_one(const Options& o,
                              std::unique_ptr<image::ImageReader> reader) {
  auto info = std::make_unique<RestartInfo>();
  // Plugins find what was saved beside the image (the file plugin's
  // --ckpt-open-files copies) through dmtcp_get_restart_env().
  char image_path[PATH_MAX];
  if (realpath(reader->path().c_str(), image_path) != nullptr) {
    setenv("DMTCP_RESTART_IMAGE", image_path, 1);
  }
  if (o.pause_level > 0) {
    debug_pause(o.pause_level);
  }
  join_as_restarting(o, reader->header(), info.get());
  std::string error;
  restore_in_place(reader.get(), info.get(), &error);
  fprintf(stderr, "dmtcp_restart: %s\n", error.c_str());
  exit(1);
}

}  // namespace

// The images' process tree: each image's parent is the image that was its
// kernel parent at the checkpoint (its real pid is the image's ppid, on
// the same host): an orphan adopted by a subreaper of the computation
// comes back under that subreaper.  Failing that, the image whose
// unique_pid is its parent_unique_pid (who forked it).  The others (the
// first process, orphans adopted outside the computation) are roots.
// Sessions and groups led by an image are rebuilt too (sessions.h).
struct Tree {
  std::vector<std::vector<size_t>> children;
  std::vector<size_t> roots;  // in command-line order
  Sessions sessions;
};

Tree build_tree(const std::vector<std::unique_ptr<image::ImageReader>>& rs) {
  Tree t;
  t.children.resize(rs.size());
  std::map<std::string, size_t> by_upid;  // unique: select_images
  std::map<std::pair<std::string, pid_t>, size_t> by_host_pid;
  for (size_t i = 0; i < rs.size(); ++i) {
    const auto& h = rs[i]->header();
    by_upid.emplace(
        std::string(h.unique_pid, strnlen(h.unique_pid, sizeof h.unique_pid)),
        i);
    by_host_pid.emplace(
        std::make_pair(field(h.hostname, sizeof h.hostname), h.pid), i);
  }
  for (size_t i = 0; i < rs.size(); ++i) {
    const auto& h = rs[i]->header();
    auto kernel_parent = by_host_pid.find(
        std::make_pair(field(h.hostname, sizeof h.hostname), h.ppid));
    auto it =
        by_upid.find(field(h.parent_unique_pid, sizeof h.parent_unique_pid));
    if (kernel_parent != by_host_pid.end() && kernel_parent->second != i) {
      t.children[kernel_parent->second].push_back(i);
    } else if (it == by_upid.end() || it->second == i) {
      t.roots.push_back(i);
    } else {
      t.children[it->second].push_back(i);
    }
  }
  if (t.roots.empty()) {
    // A cycle can only come from damaged headers: restore them side by side.
    for (size_t i = 0; i < rs.size(); ++i) {
      t.children[i].clear();
      t.roots.push_back(i);
    }
  }
  std::vector<ProcessIds> ids(rs.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    const auto& h = rs[i]->header();
    ids[i] = {h.vpid, h.vpgid, h.vsid,
              std::string(h.hostname, strnlen(h.hostname, sizeof h.hostname))};
  }
  t.sessions = Sessions(ids);
  return t;
}

// Forks a process for each child image (which does the same for its own
// children), then becomes image `index` itself: restored children are real
// children of their restored parent.  Sessions and groups: sessions.h.
[[noreturn]] void restore_subtree(
    const Options& o, std::vector<std::unique_ptr<image::ImageReader>>* rs,
    Tree& tree, size_t index) {
  Sessions& s = tree.sessions;
  s.enter(index);
  auto fork_child = [&](size_t child) {
    pid_t pid = fork();
    if (pid < 0) {
      fprintf(stderr, "dmtcp_restart: fork: %s\n", strerror(errno));
      exit(1);
    }
    if (pid == 0) {
      restore_subtree(o, rs, tree, child);
    }
    s.adopt(child, pid);
  };
  Sessions::ForkOrder order = s.fork_order(index, tree.children[index]);
  for (size_t child : order.before_lead) {
    fork_child(child);
  }
  s.lead(index);
  for (size_t child : order.after_lead) {
    fork_child(child);
  }
  s.join(index);
  s.release();
  restore_one(o, std::move((*rs)[index]));
}

}  // namespace dmtcp::restart

int main(int argc, char** argv) {
  using namespace dmtcp;
  log::set_tag("dmtcp_restart");
  restart::ensure_low_break(argv);
  restart::Options o = restart::parse(argc, argv);
  std::vector<std::unique_ptr<image::ImageReader>> readers =
      restart::open_images(o.images, o.strict);
  // Shared files checked, shared memory created: before anything forks.
  if (std::string why; !restart::prepare_shared_mappings(readers, &why)) {
    fprintf(stderr, "dmtcp_restart: %s\n", why.c_str());
    return 1;
  }
  std::string error;
  if (!tools::ensure_coordinator(&o.coord, &error)) {
    fprintf(stderr, "dmtcp_restart: %s\n", error.c_str());
    return 1;
  }
  {
    std::vector<restart::ImageSize> sizes;
    for (const auto& r : readers) {
      const auto& h = r->header();
      struct stat st {};
      sizes.push_back({std::string(h.unique_pid,
                                   strnlen(h.unique_pid, sizeof h.unique_pid)),
                       stat(r->path().c_str(), &st) == 0 ? st.st_size : 0});
    }
    restart::start_progress_monitor(o.coord, readers[0]->header().generation,
                                    sizes);
  }
  restart::Tree tree = restart::build_tree(readers);
  if (tree.roots.size() == 1) {
    // One tree: its root becomes this very process, so the shell sees the
    // program's exit status.
    restart::restore_subtree(o, &readers, tree, tree.roots[0]);
  }
  std::vector<pid_t> children;
  for (size_t root : tree.roots) {
    pid_t pid = fork();
    if (pid < 0) {
      fprintf(stderr, "dmtcp_restart: fork: %s\n", strerror(errno));
      if (children.empty()) {
        tools::stop_started_coordinator(o.coord);
      }
      return 1;
    }
    if (pid == 0) {
      restart::restore_subtree(o, &readers, tree, root);
    }
    children.push_back(pid);
  }
  restart::close_shared_mappings();  // the restored processes hold them
  int first_status = 0;
  for (size_t i = 0; i < children.size(); ++i) {
    int status = 0;
    while (waitpid(children[i], &status, 0) < 0 && errno == EINTR) {
    }
    if (i == 0) {
      first_status = status;
    }
  }
  if (WIFSIGNALED(first_status)) {
    return 128 + WTERMSIG(first_status);
  }
  return WEXITSTATUS(first_status);
}
