// The checkpoint thread: one per process, blocked on the coordinator until
// a checkpoint starts.  Event order is SPEC section 4:
//
//  checkpoint                               restart (restorer jumps to 6b)
//  1 WAIT_FOR_SUSPEND_MSG, block            -
//  2 threads PRE_SUSPEND_USER_THREAD, stop;
//    THREADS_SUSPEND; barrier
//  3 SUSPENDED; barrier
//  4 LEADER_ELECTION; barrier
//  5 DRAIN; barrier
//  6 WRITE_CKPT; unclaimed fds named       6b kernel state back, threads
//    (unsaved.cpp); image written; barrier     re-created; placeholders
//                                              (unsaved.cpp); RESTART;
//                                              barrier
//  7 RESUME; barrier
//  8 REGISTER_NAME_SERVICE_DATA; barrier    same, isRestart=1
//  9 SEND_QUERIES; barrier                  same
// 10 REFILL; barrier                        same
// 11 THREADS_RESUME; threads RESUME_USER_THREAD
//
// A round this process cannot finish with the others (the coordinator died,
// or gave up on us after the round timeout: kAbortRound) is finished alone:
// the remaining events still fire in order, so plugins refill what they
// drained, but no barrier is waited for and no image is written after
// that point.  The program never exits because of it; without a
// coordinator, the thread tries to reach one again on the same port
// (docs/coordinator.md, "Failures").
//
// A process that exits leaves the computation first (leave_before_exit(),
// an atexit handler): it waits for a round in progress to end, then tells
// the checkpoint thread never to start another and closes its connection.
// Without that, a round could begin while exit() runs the destructors of
// the very objects the checkpoint thread uses (its image writer: SIGSEGV in
// a short-lived child of a shell), or freeze threads that exit() waits for.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/log.h"
#include "dmtcp/raw_syscall.h"
#include "runtime/ckpt_lock.h"
#include "runtime/context.h"
#include "runtime/coord_client.h"
#include "runtime/events.h"
#include "runtime/forked_writer.h"
#include "runtime/lazy_restart.h"
#include "runtime/futex.h"
#include "runtime/glibc_tcb.h"
#include "runtime/image_dump.h"
#include "runtime/image_notes.h"
#include "runtime/incremental.h"
#include "runtime/pending_signals.h"
#include "runtime/preload_env.h"
#include "runtime/process_state.h"
#include "runtime/real_fns.h"
#include "runtime/runtime.h"
#include "runtime/threads.h"
#include "runtime/unsaved.h"

// glibc's idea of the program break (exported by libc.so.6).
extern "C" void* __curbrk;

namespace dmtcp::rt {
namespace {

using proto::Barrier;

// True while this process is inside a round (publish/query allowed).
std::atomic<bool> g_in_round{false};

// Bit kExiting: the process is exiting, no round starts any more.  Bit
// kBusy: the checkpoint thread is in a round.  Changed only by
// compare-and-swap, so exactly one of "round starts" and "exit begins"
// wins; waiters sleep on the word.
constexpr uint32_t kExiting = 1;
constexpr uint32_t kBusy = 2;
std::atomic<uint32_t> g_exit_gate{0};

// False when the process is exiting: then the thread must not take part.
bool enter_round() {
  uint32_t s = g_exit_gate.load();
  for (;;) {
    if ((s & kExiting) != 0) {
      return false;
    }
    if (g_exit_gate.compare_exchange_weak(s, s | kBusy)) {
      return true;
    }
  }
}

void leave_round() {
  g_exit_gate.fetch_and(~kBusy);
  futex_wake(&g_exit_gate);
}

// How the current round goes on: with the others, or alone after the
// coordinator was lost or aborted the round for us.
enum class RoundPath { kTogether, kLost, kAborted };
RoundPath g_path = RoundPath::kTogether;

// Waits for barrier b with the others; false once this round goes on alone.
bool reach(Barrier b, const char* path = nullptr) {
  if (g_path != RoundPath::kTogether) {
    return false;
  }
  int rc = coord::barrier(g_coord_fd, b, path, &g_num_peers);
  if (rc == 0) {
    return true;
  }
  if (rc == coord::kAborted) {
    g_path = RoundPath::kAborted;
    DMTCP_WARN(
        "the coordinator gave up waiting for this process in checkpoint "
        "generation %u; it finishes the round alone and goes on (no image "
        "of this generation counts)",
        g_generation.load());
  } else {
    g_path = RoundPath::kLost;
    DMTCP_WARN(
        "lost the coordinator during checkpoint generation %u; the program "
        "goes on without checkpoints until a coordinator is back at %s:%d "
        "(the previous checkpoint is intact)",
        g_generation.load(), g_config.coord_host, g_config.coord_port);
  }
  return false;
}

// CKPT_WRITTEN for an image that could not be written: why goes with it.
void reach_with_failure(const char* failure, size_t len) {
  if (g_path != RoundPath::kTogether) {
    return;
  }
  int rc = coord::barrier_bytes(g_coord_fd, Barrier::kCkptWritten, failure, len,
                                &g_num_peers);
  if (rc == coord::kAborted) {
    g_path = RoundPath::kAborted;
  } else if (rc != 0) {
    g_path = RoundPath::kLost;
    DMTCP_WARN(
        "lost the coordinator during checkpoint generation %u; the program "
        "goes on without checkpoints until a coordinator is back at %s:%d "
        "(the previous checkpoint is intact)",
        g_generation.load(), g_config.coord_host, g_config.coord_port);
  }
}

// After a round finished alone: the coordinator that aborted it hears that
// we are back; a lost one is let go (ckpt_thread_main reconnects).
void after_round_alone() {
  RoundPath path = g_path;
  g_path = RoundPath::kTogether;
  if (path == RoundPath::kAborted) {
    if (proto::send_msg(g_coord_fd, proto::MsgType::kRoundLeft, nullptr, 0) ==
        0) {
      return;
    }
    DMTCP_WARN(
        "lost the coordinator at %s:%d; the program goes on without "
        "checkpoints until one is back",
        g_config.coord_host, g_config.coord_port);
  }
  if (path != RoundPath::kTogether) {
    close(g_coord_fd);
    g_coord_fd = -1;
  }
}

void fire_with_restart_flag(DmtcpEvent_t e, bool is_restart) {
  DmtcpEventData_t d{};
  d.resumeInfo.isRestart = is_restart ? 1 : 0;
  events::fire(e, &d);
}

// The shared objects dmtcp_restart handed over (RestartInfo::objects) stay
// open while RESTART runs, for the plugins to take what they need; then
// their numbers are free for the program's own fds.
void close_restored_objects() {
  RestartInfo& info = g_restart_info;
  for (uint32_t i = 0; i < info.object_count && i < kRestartObjectsMax; ++i) {
    if (info.objects[i].fd >= 0) {
      close(info.objects[i].fd);
      info.objects[i].fd = -1;
    }
  }
}

// Restart: plugins re-make descriptions at temporary fds above the
// program's highest before moving them to their numbers, up to twice the
// program's fds at once (dmtcp/fd_share.h).  The soft RLIMIT_NOFILE goes up
// to the hard one from RESTART to the end of REFILL, then back.
rlim_t g_nofile_before_restart = RLIM_INFINITY;

void widen_nofile_for_restart() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    g_nofile_before_restart = r.rlim_cur;
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

void narrow_nofile_after_restart() {
  rlimit r{};
  if (g_nofile_before_restart != RLIM_INFINITY &&
      getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = g_nofile_before_restart;
    setrlimit(RLIMIT_NOFILE, &r);
    g_nofile_before_restart = RLIM_INFINITY;
  }
}

// Steps 8 to 11, shared by resume and restart.  A forked round stays "in
// the round" after its threads run again, until its image is committed.
void refill_and_resume(bool is_restart, bool round_goes_on) {
  fire_with_restart_flag(DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA, is_restart);
  reach(Barrier::kRegisterNameService);
  fire_with_restart_flag(DMTCP_EVENT_SEND_QUERIES, is_restart);
  reach(Barrier::kSendQueries);
  fire_with_restart_flag(DMTCP_EVENT_REFILL, is_restart);
  reach(Barrier::kRefilled);
  narrow_nofile_after_restart();
  if (!round_goes_on) {
    g_in_round.store(false);
  }
  fire_with_restart_flag(DMTCP_EVENT_THREADS_RESUME, is_restart);
  g_rounds_done.fetch_add(1);
  futex_wake(&g_rounds_done);
  threads::resume_all(is_restart);
}

void finish_round(bool is_restart) {
  refill_and_resume(is_restart, /*round_goes_on=*/false);
  if (g_path != RoundPath::kTogether) {
    after_round_alone();
  }
}

// The forked order (proto::kCheckpointForked, docs/coordinator.md): after
// DRAIN and WRITE_CKPT a copy-on-write child writes the image
// (forked_writer.h) while this process goes through RESUME ... REFILL and
// lets its threads run; CKPT_WRITTEN, the last barrier, is reported once
// the image is on disk.  A process that did not ask for forked
// checkpoints (or could not start a writer) writes its image here, before
// RESUME, with its threads still frozen.
void forked_order_round(int prep) {
  bool forked = false;
  int rc = prep;
  if (g_path == RoundPath::kTogether && rc == 0) {
    if (g_config.forked_checkpoint) {
      rc = forked_writer::start();
      forked = rc == 0;
      if (!forked) {
        DMTCP_WARN(
            "cannot start a forked image writer (%s); writing %s "
            "with the program stopped",
            strerror(-rc), g_id.ckpt_filename);
      }
    }
    if (!forked) {
      rc = image_dump::write_image();
    }
  }
  fire_with_restart_flag(DMTCP_EVENT_RESUME, false);
  reach(Barrier::kResumed);
  refill_and_resume(false, /*round_goes_on=*/true);
  char why[256] = "";
  if (forked && g_path == RoundPath::kAborted) {
    forked_writer::abandon();  // the coordinator gave up on this round
    forked = false;
  }
  if (forked) {
    forked_writer::WaitEnd end = forked_writer::WaitEnd::kWriterDone;
    rc = forked_writer::finish(g_path == RoundPath::kTogether ? g_coord_fd : -1,
                               &end, why, sizeof why);
    if (end == forked_writer::WaitEnd::kAborted &&
        g_path == RoundPath::kTogether) {
      g_path = RoundPath::kAborted;
      DMTCP_WARN(
          "the coordinator gave up waiting for this process in checkpoint "
          "generation %u; its image writer was stopped (no image of this "
          "generation counts)",
          g_generation.load());
    }
  }
  if (g_path == RoundPath::kTogether) {
    if (rc != 0) {
      DMTCP_ERROR("writing %s failed: %s; the previous checkpoint is kept",
                  g_id.ckpt_filename, why[0] != '\0' ? why : strerror(-rc));
      // A NUL byte, then why: the coordinator's one line names the cause.
      char failure[sizeof why + 1];
      failure[0] = '\0';
      snprintf(failure + 1, sizeof failure - 1, "%s",
               why[0] != '\0' ? why : strerror(-rc));
      reach_with_failure(failure, 1 + strlen(failure + 1));
    } else {
      reach(Barrier::kCkptWritten,
            forked ? forked_writer::image_path() : g_id.ckpt_filename);
    }
  }
  g_in_round.store(false);
  futex_wake(&g_rounds_done);  // exec and dmtcp_checkpoint() wait for this
  if (g_path != RoundPath::kTogether) {
    after_round_alone();
  }
}

// Set when a dmtcp_restart --ckptdir named this process's directory: the
// coordinator's --ckptdir no longer moves its images.  Kept in the image.
static bool g_ckpt_dir_chosen_at_restart = false;

// Runs in the checkpoint thread right after the restorer jumped here: the
// memory is the image's, the kernel knows only this one thread.
void come_back_from_image() {
  threads::restore_own_kernel_state();
  const RestartInfo& info = g_restart_info;
  DMTCP_ASSERT(info.magic == kRestartInfoMagic,
               "restart info missing (magic %x)", info.magic);
  g_coord_fd = info.coord_fd;
  g_client_id = info.client_id;
  lazy_restart::adopt(info.size >= sizeof(RestartInfo) ? info.lazy_fd : -1);
  if (info.ckpt_dir[0] != '\0') {
    g_ckpt_dir_chosen_at_restart = true;
    proto::copy_field(
        g_config.ckpt_dir, sizeof g_config.ckpt_dir,
        std::string_view(info.ckpt_dir,
                         strnlen(info.ckpt_dir, sizeof info.ckpt_dir)));
  }
  proto::copy_field(
      g_config.coord_host, sizeof g_config.coord_host,
      std::string_view(info.coord_host,
                       strnlen(info.coord_host, sizeof info.coord_host)));
  g_config.coord_port = info.coord_port;
  update_ckpt_filename();
  preload_env::tell_truth_after_restart(info);
  // dmtcp_restart --(no-)forked-checkpoint, or DMTCP_FORKED_CHECKPOINT in
  // its environment; without either the mode the image had stays (its
  // hello told the coordinator the same).
  if (const char* v = preload_env::restart_env(info, "DMTCP_FORKED_CHECKPOINT");
      v != nullptr && *v != '\0') {
    g_config.forked_checkpoint = strcmp(v, "0") != 0;
  }
  if (const char* v = preload_env::restart_env(info, "DMTCP_INCREMENTAL");
      v != nullptr && *v != '\0') {
    g_config.incremental = strcmp(v, "0") != 0;
  }
  if (const char* v =
          preload_env::restart_env(info, "DMTCP_INCREMENTAL_FULL_EVERY");
      v != nullptr && *v != '\0') {
    g_config.incremental_full_every = static_cast<uint32_t>(atoi(v));
  }
  if (info.interval != 0) {
    g_config.interval = info.interval;
  } else if (g_config.interval != 0) {
    // Set before the checkpoint (launch or dmtcp_command -i) and not
    // overridden by this restart: the coordinator takes it again.
    uint32_t interval = g_config.interval;
    proto::send_msg(g_coord_fd, proto::MsgType::kSetInterval, &interval,
                    sizeof interval);
  }
  // ps shows the leader's name: ours again, not dmtcp_restart's.
  prctl(PR_SET_NAME, g_id.progname);
  if (info.restorer_len != 0) {
    munmap(reinterpret_cast<void*>(info.restorer_start), info.restorer_len);
  }
  image_dump::forget_after_restart();
  process_state::restore();
  pending_signals::requeue_process();
  // glibc must agree with the kernel about the break (docs/restore.md).
  // When the kernel's break is at or above glibc's, sbrk from there either
  // really grows or really fails.  When it is below (the restorer could not
  // move it), glibc keeps its own: the next brk() then fails visibly and
  // malloc falls back to mmap.
  void* kernel_brk = reinterpret_cast<void*>(syscall(SYS_brk, 0));
  if (kernel_brk >= __curbrk) {
    __curbrk = kernel_brk;
  }
  threads::recreate_after_restart();
  g_id_pid = raw::getpid();
  g_num_restarts.fetch_add(1);
}

void checkpoint_round(const proto::DoCheckpointPayload& order) {
  g_in_round.store(true);
  // DMTCP 3.x's PRESUSPEND: the order has come, every user thread still
  // runs.  Only where a 3.x plugin is loaded, so that the tutorial's table
  // stays exact for everyone else.
  if (events::descriptor_count() > 0) {
    events::fire(DMTCP_EVENT_PRESUSPEND);
  }
  // dmtcp_restart --ckptdir beats the coordinator's directory (upstream:
  // the restarted process's own directory wins).
  if (order.ckpt_dir[0] != '\0' && !g_ckpt_dir_chosen_at_restart) {
    snprintf(g_config.ckpt_dir, sizeof g_config.ckpt_dir, "%s", order.ckpt_dir);
  }
  update_ckpt_filename(order.generation);
  // A directory that is not there yet is made (as upstream does): the
  // checkpoint directory itself (one level: the tools make whole paths),
  // and this generation's own with unique checkpoint directories.
  mkdir(g_config.ckpt_dir, 0700);
  if (g_config.unique_ckpt_dirs) {
    char dir[sizeof g_config.ckpt_dir + 96];
    image_dir_for(order.generation, dir, sizeof dir);
    mkdir(dir, 0700);
  }
  // A lazy restart's pages must all be in before the image is written
  // (docs/lazy-restart.md).
  lazy_restart::wait_resident();
  // Everything that may allocate happens before any thread is frozen.
  incremental::begin_round(order.generation, order.last_committed);
  int prep = image_dump::prepare(g_config.compress, g_config.direct_io);
  unsaved::begin_round();
  pending_signals::begin_round();
  threads::suspend_all();
  g_generation.store(order.generation);
  g_num_peers = order.num_peers;
  events::fire(DMTCP_EVENT_THREADS_SUSPEND);
  reach(Barrier::kThreadsSuspended);
  events::fire(DMTCP_EVENT_SUSPENDED);
  reach(Barrier::kSuspended);
  events::fire(DMTCP_EVENT_LEADER_ELECTION);
  reach(Barrier::kLeaderElection);
  events::fire(DMTCP_EVENT_DRAIN);
  reach(Barrier::kDrain);
  image_notes::open_round();
  events::fire(DMTCP_EVENT_WRITE_CKPT);
  image_notes::close_round();
  unsaved::find_and_warn();  // after every plugin has claimed its share
  process_state::save();
  pending_signals::save_process(g_config.ckpt_signal);
  threads::save_own_kernel_state();
  g_restart_info.magic = 0;
  if (dmtcp_context_save(&g_resume_ctx) == 0) {
    g_resume_ctx.fs_base = tcb::thread_pointer();
    if ((order.flags & proto::kCheckpointForked) != 0) {
      forked_order_round(prep);
      return;
    }
    // Alone, no image: nobody would commit it.
    if (g_path == RoundPath::kTogether) {
      int rc = prep != 0 ? prep : image_dump::write_image();
      if (rc != 0) {
        // The barrier still has to be reached, or every process would
        // hang; the coordinator learns of the failure from the empty path.
        DMTCP_ERROR("writing %s failed: %s; the previous checkpoint is kept",
                    g_id.ckpt_filename, strerror(-rc));
        reach(Barrier::kCkptWritten, "");
      } else {
        reach(Barrier::kCkptWritten, g_id.ckpt_filename);
      }
    }
    fire_with_restart_flag(DMTCP_EVENT_RESUME, false);
    reach(Barrier::kResumed);
    finish_round(false);
    return;
  }
  // ---- Restart: we are in a new process. ----
  come_back_from_image();
  g_in_round.store(true);
  unsaved::hold_numbers();  // before any plugin opens anything
  widen_nofile_for_restart();
  fire_with_restart_flag(DMTCP_EVENT_RESTART, true);
  close_restored_objects();
  reach(Barrier::kRestarted);
  finish_round(true);
}

// Without a coordinator (it died, or was not there when this process
// started): try again on the same host and port, quietly, with a growing
// pause, until one takes us in.  A new coordinator takes the computation
// over: our hello names its computation id and generation.
void reconnect() {
  int pause_ms = 500;
  while (g_coord_fd < 0 && (g_exit_gate.load() & kExiting) == 0) {
    struct timespec t = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
    nanosleep(&t, nullptr);
    pause_ms = pause_ms < 8000 ? pause_ms * 2 : 8000;
    // Quiet: the loss was reported once already.
    g_coord_fd = connect_process_to_coordinator(/*rejoin=*/true,
                                                /*loud=*/false);
  }
  if (g_coord_fd < 0) {
    return;  // exiting
  }
  DMTCP_INFO(
      "joined the coordinator at %s:%d again (computation %s, "
      "generation %u)",
      g_config.coord_host, g_config.coord_port, g_id.computation_id,
      g_generation.load());
  update_ckpt_filename();
}

void* ckpt_thread_main(void*) {
  threads::mark_internal_thread();
  tcb::verify_tid_offset();
  sigset_t all;
  sigfillset(&all);
  real::fns().pthread_sigmask(SIG_SETMASK, &all, nullptr);
  for (;;) {
    if (g_coord_fd < 0) {
      reconnect();
    }
    if ((g_exit_gate.load() & kExiting) != 0) {
      return nullptr;
    }
    events::fire(DMTCP_EVENT_WAIT_FOR_SUSPEND_MSG);
    proto::DoCheckpointPayload order{};
    int got = coord::wait_idle(g_coord_fd, &order);
    if (got >= 0 && !enter_round()) {
      got = -1;  // exiting: the round goes on without us
    }
    if ((g_exit_gate.load() & kExiting) != 0) {
      return nullptr;  // leave_before_exit() closed the connection
    }
    if (got < 0) {
      DMTCP_WARN(
          "lost the coordinator at %s:%d; the program goes on without "
          "checkpoints until one is back",
          g_config.coord_host, g_config.coord_port);
      close(g_coord_fd);
      g_coord_fd = -1;
      continue;
    }
    checkpoint_round(order);
    leave_round();
  }
}

}  // namespace

bool in_round() {
  return g_in_round.load();
}

int plugin_barrier(const char* name) {
  if (!g_in_round.load() || !threads::is_internal_thread()) {
    return 1;  // no round to meet the others in
  }
  if (g_path != RoundPath::kTogether) {
    return 0;  // this round goes on alone: nobody to wait for
  }
  size_t len = strnlen(name, proto::kMaxBarrierNameLen);
  if (len == 0 || len >= proto::kMaxBarrierNameLen) {
    DMTCP_WARN("dmtcp_global_barrier: the name must have 1 to %u bytes",
               proto::kMaxBarrierNameLen - 1);
    return -1;
  }
  int rc = coord::named_barrier(g_coord_fd, name, len);
  if (rc == coord::kAborted) {
    // The step's own barrier reports it and the round goes on alone.
    return 0;
  }
  if (rc != 0) {
    g_path = RoundPath::kLost;
    DMTCP_WARN(
        "lost the coordinator during checkpoint generation %u (at plugin "
        "barrier %s); the program goes on without checkpoints until a "
        "coordinator is back at %s:%d",
        g_generation.load(), name, g_config.coord_host, g_config.coord_port);
  }
  return 0;
}

void leave_before_exit() {
  uint32_t s = g_exit_gate.load();
  for (;;) {
    if ((s & kExiting) != 0) {
      return;
    }
    // Exit from inside a wrapper (the checkpoint lock held) must not wait
    // for a round that waits for the lock.
    if ((s & kBusy) != 0 && !ckpt_lock::held_shared()) {
      futex_wait(&g_exit_gate, s);  // a round freezes us here as anywhere
      s = g_exit_gate.load();
      continue;
    }
    if (g_exit_gate.compare_exchange_weak(s, s | kExiting)) {
      break;
    }
  }
  // The coordinator sees us leave: a round that starts now goes on
  // without us (we were never suspended in it).
  if (g_coord_fd >= 0) {
    shutdown(g_coord_fd, SHUT_RDWR);
  }
  // Plugins hear of the exit while their globals still exist.
  fire_exit_event_once();
}

void fire_exit_event_once() {
  static std::atomic<bool> fired{false};
  if (!fired.exchange(true)) {
    events::fire(DMTCP_EVENT_EXIT);
  }
}

void start_ckpt_thread() {
  // A fork child may inherit kBusy from a parent whose checkpoint thread
  // was starting a round: that thread is not ours.
  g_exit_gate.store(0);
  g_in_round.store(false);        // a fork child copied its parent's flag
  g_path = RoundPath::kTogether;  // ... and how its round went on
  coord::forget_abort();
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  // Room for the image writer's frames and a few plugin hooks.
  pthread_attr_setstacksize(&attr, 1u << 20);
  // Born with every signal blocked: until ckpt_thread_main blocks them
  // itself, a process-directed signal the program blocks in its own
  // threads (sigqueue of a signal it reads with a signalfd) could be
  // delivered here and kill the process with its default action.
  sigset_t all;
  sigfillset(&all);
  pthread_attr_setsigmask_np(&attr, &all);
  int r = real::fns().pthread_create(&t, &attr, ckpt_thread_main, nullptr);
  pthread_attr_destroy(&attr);
  DMTCP_ASSERT(r == 0, "starting the checkpoint thread: %s", strerror(r));
}

}  // namespace dmtcp::rt
