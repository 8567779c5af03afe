// The core's libc wrappers (declared once in real_fns.h).  Each reads top to
// bottom: pass through when inactive -> hold the checkpoint lock where the
// call must not be split by a checkpoint -> adjust -> call the real one.
//
// - pthread_create: threads are registered (threads.cpp).
// - signal functions: the checkpoint signal stays ours.  A handler installed
//   for it is refused with a warning; masks never block it.
// - fork/vfork: the child joins the computation as a new process with its
//   own checkpoint thread and coordinator connection (vfork is run as fork:
//   the child must be able to run our code); the parent returns only once
//   the child has joined, so no checkpoint has one without the other.
// - execve, execv, execvp, execvpe, execl, execlp, execle: PRE_EXEC with a
//   state fd whose number the new image finds in its environment (it fires
//   POST_EXEC with it before INIT); the new program finds the runtime
//   through LD_PRELOAD and DMTCP_* in its environment and joins again.
//   glibc's exec* call execve internally, past our wrapper, so each is
//   wrapped.  An exec waits until a round of this process is over
//   (ExecGuard).
// - exec*, posix_spawn, posix_spawnp, system, popen: our libraries go back
//   into LD_PRELOAD for the program started (preload_env.h).
// - posix_spawn, posix_spawnp: like fork, the parent returns only once the
//   child has joined (SpawnJoin).
// - pthread_exit: PTHREAD_EXIT in the exiting thread.
// - sigsuspend: also waits again after a checkpoint's signal; the sleeps
//   and pause do the same in sleep_wrappers.cpp.
// - close (from the program), close_range, closefrom,
//   syscall(SYS_close_range): our protected fds (the coordinator connection)
//   stay open.  A child about to exec closes every fd above 2 (Python's
//   subprocess does, with close_range); its checkpoint thread lives until
//   the exec, and a round reaching it in that window found its connection
//   gone and ended the child ("lost the coordinator", exit 70).
#include <alloca.h>
#include <elf.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "dmtcp/raw_syscall.h"
#include "protocol/protocol.h"
#include "runtime/checkpoint_eintr.h"
#include "runtime/ckpt_lock.h"
#include "runtime/events.h"
#include "runtime/forked_writer.h"
#include "runtime/futex.h"
#include "runtime/image_dump.h"
#include "runtime/incremental.h"
#include "runtime/lazy_restart.h"
#include "runtime/preload_env.h"
#include "runtime/real_fns.h"
#include "runtime/remote_shell.h"
#include "runtime/runtime.h"
#include "runtime/threads.h"

using dmtcp::real::fns;
namespace rt = dmtcp::rt;

namespace {

bool active() {
  return rt::g_enabled.load(std::memory_order_relaxed);
}

// Removes the checkpoint signal from a set the program wants to block.
const sigset_t* without_ckpt_signal(int how, const sigset_t* set,
                                    sigset_t* copy) {
  if (set == nullptr || how == SIG_UNBLOCK || !active() ||
      dmtcp::threads::is_internal_thread() ||
      !sigismember(set, rt::g_config.ckpt_signal)) {
    return set;
  }
  *copy = *set;
  sigdelset(copy, rt::g_config.ckpt_signal);
  return copy;
}

// SIG_DFL for our signal is refused in silence: the program only asks for
// what it would have without us.  Python's subprocess resets every handler
// to SIG_DFL in each child before exec; a warning there was noise.
bool sets_default(int sig, const struct sigaction* act) {
  return act != nullptr && sig == rt::g_config.ckpt_signal &&
         (act->sa_flags & SA_SIGINFO) == 0 && act->sa_handler == SIG_DFL;
}

void warn_ckpt_signal_taken() {
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true)) {
    DMTCP_WARN(
        "the program installs a handler for signal %d, which DMTCP "
        "uses to checkpoint; ignored (pick another signal with "
        "dmtcp_launch --ckpt-signal)",
        rt::g_config.ckpt_signal);
  }
}

// The parent keeps the checkpoint lock until the child has joined the
// coordinator (a byte on a pipe; end of file if it died first): a
// checkpoint can then never take a parent that has forked without the
// child.  The coordinator adds a child that joins while a round is still
// suspending to that round (docs/coordinator.md).
void wait_for_child_to_join(int joined[2]) {
  if (joined[0] < 0) {
    return;
  }
  close(joined[1]);
  char byte;
  while (read(joined[0], &byte, 1) < 0 && errno == EINTR) {
  }
  close(joined[0]);
}

void tell_parent_joined(int joined[2]) {
  if (joined[0] < 0) {
    return;
  }
  close(joined[0]);
  ssize_t w = write(joined[1], "j", 1);
  (void)w;  // the parent reads end of file instead: it goes on all the same
  close(joined[1]);
}

// One fork at a time in this process: a fork by another thread between
// our pipe2() and the close of its ends would give that child copies of
// our pipe (a write end held there would keep us waiting for good if our
// child died before joining).  The child inherits the flag set and clears
// it when fork_and_join returns there too.
std::atomic_flag g_forking = ATOMIC_FLAG_INIT;

class OneForkAtATime {
 public:
  OneForkAtATime() {
    while (g_forking.test_and_set(std::memory_order_acquire)) {
      sched_yield();
    }
  }
  ~OneForkAtATime() { g_forking.clear(std::memory_order_release); }
  OneForkAtATime(const OneForkAtATime&) = delete;
  OneForkAtATime& operator=(const OneForkAtATime&) = delete;
};

pid_t fork_and_join() {
  dmtcp::ckpt_lock::SharedGuard guard;
  // The child would not inherit the lazy restart's userfaultfd: pages not
  // yet in would be empty there (docs/lazy-restart.md).  Under the guard:
  // a checkpoint between this wait and the fork, restarted lazily, would
  // go on into the fork with its pages not yet in.
  dmtcp::lazy_restart::wait_resident();
  OneForkAtATime one;
  dmtcp::events::fire(DMTCP_EVENT_ATFORK_PREPARE);
  char parent_upid[sizeof rt::g_id.unique_pid];
  memcpy(parent_upid, rt::g_id.unique_pid, sizeof parent_upid);
  int joined[2] = {-1, -1};
  if (pipe2(joined, O_CLOEXEC) != 0) {
    joined[0] = joined[1] = -1;
  }
  dmtcp::threads::fork_starting();
  pid_t pid = fns().fork();
  if (pid != 0) {
    dmtcp::threads::fork_done();
    if (pid > 0) {
      wait_for_child_to_join(joined);
    } else if (joined[0] >= 0) {
      close(joined[0]);
      close(joined[1]);
    }
    dmtcp::events::fire(DMTCP_EVENT_ATFORK_PARENT);
    return pid;
  }
  // Child: only this thread exists; the parent's coordinator connection and
  // checkpoint thread are not ours.
  dmtcp::ckpt_lock::reset_after_fork(dmtcp::ckpt_lock::depth_of_this_thread());
  dmtcp::threads::reset_after_fork();
  dmtcp::threads::fork_done();
  dmtcp::forked_writer::forget_after_fork();  // the parent's, not ours
  dmtcp::incremental::forget_after_fork();    // its images are not ours
  dmtcp::image_dump::after_fork_in_child();   // its prepare() may be half done
  bool parent_connected = rt::g_coord_fd >= 0;
  close(rt::g_coord_fd);
  memcpy(rt::g_id.parent_unique_pid, parent_upid,
         sizeof rt::g_id.parent_unique_pid);
  rt::new_unique_pid();
  rt::g_id_pid = dmtcp::raw::getpid();
  setenv("DMTCP_PARENT_UNIQUE_PID", parent_upid, 1);
  rt::update_ckpt_filename();
  // Without a coordinator the child goes on all the same; its checkpoint
  // thread keeps trying to reach one.  A fork never fails because of us.
  // When the parent had none either, the child does not wait for a
  // connect here (the parent waits for the child) nor says so again.
  rt::g_coord_fd =
      parent_connected ? rt::connect_process_to_coordinator(false, false) : -1;
  if (rt::g_coord_fd < 0 && parent_connected) {
    DMTCP_WARN(
        "the program goes on without checkpoints until a "
        "coordinator is back at %s:%d",
        rt::g_config.coord_host, rt::g_config.coord_port);
  }
  rt::start_ckpt_thread();
  tell_parent_joined(joined);
  dmtcp::events::fire(DMTCP_EVENT_ATFORK_CHILD);
  return 0;
}

// posix_spawn's child is made by glibc (clone + exec) past our fork
// wrapper and joins the coordinator only once its new program runs our
// constructor.  A round that froze the parent in between ran without the
// child ("process joined" after "checkpoint started" in the coordinator's
// log), so after a restart the parent had a child the kernel did not:
// make's wait() failed with ECHILD ("make: wait: No child processes",
// e2e.make_j2.restart2, 1 run in 6).  So a spawn is made like a fork
// (fork_and_join): the parent holds the checkpoint lock, one fork at a
// time, until the child has joined.  The child learns the write end of a
// pipe from kSpawnJoinFdEnv and writes a byte once connected
// (runtime.cpp).  The write end is inherited across the exec (no
// O_CLOEXEC; OneForkAtATime keeps it out of our other forks), so end of
// file means the child died or closed it.  A program that cannot join
// (static, setuid: the loader ignores LD_PRELOAD) keeps the fd and never
// writes: it is not waited for, and kSpawnJoinWaitMs bounds any wait.
class SpawnJoin {
 public:
  SpawnJoin() {
    if (pipe2(fds_, O_CLOEXEC) != 0) {
      fds_[0] = fds_[1] = -1;
      return;
    }
    // Only the write end reaches the child.
    int flags = fcntl(fds_[1], F_GETFD);
    if (flags < 0 || fcntl(fds_[1], F_SETFD, flags & ~FD_CLOEXEC) != 0) {
      close(fds_[0]);
      close(fds_[1]);
      fds_[0] = fds_[1] = -1;
    }
  }
  ~SpawnJoin() {
    int saved = errno;
    if (fds_[1] >= 0) {
      close(fds_[1]);
    }
    if (fds_[0] >= 0) {
      close(fds_[0]);
    }
    errno = saved;
  }
  SpawnJoin(const SpawnJoin&) = delete;
  SpawnJoin& operator=(const SpawnJoin&) = delete;

  int child_fd() const { return fds_[1]; }

  // After the spawn (child < 0: it failed): until the child said it
  // joined, died, or cannot join.  errno is kept.
  void wait(pid_t child) {
    int saved = errno;
    close(fds_[1]);
    fds_[1] = -1;
    if (fds_[0] >= 0 && child > 0 && can_join(child)) {
      pollfd p{fds_[0], POLLIN, 0};
      timespec start{};
      clock_gettime(CLOCK_MONOTONIC, &start);
      for (;;) {
        int r = poll(&p, 1, kSpawnJoinWaitMs);
        if (r > 0 || (r < 0 && errno != EINTR)) {
          break;  // a byte or end of file: nothing more to wait for
        }
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 +
                (now.tv_nsec - start.tv_nsec) / 1000000 >=
            kSpawnJoinWaitMs) {
          DMTCP_DEBUG("spawned child %d did not join within %d ms", child,
                      kSpawnJoinWaitMs);
          break;
        }
      }
    }
    errno = saved;
  }

 private:
  // The coordinator waits as long for an exec'd program (kExecRejoinMs).
  static constexpr int kSpawnJoinWaitMs = 10000;

  // Whether the program the child now runs loads our library: an ELF
  // with an interpreter and without set-id bits.  posix_spawn returns
  // after the exec, so /proc/<child>/exe is that program (a script's is
  // its interpreter).
  static bool can_join(pid_t child) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", child);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return false;  // gone already, or not ours to read
    }
    bool dynamic = false;
    struct stat st {};
    Elf64_Ehdr eh{};
    if (fstat(fd, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)) == 0 &&
        pread(fd, &eh, sizeof eh, 0) == static_cast<ssize_t>(sizeof eh) &&
        memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 &&
        eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 256) {
      for (int i = 0; i < eh.e_phnum && !dynamic; ++i) {
        Elf64_Phdr ph{};
        off_t at = static_cast<off_t>(eh.e_phoff + i * sizeof ph);
        if (pread(fd, &ph, sizeof ph, at) != static_cast<ssize_t>(sizeof ph)) {
          break;
        }
        dynamic = ph.p_type == PT_INTERP;
      }
    }
    close(fd);
    return dynamic;
  }

  int fds_[2] = {-1, -1};
  dmtcp::ckpt_lock::SharedGuard lock_;
  OneForkAtATime one_;
};

// The checkpoint lock for an exec, taken outside any round of this
// process.  A round starts (the coordinator's order arrives) before the
// checkpoint thread can take the lock exclusively: it prepares the image
// writer first.  An exec in that window replaced the process under the
// round, whose connection then closed: the coordinator failed the round
// ("python3[...] exited during the checkpoint", the child of a
// subprocess.run) and the new program sat it out.  So the exec waits for
// the round to end, unless this thread already holds the lock (then the
// round waits for it).
class ExecGuard {
 public:
  ExecGuard() {
    bool nested = dmtcp::ckpt_lock::held_shared();
    dmtcp::ckpt_lock::lock_shared();
    while (!nested && rt::in_round()) {
      dmtcp::ckpt_lock::unlock_shared();
      uint32_t seen = rt::g_rounds_done.load();
      if (rt::in_round()) {
        timespec ts{0, 50 * 1000 * 1000};
        dmtcp::futex_wait(&rt::g_rounds_done, seen, &ts);
      }
      dmtcp::ckpt_lock::lock_shared();
    }
  }
  ~ExecGuard() { dmtcp::ckpt_lock::unlock_shared(); }
  ExecGuard(const ExecGuard&) = delete;
  ExecGuard& operator=(const ExecGuard&) = delete;
};

// The environment a started program gets: the caller's, with our
// libraries in front of its LD_PRELOAD (preload_env.h) and, for an exec of
// this process, the state fd's number and its identity.  Unchanged (no
// copy) when there is nothing to add.
class ChildEnv {
 public:
  // exec_fd < 0: no state fd to name.  same_process: an exec of this
  // process, which keeps its unique pid and its parent link.
  // join_fd >= 0: a posix_spawn child tells us through it that it has
  // joined (SpawnJoin).
  ChildEnv(char* const* envp, int exec_fd, bool same_process = false,
           int join_fd = -1)
      : envp_(envp) {
    size_t n = 0;
    const char* preload = nullptr;
    while (envp != nullptr && envp[n] != nullptr) {
      if (strncmp(envp[n], "LD_PRELOAD=", 11) == 0) {
        preload = envp[n] + 11;
      }
      ++n;
    }
    if (dmtcp::preload_env::entry_for(preload, preload_var_,
                                      sizeof preload_var_)) {
      add(preload_var_);
    }
    if (exec_fd >= 0) {
      snprintf(fd_var_, sizeof fd_var_, "%s=%d", dmtcp::events::kExecFdEnv,
               exec_fd);
      add(fd_var_);
    }
    if (join_fd >= 0) {
      snprintf(join_var_, sizeof join_var_, "%s=%d", rt::kSpawnJoinFdEnv,
               join_fd);
      add(join_var_);
    }
    // The runtime of the new image reads who we are and who our parent is
    // from these.  A shell execs with the environment it keeps itself (the
    // one it started with, its parent's ids), not with ours, where the
    // fork wrapper wrote the child's: the exec'd command then named its
    // grandparent as parent and came back as a child of dmtcp_restart
    // (bash -c 'sleep 20; echo after' went on at once after a restart).
    if (same_process) {
      snprintf(upid_var_, sizeof upid_var_, "DMTCP_UNIQUE_PID=%s",
               rt::g_id.unique_pid);
      snprintf(parent_var_, sizeof parent_var_, "DMTCP_PARENT_UNIQUE_PID=%s",
               rt::g_id.parent_unique_pid);
      add(upid_var_);
      add(parent_var_);
      // Only the id's owner vouches for it: a clone() child's g_id is its
      // parent's copy.
      pid_t self = dmtcp::raw::getpid();
      if (self == rt::g_id_pid) {
        snprintf(exec_pid_var_, sizeof exec_pid_var_, "%s=%d", rt::kExecPidEnv,
                 self);
        add(exec_pid_var_);
      }
    }
    // After a restart the coordinator and the directories may be other
    // ones; the variables a shell or Python copied before still name the
    // old ones (preload_env.h).
    num_added_ += dmtcp::preload_env::truth_entries(added_ + num_added_,
                                                    kMaxAdded - num_added_);
    if (num_added_ == 0) {
      return;
    }
    copy_ = static_cast<char**>(malloc((n + num_added_ + 1) * sizeof(char*)));
    if (copy_ == nullptr) {
      return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!replaced(envp[i])) {
        copy_[k++] = envp[i];
      }
    }
    for (size_t i = 0; i < num_added_; ++i) {
      copy_[k++] = added_[i];
    }
    copy_[k] = nullptr;
    envp_ = copy_;
  }
  ~ChildEnv() { free(copy_); }
  ChildEnv(const ChildEnv&) = delete;
  ChildEnv& operator=(const ChildEnv&) = delete;

  char* const* envp() const { return envp_; }

 private:
  void add(char* entry) { added_[num_added_++] = entry; }

  // Whether `entry` sets a variable one of ours sets.
  bool replaced(const char* entry) const {
    for (size_t i = 0; i < num_added_; ++i) {
      size_t name_len = strchr(added_[i], '=') - added_[i] + 1;
      if (strncmp(entry, added_[i], name_len) == 0) {
        return true;
      }
    }
    return false;
  }

  char* const* envp_;
  char** copy_ = nullptr;
  // preload, state fd, join fd, unique pid, parent, exec pid, and preload_env's
  // truth entries.
  static constexpr size_t kMaxAdded = 12;
  char* added_[kMaxAdded];
  size_t num_added_ = 0;
  char fd_var_[64];
  char join_var_[64];
  char exec_pid_var_[64];
  char upid_var_[sizeof rt::g_id.unique_pid + 32];
  char parent_var_[sizeof rt::g_id.parent_unique_pid + 32];
  char preload_var_[8320];
};

// Fires PRE_EXEC with a fresh state fd and builds the environment the new
// image gets (ChildEnv).  When the exec fails the destructor closes the fd
// and frees the copy, keeping errno.
class ExecPrep {
 public:
  // announce: the new program rejoins (see fire_pre_exec); not so for
  // dmtcp_nocheckpoint, which leaves the computation.
  explicit ExecPrep(char* const* envp, bool announce = true)
      : fd_(fire_pre_exec(announce)), env_(envp, fd_, true) {}
  // Reached only when the exec failed.
  ~ExecPrep() {
    int saved = errno;
    if (fd_ >= 0) {
      close(fd_);
    }
    if (rt::g_coord_fd >= 0) {
      dmtcp::proto::send_msg(rt::g_coord_fd, dmtcp::proto::MsgType::kExecFailed,
                             nullptr, 0);
    }
    errno = saved;
  }
  ExecPrep(const ExecPrep&) = delete;
  ExecPrep& operator=(const ExecPrep&) = delete;

  char* const* envp() const { return env_.envp(); }

 private:
  static int fire_pre_exec(bool announce) {
    // The coordinator holds any round at THREADS_SUSPENDED until the new
    // program says hello (we hold the checkpoint lock until the exec, so
    // this process is not suspended meanwhile): a checkpoint never has our
    // parent without us.  One small message, sent while the checkpoint
    // thread cannot be sending (no round gets past suspension now).
    if (rt::g_coord_fd >= 0 && announce) {
      dmtcp::proto::send_msg(rt::g_coord_fd,
                             dmtcp::proto::MsgType::kExecPending, nullptr, 0);
    }
    int fd = dmtcp::events::make_exec_state_fd();
    DmtcpEventData_t data{};
    data.serializerInfo.fd = fd;
    dmtcp::events::fire(DMTCP_EVENT_PRE_EXEC, &data);
    if (fd >= 0) {
      lseek(fd, 0, SEEK_SET);
    }
    return fd;
  }

  int fd_;  // before env_: it names the fd
  ChildEnv env_;
};

// dmtcp_nocheckpoint (tools/nocheckpoint) runs its program outside the
// computation: exec'ing it is leaving, not an exec to wait for.
bool leaves_computation(const char* path) {
  const char* slash = path != nullptr ? strrchr(path, '/') : nullptr;
  const char* base = slash != nullptr ? slash + 1 : path;
  return base != nullptr && strcmp(base, "dmtcp_nocheckpoint") == 0;
}

// execl and friends: the variadic list as an argv array.  The array lives
// on the caller's stack (alloca in the wrapper), never in malloc: execl is
// typically called in the child of a fork in a multithreaded program, where
// malloc may be locked forever.
size_t count_args(const char* arg0, va_list ap) {
  va_list count;
  va_copy(count, ap);
  size_t n = arg0 != nullptr ? 1 : 0;
  while (arg0 != nullptr && va_arg(count, char*) != nullptr) {
    ++n;
  }
  va_end(count);
  return n;
}

// Fills argv[0..n] (NULL-terminated) and, for execle, *envp (the argument
// after the terminating NULL).
void fill_args(const char* arg0, va_list ap, size_t n, char** argv,
               char*** envp) {
  if (n > 0) {
    argv[0] = const_cast<char*>(arg0);
    for (size_t i = 1; i < n; ++i) {
      argv[i] = va_arg(ap, char*);
    }
    (void)va_arg(ap, char*);  // the terminating NULL
  }
  argv[n] = nullptr;
  if (envp != nullptr) {
    *envp = va_arg(ap, char**);
  }
}

// True when `pc` lies in libdmtcp.so's own code: the runtime closing its
// own fds.  The range of its executable segments, found once.
bool called_from_runtime(const void* pc) {
  static std::atomic<uintptr_t> lo{0};
  static std::atomic<uintptr_t> hi{0};
  if (hi.load(std::memory_order_acquire) == 0) {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&called_from_runtime), &info) == 0) {
      return false;
    }
    struct Range {
      uintptr_t base, lo, hi;
    } r{reinterpret_cast<uintptr_t>(info.dli_fbase), 0, 0};
    dl_iterate_phdr(
        [](dl_phdr_info* p, size_t, void* arg) {
          auto* r = static_cast<Range*>(arg);
          if (p->dlpi_addr != r->base) {
            return 0;
          }
          for (int i = 0; i < p->dlpi_phnum; ++i) {
            const auto& ph = p->dlpi_phdr[i];
            if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) != 0) {
              uintptr_t a = p->dlpi_addr + ph.p_vaddr;
              r->lo = r->lo == 0 || a < r->lo ? a : r->lo;
              r->hi = a + ph.p_memsz > r->hi ? a + ph.p_memsz : r->hi;
            }
          }
          return 1;
        },
        &r);
    if (r.hi == 0) {
      return false;
    }
    lo.store(r.lo, std::memory_order_relaxed);
    hi.store(r.hi, std::memory_order_release);
  }
  auto a = reinterpret_cast<uintptr_t>(pc);
  return a >= lo.load(std::memory_order_relaxed) &&
         a < hi.load(std::memory_order_relaxed);
}

// close_range over [first, last] minus the protected fds: up to two calls.
int close_range_keeping_ours(unsigned first, unsigned last, int flags) {
  const auto base = static_cast<unsigned>(rt::kProtectedFdBase);
  const auto end = static_cast<unsigned>(rt::kProtectedFdEnd);
  if (first > last || last < base || first >= end) {
    return fns().close_range(first, last, flags);
  }
  if (first < base && fns().close_range(first, base - 1, flags) != 0) {
    return -1;
  }
  if (last >= end) {
    return fns().close_range(end, last, flags);
  }
  return 0;
}

#define DMTCP_ARGV_FROM_VARARGS(arg0, argv, envp)                         \
  va_list ap;                                                             \
  va_start(ap, arg0);                                                     \
  size_t argc_ = count_args(arg0, ap);                                    \
  auto** argv = static_cast<char**>(alloca((argc_ + 1) * sizeof(char*))); \
  fill_args(arg0, ap, argc_, argv, envp);                                 \
  va_end(ap)

// A remote shell runs as dmtcp_ssh (runtime/remote_shell.h): path and
// argv are replaced, the new argv on the caller's stack (no malloc: this
// is often a fork child of a threaded program).
#define DMTCP_REMOTE_SHELL_REWRITE(path, argv, envp)                      \
  if (dmtcp::remote_shell::wanted(path, envp)) {                          \
    auto** wrapped_ = static_cast<char**>(                                \
        alloca(dmtcp::remote_shell::wrapped_size(argv) * sizeof(char*))); \
    path = dmtcp::remote_shell::wrap(path, argv, wrapped_);               \
    argv = wrapped_;                                                      \
  }

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int pthread_create(
    pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
    void* arg) {
  if (!active() || dmtcp::threads::is_internal_thread()) {
    return fns().pthread_create(thread, attr, start, arg);
  }
  return dmtcp::threads::create(thread, attr, start, arg);
}

__attribute__((visibility("default"))) pid_t fork(void) {
  if (!active()) {
    return fns().fork();
  }
  return fork_and_join();
}

__attribute__((visibility("default"))) pid_t vfork(void) {
  if (!active()) {
    return fns().fork();
  }
  return fork_and_join();
}

__attribute__((visibility("default"))) int sigaction(
    int sig, const struct sigaction* act, struct sigaction* old) {
  if (active() && sig == rt::g_config.ckpt_signal && act != nullptr &&
      !dmtcp::threads::is_internal_thread()) {
    if (!sets_default(sig, act)) {
      warn_ckpt_signal_taken();
    }
    act = nullptr;  // report the current action, change nothing
  }
  if (act != nullptr && active()) {
    struct sigaction copy = *act;
    sigdelset(&copy.sa_mask, rt::g_config.ckpt_signal);
    return fns().sigaction(sig, &copy, old);
  }
  return fns().sigaction(sig, act, old);
}

__attribute__((visibility("default"))) sighandler_t signal(
    int sig, sighandler_t handler) {
  if (active() && sig == rt::g_config.ckpt_signal) {
    if (handler != SIG_DFL) {
      warn_ckpt_signal_taken();
    }
    return SIG_DFL;
  }
  return fns().signal(sig, handler);
}

__attribute__((visibility("default"))) int sigprocmask(int how,
                                                       const sigset_t* set,
                                                       sigset_t* old) {
  sigset_t copy;
  return fns().sigprocmask(how, without_ckpt_signal(how, set, &copy), old);
}

__attribute__((visibility("default"))) int pthread_sigmask(int how,
                                                           const sigset_t* set,
                                                           sigset_t* old) {
  sigset_t copy;
  return fns().pthread_sigmask(how, without_ckpt_signal(how, set, &copy), old);
}

// Waits again when the signal that ended the wait was a checkpoint's
// (checkpoint_eintr.h).
__attribute__((visibility("default"))) int sigsuspend(const sigset_t* mask) {
  sigset_t copy;
  const sigset_t* allowed = without_ckpt_signal(SIG_SETMASK, mask, &copy);
  return dmtcp::checkpoint_eintr::wait_through_checkpoints(
      [allowed] { return fns().sigsuspend(allowed); });
}

__attribute__((visibility("default"))) int execve(const char* path,
                                                  char* const argv[],
                                                  char* const envp[]) {
  if (!active()) {
    return fns().execve(path, argv, envp);
  }
  DMTCP_REMOTE_SHELL_REWRITE(path, argv, envp);
  ExecGuard guard;
  ExecPrep prep(envp, !leaves_computation(path));
  return fns().execve(path, argv, prep.envp());
}

__attribute__((visibility("default"))) int execvpe(const char* file,
                                                   char* const argv[],
                                                   char* const envp[]) {
  if (!active()) {
    return fns().execvpe(file, argv, envp);
  }
  DMTCP_REMOTE_SHELL_REWRITE(file, argv, envp);
  ExecGuard guard;
  ExecPrep prep(envp, !leaves_computation(file));
  return fns().execvpe(file, argv, prep.envp());
}

__attribute__((visibility("default"))) int execv(const char* path,
                                                 char* const argv[]) {
  return execve(path, argv, environ);
}

__attribute__((visibility("default"))) int execvp(const char* file,
                                                  char* const argv[]) {
  return execvpe(file, argv, environ);
}

__attribute__((visibility("default"))) int execl(const char* path,
                                                 const char* arg, ...) {
  DMTCP_ARGV_FROM_VARARGS(arg, argv, nullptr);
  return execve(path, argv, environ);
}

__attribute__((visibility("default"))) int execlp(const char* file,
                                                  const char* arg, ...) {
  DMTCP_ARGV_FROM_VARARGS(arg, argv, nullptr);
  return execvpe(file, argv, environ);
}

__attribute__((visibility("default"))) int execle(const char* path,
                                                  const char* arg, ...) {
  char** envp = nullptr;
  DMTCP_ARGV_FROM_VARARGS(arg, argv, &envp);
  return execve(path, argv, envp);
}

__attribute__((visibility("default"))) int posix_spawn(
    pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
    const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  if (!active()) {
    return fns().posix_spawn(pid, path, actions, attr, argv, envp);
  }
  DMTCP_REMOTE_SHELL_REWRITE(path, argv, envp);
  SpawnJoin join;
  ChildEnv env(envp, -1, false, join.child_fd());
  pid_t child = -1;
  int r = fns().posix_spawn(&child, path, actions, attr, argv, env.envp());
  if (pid != nullptr && r == 0) {
    *pid = child;
  }
  join.wait(r == 0 ? child : -1);
  return r;
}
__attribute__((visibility("default"))) int posix_spawnp(
    pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
    const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  if (!active()) {
    return fns().posix_spawnp(pid, file, actions, attr, argv, envp);
  }
  DMTCP_REMOTE_SHELL_REWRITE(file, argv, envp);
  SpawnJoin join;
  ChildEnv env(envp, -1, false, join.child_fd());
  pid_t child = -1;
  int r = fns().posix_spawnp(&child, file, actions, attr, argv, env.envp());
  if (pid != nullptr && r == 0) {
    *pid = child;
  }
  join.wait(r == 0 ? child : -1);
  return r;
}
__attribute__((visibility("default"))) int system(const char* command) {
  if (!active()) {
    return fns().system(command);
  }
  dmtcp::preload_env::Shown shown;
  return fns().system(command);
}
__attribute__((visibility("default"))) FILE* popen(const char* command,
                                                   const char* type) {
  if (!active()) {
    return fns().popen(command, type);
  }
  dmtcp::preload_env::Shown shown;
  return fns().popen(command, type);
}
__attribute__((visibility("default"))) int close_range(unsigned int first,
                                                       unsigned int last,
                                                       int flags) {
  if (!active()) {
    return fns().close_range(first, last, flags);
  }
  return close_range_keeping_ours(first, last, flags);
}
// close() of one of our fds by the program (screen and daemons close every
// fd up to getdtablesize() one by one): refused with EBADF, as if it were
// not open; the connection to the coordinator stays.  The runtime's own
// calls (from libdmtcp.so) close them.
__attribute__((visibility("default"))) int close(int fd) {
  if (fd >= rt::kProtectedFdBase && fd < rt::kProtectedFdEnd && active() &&
      dmtcp_is_protected_fd(fd) != 0 &&
      !called_from_runtime(__builtin_return_address(0))) {
    errno = EBADF;
    return -1;
  }
  return fns().close(fd);
}
// syscall(SYS_close_range, ...), the raw form (upstream's syscall-tester
// calls it so): our protected fds stay open as with close_range().  Every
// other number goes on unchanged (six arguments read: the registers).
__attribute__((visibility("default"))) long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  dmtcp::raw::syscall_args(ap, a);
  va_end(ap);
  if (number == SYS_close_range && active()) {
    return close_range_keeping_ours(static_cast<unsigned>(a[0]),
                                    static_cast<unsigned>(a[1]),
                                    static_cast<int>(a[2]));
  }
  return fns().syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
__attribute__((visibility("default"))) void closefrom(int lowfd) {
  if (!active() || lowfd < 0) {
    fns().closefrom(lowfd);
    return;
  }
  int saved = errno;
  if (close_range_keeping_ours(static_cast<unsigned>(lowfd), ~0u, 0) != 0) {
    // No close_range in this kernel: one by one, as glibc would.
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = lowfd; fd < max; ++fd) {
      if (fd < rt::kProtectedFdBase || fd >= rt::kProtectedFdEnd) {
        close(static_cast<int>(fd));
      }
    }
  }
  errno = saved;
}
__attribute__((visibility("default"), noreturn)) void pthread_exit(
    void* retval) {
  if (active() && !dmtcp::threads::is_internal_thread()) {
    dmtcp::events::fire(DMTCP_EVENT_PTHREAD_EXIT);
  }
  fns().pthread_exit(retval);
  __builtin_unreachable();
}

}  // extern "C"
