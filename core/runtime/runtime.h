// Process-wide state of the preloaded runtime.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include "restore_raw/saved_context.h"
#include "runtime/restart_info.h"

namespace dmtcp::rt {

struct Config {
  char coord_host[256];
  int coord_port;
  char ckpt_dir[1024];
  char tmpdir[1024];
  bool compress;
  // DMTCP_DIRECT_IO (default 1): images are written with O_DIRECT where
  // the file system allows it (docs/image-format.md); 0 writes through
  // the page cache.
  bool direct_io;
  int ckpt_signal;
  uint32_t interval;
  // Our libraries, as dmtcp_launch put them first in LD_PRELOAD
  // (DMTCP_PRELOAD): hidden from the program, put back for what it runs
  // (preload_env.h).  Empty: not known, nothing hidden.
  char preload[4096];
  // dmtcp_launch --enable-unique-checkpoint-filenames
  // (DMTCP_UNIQUE_CKPT_FILENAMES=1): each generation's images go into
  // <ckpt_dir>/ckpt_<computation id>_<generation, 5 digits>/, as upstream's
  // unique-ckpt plugin puts them.
  bool unique_ckpt_dirs;
  // dmtcp_launch --forked-checkpoint (DMTCP_FORKED_CHECKPOINT=1): after
  // DRAIN a copy-on-write child writes the image while the program runs
  // (forked_writer.h).  dmtcp_restart may set it (restart environment).
  bool forked_checkpoint;
  // dmtcp_launch --incremental (DMTCP_INCREMENTAL=1): each image stores
  // only the pages changed since this process's previous committed image
  // (incremental.h); --incremental-full-every N (DMTCP_INCREMENTAL_FULL_EVERY,
  // default 10, 0 = never) makes every N-th image of a chain full.
  // dmtcp_restart may change both (restart environment).
  bool incremental;
  uint32_t incremental_full_every;
};

struct Identity {
  char unique_pid[64];
  char parent_unique_pid[64];
  char computation_id[64];
  char hostname[64];
  char progname[64];
  char ckpt_filename[1280];
};

extern Config g_config;
extern Identity g_id;
// The kernel pid of the process g_id belongs to: set at start-up, in a fork
// child and after a restart.  A clone() child (no fork wrapper) has a copy
// of its parent's g_id, which is not its own.
extern pid_t g_id_pid;
// In a program started by exec: the kernel pid of the process that exec'd,
// when it owned its id (DMTCP_UNIQUE_PID then names this very process).
inline constexpr const char* kExecPidEnv = "DMTCP_EXEC_PID";
extern std::atomic<bool> g_enabled;
extern int g_coord_fd;  // protected fd, owned by the checkpoint thread
extern uint32_t g_client_id;
extern std::atomic<uint32_t> g_generation;
extern uint32_t g_num_peers;  // processes in the current round
extern std::atomic<uint32_t> g_num_restarts;
// Bumped at the end of every checkpoint or restart round (futex word):
// dmtcp_checkpoint() waits on it.
extern std::atomic<uint32_t> g_rounds_done;
// Filled by the restorer on restart (address in the image header).
extern RestartInfo g_restart_info;
// The checkpoint thread's context; restart jumps into it.
extern SavedContext g_resume_ctx;

// The protected fd range: descriptors the runtime keeps for itself.
inline constexpr int kProtectedFdBase = 820;
inline constexpr int kProtectedFdEnd = 840;

// In a program started by posix_spawn (wrappers.cpp, SpawnJoin): the
// write end of a pipe on which it tells its parent that it has joined.
inline constexpr const char* kSpawnJoinFdEnv = "DMTCP_SPAWN_JOIN_FD";

// Connects and says hello as a process; returns the fd (moved into the
// protected range) or -1, with a message printed when loud.  rejoin: this
// process is already a member of a computation (it lost its coordinator):
// the hello names its computation id and generation, so that a new
// coordinator takes the computation over.
int connect_process_to_coordinator(bool rejoin = false, bool loud = true);
// True from the coordinator's order to the end of a round of this process
// (ckpt_thread.cpp); g_rounds_done is bumped when it ends.
bool in_round();
// dmtcp_global_barrier: 0 after the barrier (or when this round goes on
// alone), 1 outside a round or the checkpoint thread (nothing to wait
// for), -1 for a bad name.
int plugin_barrier(const char* name);
// Starts the checkpoint thread (start-up and fork child).
void start_ckpt_thread();
// The process is exiting: waits for a round in progress to end, then takes
// the process out of the computation (no round starts any more; the
// coordinator sees it leave).  Runs from an atexit handler, before the
// destructors of the objects the checkpoint thread uses.
void leave_before_exit();
// DMTCP_EVENT_EXIT, at most once per process image.
void fire_exit_event_once();
// Builds ckpt_filename from ckpt_dir, progname, unique_pid and the
// generation (proto::format_image_name); without one, the next generation.
// The directory this generation's image goes to: g_config.ckpt_dir, or its
// per-generation subdirectory (Config::unique_ckpt_dirs).
void image_dir_for(uint32_t generation, char* out, size_t cap);
void update_ckpt_filename(uint32_t generation);
void update_ckpt_filename();
// A fresh unique id for this process: <host hash>-<pid>-<time>.
void new_unique_pid();

}  // namespace dmtcp::rt
