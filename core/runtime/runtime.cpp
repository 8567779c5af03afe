// Start-up of the preloaded runtime.
//
// Algorithm:
//  1. Constructor (before main, also after every exec): read the
//     configuration that dmtcp_launch put in the environment and take our
//     libraries out of LD_PRELOAD (preload_env.h); stay inert in DMTCP's
//     own tools.
//  2. Resolve the real libc functions, find the first event hook, install
//     the checkpoint signal handler and register the main thread.
//  3. Connect to the coordinator (protected fd), say hello; take the state
//     fd an exec'ing image left.
//  4. Once every library's constructor has run (program_start.h): fire
//     POST_EXEC with that fd, fire INIT, start the checkpoint thread.
#include "runtime/runtime.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "common/env.h"
#include "common/log.h"
#include "common/proc_stat.h"
#include "dmtcp/raw_syscall.h"
#include "protocol/protocol.h"
#include "runtime/coord_client.h"
#include "runtime/events.h"
#include "runtime/next_fnc.h"
#include "runtime/preload_env.h"
#include "runtime/program_start.h"
#include "runtime/real_fns.h"
#include "runtime/remote_shell.h"
#include "runtime/threads.h"

namespace dmtcp::rt {

Config g_config{};
Identity g_id{};
pid_t g_id_pid = 0;
std::atomic<bool> g_enabled{false};
int g_coord_fd = -1;
uint32_t g_client_id = 0;
std::atomic<uint32_t> g_generation{0};
uint32_t g_num_peers = 1;
std::atomic<uint32_t> g_num_restarts{0};
std::atomic<uint32_t> g_rounds_done{0};
RestartInfo g_restart_info{};
SavedContext g_resume_ctx{};

namespace {

const char* env_or(const char* name, const char* fallback) {
  const char* v = env_value(name);
  return v != nullptr && v[0] != '\0' ? v : fallback;
}

bool is_dmtcp_tool(const char* progname) {
  static const char* const kTools[] = {"dmtcp_coordinator", "dmtcp_command",
                                       "dmtcp_launch", "dmtcp_checkpoint",
                                       "dmtcp_restart"};
  for (const char* t : kTools) {
    if (strcmp(progname, t) == 0) {
      return true;
    }
  }
  return false;
}

void read_config() {
  snprintf(g_config.coord_host, sizeof g_config.coord_host, "%s",
           env_or("DMTCP_COORD_HOST", "127.0.0.1"));
  g_config.coord_port = atoi(env_or("DMTCP_COORD_PORT", "7779"));
  char cwd[1024];
  if (getcwd(cwd, sizeof cwd) == nullptr) {
    snprintf(cwd, sizeof cwd, "/tmp");
  }
  snprintf(g_config.ckpt_dir, sizeof g_config.ckpt_dir, "%s",
           env_or("DMTCP_CHECKPOINT_DIR", cwd));
  snprintf(g_config.tmpdir, sizeof g_config.tmpdir, "%s",
           env_or("DMTCP_TMPDIR", env_or("TMPDIR", "/tmp")));
  g_config.compress = strcmp(env_or("DMTCP_GZIP", "1"), "0") != 0;
  g_config.direct_io = strcmp(env_or("DMTCP_DIRECT_IO", "1"), "0") != 0;
  g_config.ckpt_signal = atoi(env_or("DMTCP_SIGCKPT", "12"));
  if (g_config.ckpt_signal <= 0 || g_config.ckpt_signal >= 65 ||
      g_config.ckpt_signal == SIGKILL || g_config.ckpt_signal == SIGSTOP) {
    DMTCP_WARN("DMTCP_SIGCKPT=%d is not a usable signal; using SIGUSR2",
               g_config.ckpt_signal);
    g_config.ckpt_signal = SIGUSR2;
  }
  g_config.interval =
      static_cast<uint32_t>(atoi(env_or("DMTCP_CHECKPOINT_INTERVAL", "0")));
  g_config.unique_ckpt_dirs =
      strcmp(env_or("DMTCP_UNIQUE_CKPT_FILENAMES", "0"), "0") != 0;
  g_config.forked_checkpoint =
      strcmp(env_or("DMTCP_FORKED_CHECKPOINT", "0"), "0") != 0;
  g_config.incremental = strcmp(env_or("DMTCP_INCREMENTAL", "0"), "0") != 0;
  g_config.incremental_full_every =
      static_cast<uint32_t>(atoi(env_or("DMTCP_INCREMENTAL_FULL_EVERY", "10")));
}

uint32_t host_hash(const char* host) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (const char* p = host; *p != '\0'; ++p) {
    h = (h ^ static_cast<uint8_t>(*p)) * 16777619u;
  }
  return h;
}

void move_to_protected_fd(int* fd) {
  int moved = fcntl(*fd, F_DUPFD_CLOEXEC, kProtectedFdBase);
  if (moved >= 0) {
    close(*fd);
    *fd = moved;
  }
}

int g_exec_state_fd = -1;

// Step 4.  POST_EXEC, then INIT, then the checkpoint thread: plugins are
// set up before the first WAIT_FOR_SUSPEND_MSG, so the order is the same in
// every run (docs/plugins.md).
void start_member() {
  events::fire_post_exec(g_exec_state_fd);
  g_exec_state_fd = -1;
  events::fire(DMTCP_EVENT_INIT);
  start_ckpt_thread();
}

// A program started by posix_spawn: its parent holds the checkpoint lock
// until we have joined (or gave up), so no round freezes it without us
// (wrappers.cpp, SpawnJoin).  One byte on the inherited pipe, then the fd
// and the variable go: nothing we start later sees either.  Only a pipe is
// written to (a stale number could name any fd by now).
void tell_spawner_joined() {
  const char* v = env_value(kSpawnJoinFdEnv);
  if (v == nullptr) {
    return;
  }
  char* end = nullptr;
  long fd = strtol(v, &end, 10);
  unsetenv(kSpawnJoinFdEnv);
  struct stat st {};
  if (end == v || *end != '\0' || fd < 3 || fd > INT32_MAX ||
      fstat(static_cast<int>(fd), &st) != 0 || !S_ISFIFO(st.st_mode)) {
    return;
  }
  ssize_t w = write(static_cast<int>(fd), "j", 1);
  (void)w;  // the parent reads end of file instead: it goes on all the same
  close(static_cast<int>(fd));
}

__attribute__((constructor(101))) void runtime_init() {
  log::set_tag("dmtcp");
  log::use_log_file_from_env();
  snprintf(g_id.progname, sizeof g_id.progname, "%s",
           program_invocation_short_name);
  if (is_dmtcp_tool(g_id.progname)) {
    int fd = events::take_exec_state_fd();  // a tool carries no state
    if (fd >= 0) {
      close(fd);
    }
    tell_spawner_joined();  // nothing to join: the spawner goes on
    return;
  }
  read_config();
  preload_env::hide();
  // Before anything resolves NEXT_FNC: from now on no wrapper's first call
  // takes the loader's lock (next_fnc.cpp).
  next_fnc::snapshot_startup();
  remote_shell::init();
  real::fns();
  events::init();
  gethostname(g_id.hostname, sizeof g_id.hostname - 1);
  // The id survives exec: same process, same image name.  The kernel pid
  // in it is the one of the process's first run, so after a restart it is
  // not ours any more: the exec wrapper then says which process owned the
  // id (kExecPidEnv).  Taking a new id there left the coordinator waiting
  // for the old one to come back from its exec (every round held 10 s) and
  // never pruning its older image (the harness then restarted one image too
  // many: e2e.make_j2.restart2, "restart did not finish in time").
  const char* inherited = env_value("DMTCP_UNIQUE_PID");
  const char* exec_pid = env_value(kExecPidEnv);
  g_id_pid = raw::getpid();
  bool owner = exec_pid != nullptr && atoi(exec_pid) == g_id_pid;
  unsetenv(kExecPidEnv);
  char mine_prefix[32];
  snprintf(mine_prefix, sizeof mine_prefix, "-%d-", g_id_pid);
  if (inherited != nullptr &&
      (owner || strstr(inherited, mine_prefix) != nullptr)) {
    snprintf(g_id.unique_pid, sizeof g_id.unique_pid, "%s", inherited);
  } else {
    new_unique_pid();
  }
  snprintf(g_id.parent_unique_pid, sizeof g_id.parent_unique_pid, "%s",
           env_or("DMTCP_PARENT_UNIQUE_PID", ""));
  threads::init(g_config.ckpt_signal);
  g_coord_fd = connect_process_to_coordinator();
  if (g_coord_fd < 0) {
    // A program started by a member of a computation (exec, posix_spawn,
    // system) goes on without checkpoints until a coordinator is back
    // (the checkpoint thread keeps trying); a program launched on its own
    // has nothing to join.
    bool member =
        g_id.parent_unique_pid[0] != '\0' ||
        (inherited != nullptr && strcmp(inherited, g_id.unique_pid) == 0);
    if (!member) {
      _exit(1);
    }
    DMTCP_WARN(
        "the program goes on without checkpoints until a coordinator "
        "is back at %s:%d",
        g_config.coord_host, g_config.coord_port);
  }
  tell_spawner_joined();
  update_ckpt_filename();
  g_enabled.store(true);
  // Taken now, so the constructors that run before start_member() do not
  // see the variable either.
  g_exec_state_fd = events::take_exec_state_fd();
  start_member_at_program_start(start_member);
}

// EXIT normally fires from leave_before_exit(), before any destructor;
// this is for a process whose exit did not run it (exit from a wrapper).
__attribute__((destructor)) void runtime_fini() {
  if (g_enabled.load()) {
    fire_exit_event_once();
  }
}

}  // namespace

void new_unique_pid() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  snprintf(g_id.unique_pid, sizeof g_id.unique_pid, "%08x-%d-%lx",
           host_hash(g_id.hostname), getpid(),
           static_cast<unsigned long>(now.tv_sec) * 1000000ul +
               static_cast<unsigned long>(now.tv_nsec / 1000));
  setenv("DMTCP_UNIQUE_PID", g_id.unique_pid, 1);
}

void image_dir_for(uint32_t generation, char* out, size_t cap) {
  if (!g_config.unique_ckpt_dirs) {
    snprintf(out, cap, "%s", g_config.ckpt_dir);
    return;
  }
  snprintf(out, cap, "%s/ckpt_%s_%05u", g_config.ckpt_dir,
           g_id.computation_id[0] != '\0' ? g_id.computation_id : "none",
           generation);
}

void update_ckpt_filename(uint32_t generation) {
  char name[256];
  proto::format_image_name(name, sizeof name, g_id.progname, g_id.unique_pid,
                           generation);
  char dir[sizeof g_config.ckpt_dir + 96];
  image_dir_for(generation, dir, sizeof dir);
  int n = snprintf(g_id.ckpt_filename, sizeof g_id.ckpt_filename, "%s/%s", dir,
                   name);
  if (n < 0 || static_cast<size_t>(n) >= sizeof g_id.ckpt_filename) {
    DMTCP_WARN("image path %s/%s is too long; cut short", dir, name);
  }
}

void update_ckpt_filename() {
  update_ckpt_filename(g_generation.load() + 1);
}

int connect_process_to_coordinator(bool rejoin, bool loud) {
  int fd = coord::connect_tcp(g_config.coord_host, g_config.coord_port, 5000);
  if (fd < 0 && !loud) {
    return -1;
  }
  if (fd < 0) {
    int err = errno;
    std::string why =
        err == EHOSTUNREACH ? coord::resolve_failure(g_config.coord_host) : "";
    if (!why.empty()) {
      DMTCP_ERROR("cannot resolve the coordinator host '%s': %s",
                  g_config.coord_host, why.c_str());
    } else {
      DMTCP_ERROR("cannot reach the coordinator at %s:%d: %s",
                  g_config.coord_host, g_config.coord_port, strerror(err));
    }
    return -1;
  }
  move_to_protected_fd(&fd);
  proto::HelloPayload h{};
  h.role = static_cast<uint32_t>(proto::Role::kProcess);
  h.pid = raw::getpid();  // the kernel's (getpid() may be a virtual one)
  h.start_time = proc_stat_field(0, kStatStartTime);
  h.ppid = getppid();
  h.interval = g_config.interval;
  h.flags = g_config.forked_checkpoint ? proto::kHelloForkedCheckpoint : 0;
  if (rejoin) {
    h.generation = g_generation.load();
    h.expected_peers = g_num_peers;  // the computation's size, as we knew it
    proto::copy_field(h.computation_id, sizeof h.computation_id,
                      g_id.computation_id);
  }
  proto::copy_field(h.unique_pid, sizeof h.unique_pid, g_id.unique_pid);
  proto::copy_field(h.hostname, sizeof h.hostname, g_id.hostname);
  proto::copy_field(h.progname, sizeof h.progname, g_id.progname);
  proto::copy_field(h.parent_unique_pid, sizeof h.parent_unique_pid,
                    g_id.parent_unique_pid);
  coord::fill_secret(g_config.coord_port, &h);
  proto::WelcomePayload w{};
  char why[512];
  if (coord::hello(fd, h, &w, why, sizeof why) != 0) {
    if (loud) {
      DMTCP_ERROR("coordinator at %s:%d: %s", g_config.coord_host,
                  g_config.coord_port, why);
    }
    close(fd);
    return -1;
  }
  g_client_id = w.client_id;
  g_generation.store(w.generation);
  snprintf(g_id.computation_id, sizeof g_id.computation_id, "%s",
           w.computation_id);
  return fd;
}

}  // namespace dmtcp::rt
