// pid_wrappers.cpp -- libc functions that take or return pids and tids.
//
// Each wrapper: pass through when inactive -> translate virtual ids in ->
// call the next
// definition -> translate real ids out (errno kept) -> return.  A virtual
// pid whose process is known to be gone fails with ESRCH (or the call's
// own "no such process" error) without reaching the kernel.
//
// Fast paths: getpid() and gettid() return cached values; kill() of
// ourselves and waitpid(-1, WNOHANG) with nothing to reap touch no table.
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "dmtcp/plugin.h"
#include "dmtcp/raw_syscall.h"
#include "pid_groups.h"
#include "pid_state.h"

using namespace dmtcp::pid;
using dmtcp::RealPid;

namespace {

template <class T>
T fail(int err) {
  errno = err;
  return static_cast<T>(-1);
}

long syscall_result(long r) {
  if (r < 0 && r > -4096) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

// A group or session id result: the leader's virtual pid (also when the
// leader is gone but its group lives on, pid_groups.h).
pid_t out_group(pid_t real) {
  if (real <= 0) {
    return real;
  }
  ErrnoKeeper keep;
  return pgid_to_virt(real);
}

// A group id argument; 0 means "the caller's".
std::optional<pid_t> in_group_or_zero(pid_t virt) {
  if (virt <= 0) {
    return virt;
  }
  return pgid_to_real(virt);
}

// A pid argument where 0 means "the caller" and negatives are not ids.
std::optional<pid_t> in_pid_or_zero(pid_t virt) {
  if (virt <= 0) {
    return virt;
  }
  return pid_to_real(virt);
}

// Same, for calls whose "pid" is really a thread id (sched_*).
std::optional<pid_t> in_tid_or_zero(pid_t virt) {
  if (virt <= 0) {
    return virt;
  }
  return tid_to_real(virt);
}

// kill()'s first argument: > 0 a process, < -1 a process group (the
// group's id is its leader's virtual pid), 0 and -1 need no translation.
std::optional<pid_t> in_kill_target(pid_t pid) {
  if (pid > 0) {
    return pid_to_real(pid);
  }
  if (pid < -1) {
    auto r = pgid_to_real(-pid);
    return r ? std::optional<pid_t>(-*r) : std::nullopt;
  }
  return pid;
}

// waitpid()'s first argument: as kill(), but 0 and -1 are "any child".
std::optional<pid_t> in_wait_target(pid_t pid) {
  return in_kill_target(pid);
}

bool reaps(int options, const int* status) {
  if ((options & (WUNTRACED | WCONTINUED)) == 0) {
    return true;
  }
  return status != nullptr && (WIFEXITED(*status) || WIFSIGNALED(*status));
}

// A child the kernel reported: its virtual pid; forgotten if reaped.
pid_t out_waited(pid_t real, bool reaped) {
  if (real <= 0) {
    return real;
  }
  ErrnoKeeper keep;
  TableAccess access;
  auto known = table().to_virtual(RealPid(real));
  if (!known) {
    return pid_to_virt(real);  // not a child we forked: nothing to forget
  }
  pid_t virt = known->value;
  if (reaped) {
    forget_process(virt, real);
  }
  return virt;
}

// --- waits for a particular child or group ---------------------------------
// The checkpoint signal has SA_RESTART, so a wait blocked during a round is
// run again by the kernel with the arguments it had: the kernel ids we
// translated before the round.  After a restart those name no child of ours
// (the wait failed with ECHILD: "of 50 children, exactly the one it was
// waiting on was lost"), or, if the kernel reused the number, another one,
// which it would reap.  So a blocking wait for a translated target:
//  1. blocks with WNOWAIT, which reaps nothing;
//  2. if a restart happened meanwhile (restarts_so_far() moved), translates
//     again and goes back to 1: whatever it saw was about old ids;
//  3. collects the child step 1 reported with the caller's own call and
//     WNOHANG (it cannot block now); nothing there (a stopped child went on,
//     another thread reaped it) -> back to 1.
// Waits for any child (-1, 0, P_ALL) name no id and need none of this.

// What step 1 tells: 0 and the child in *si, or -1 with errno.
int block_until_reportable(idtype_t type, pid_t real, int options,
                           siginfo_t* si) {
  int flags = WEXITED | WNOWAIT |
              (options & (WCONTINUED | __WALL | __WCLONE | __WNOTHREAD));
  if ((options & (WUNTRACED | WSTOPPED)) != 0) {
    flags |= WSTOPPED;
  }
  memset(si, 0, sizeof *si);
  return NEXT_FNC(waitid)(type, static_cast<id_t>(real), si, flags);
}

// waitpid() and wait4() of pid > 0 (a child) or pid < -1 (a group),
// blocking.  `collect` is the caller's call: collect(real pid, options).
template <class Collect>
pid_t wait_for_target(pid_t pid, int options, Collect collect) {
  for (;;) {
    uint32_t restarts = restarts_so_far();
    auto real = in_wait_target(pid);
    if (!real) {
      return fail<pid_t>(ECHILD);
    }
    idtype_t type = *real > 0 ? P_PID : P_PGID;
    siginfo_t si;
    int r = block_until_reportable(type, *real > 0 ? *real : -*real,
                                   options, &si);
    if (restarts_so_far() != restarts) {
      continue;  // step 2
    }
    if (r != 0) {
      return -1;  // errno is the kernel's (EINTR, ECHILD, EINVAL)
    }
    pid_t got = collect(si.si_pid, options | WNOHANG);
    if (got > 0 || (got < 0 && errno != ECHILD)) {
      return got;
    }
  }
}

pid_t virt_getppid() {
  pid_t real = raw_getppid();
  if (auto v = cached_parent_virt(real)) {
    return *v;
  }
  pid_t virt = pid_to_virt(real);
  cache_parent(real, virt);
  return virt;
}

int virt_kill(pid_t pid, int sig) {
  auto real = in_kill_target(pid);
  if (!real) {
    return fail<int>(ESRCH);
  }
  return static_cast<int>(syscall_result(raw_syscall(SYS_kill, *real, sig)));
}

int virt_tgkill(pid_t tgid, pid_t tid, int sig) {
  if (tgid <= 0 || tid <= 0) {
    return fail<int>(EINVAL);
  }
  auto real_tgid = pid_to_real(tgid);
  std::optional<pid_t> real_tid =
      tgid == self_virt() ? tid_to_real(tid) : pid_to_real(tid);
  if (!real_tgid || !real_tid) {
    return fail<int>(ESRCH);
  }
  return static_cast<int>(
      syscall_result(raw_syscall(SYS_tgkill, *real_tgid, *real_tid, sig)));
}

int virt_tkill(pid_t tid, int sig) {
  if (tid <= 0) {
    return fail<int>(EINVAL);
  }
  auto real = tid_to_real(tid);
  if (!real) {
    return fail<int>(ESRCH);
  }
  return static_cast<int>(syscall_result(raw_syscall(SYS_tkill, *real, sig)));
}

}  // namespace

// --- our own ids ----------------------------------------------------------

DMTCP_PID_EXPORT pid_t getpid(void) {
  if (pass()) {
    return raw_getpid();
  }
  return self_virt();
}

DMTCP_PID_EXPORT pid_t getppid(void) {
  if (pass()) {
    return raw_getppid();
  }
  return virt_getppid();
}

DMTCP_PID_EXPORT pid_t gettid(void) {
  if (pass()) {
    return raw_gettid();
  }
  return self_virt_tid();
}

// process_vm_readv/writev with a virtual pid (below).
namespace {
ssize_t virt_process_vm(bool write, pid_t pid, const struct iovec* local,
                        unsigned long nlocal, const struct iovec* remote,
                        unsigned long nremote, unsigned long flags) {
  auto real = in_tid_or_zero(pid);
  if (!real) {
    return fail<ssize_t>(ESRCH);
  }
  return write ? NEXT_FNC(process_vm_writev)(*real, local, nlocal, remote,
                                             nremote, flags)
               : NEXT_FNC(process_vm_readv)(*real, local, nlocal, remote,
                                            nremote, flags);
}
}  // namespace

DMTCP_PID_EXPORT long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  dmtcp::raw::syscall_args(ap, a);
  va_end(ap);
  if (!pass()) {
    switch (number) {
      case SYS_getpid:
        return self_virt();
      case SYS_getppid:
        return virt_getppid();
      case SYS_gettid:
        return self_virt_tid();
      case SYS_kill:
        return virt_kill(static_cast<pid_t>(a[0]), static_cast<int>(a[1]));
      case SYS_tgkill:
        return virt_tgkill(static_cast<pid_t>(a[0]), static_cast<pid_t>(a[1]),
                           static_cast<int>(a[2]));
      case SYS_tkill:
        return virt_tkill(static_cast<pid_t>(a[0]), static_cast<int>(a[1]));
      case SYS_process_vm_readv:
      case SYS_process_vm_writev:
        return virt_process_vm(
            number == SYS_process_vm_writev, static_cast<pid_t>(a[0]),
            reinterpret_cast<const struct iovec*>(a[1]),
            static_cast<unsigned long>(a[2]),
            reinterpret_cast<const struct iovec*>(a[3]),
            static_cast<unsigned long>(a[4]), static_cast<unsigned long>(a[5]));
      default:
        break;
    }
  }
  return NEXT_FNC(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// --- children ---------------------------------------------------------------

// The core's fork wrapper calls this one (libdmtcp.so is outside us), so
// the virtual pid reaches the program through it.  The child's side runs
// in on_fork_child (pid_events.cpp), before fork() returns there.
DMTCP_PID_EXPORT pid_t fork(void) {
  if (!active()) {
    return NEXT_FNC(fork)();
  }
  close_fork_gate();
  pid_t real = NEXT_FNC(fork)();
  if (real == 0) {
    return 0;
  }
  if (real < 0) {
    ErrnoKeeper keep;
    open_fork_gate();
    return real;
  }
  // The gate is closed: no other thread can be inside the table, and the
  // child got the same table we now read.
  pid_t virt = register_process(real);
  open_fork_gate();
  return virt;
}

DMTCP_PID_EXPORT pid_t waitpid(pid_t pid, int* status, int options) {
  if (pass()) {
    return NEXT_FNC(waitpid)(pid, status, options);
  }
  if (pid > 0 || pid < -1) {
    if ((options & WNOHANG) == 0) {
      pid_t r = wait_for_target(pid, options, [&](pid_t real, int opts) {
        return NEXT_FNC(waitpid)(real, status, opts);
      });
      return out_waited(r, reaps(options, status));
    }
  }
  auto real = in_wait_target(pid);
  if (!real) {
    return fail<pid_t>(ECHILD);
  }
  pid_t r = NEXT_FNC(waitpid)(*real, status, options);
  return out_waited(r, reaps(options, status));
}

DMTCP_PID_EXPORT pid_t wait(int* status) {
  if (pass()) {
    return NEXT_FNC(wait)(status);
  }
  return out_waited(NEXT_FNC(wait)(status), true);
}

DMTCP_PID_EXPORT pid_t wait4(pid_t pid, int* status, int options,
                             struct rusage* usage) {
  if (pass()) {
    return NEXT_FNC(wait4)(pid, status, options, usage);
  }
  if ((pid > 0 || pid < -1) && (options & WNOHANG) == 0) {
    pid_t r = wait_for_target(pid, options, [&](pid_t real, int opts) {
      return NEXT_FNC(wait4)(real, status, opts, usage);
    });
    return out_waited(r, reaps(options, status));
  }
  auto real = in_wait_target(pid);
  if (!real) {
    return fail<pid_t>(ECHILD);
  }
  pid_t r = NEXT_FNC(wait4)(*real, status, options, usage);
  return out_waited(r, reaps(options, status));
}

DMTCP_PID_EXPORT pid_t wait3(int* status, int options, struct rusage* usage) {
  if (pass()) {
    return NEXT_FNC(wait3)(status, options, usage);
  }
  pid_t r = NEXT_FNC(wait3)(status, options, usage);
  return out_waited(r, reaps(options, status));
}

DMTCP_PID_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t* info,
                            int options) {
  if (pass()) {
    return NEXT_FNC(waitid)(idtype, id, info, options);
  }
  bool by_id = (idtype == P_PID || idtype == P_PGID) && id != 0;
  int r;
  for (;;) {
    uint32_t restarts = restarts_so_far();
    id_t real_id = id;
    if (by_id) {
      pid_t v = static_cast<pid_t>(id);
      auto real = idtype == P_PGID ? pgid_to_real(v) : pid_to_real(v);
      if (!real) {
        return fail<int>(ECHILD);
      }
      real_id = static_cast<id_t>(*real);
    }
    if (!by_id || (options & WNOHANG) != 0 || info == nullptr) {
      r = NEXT_FNC(waitid)(idtype, real_id, info, options);
      break;
    }
    // Steps 1-3 of wait_for_target() (above), for waitid.
    r = NEXT_FNC(waitid)(idtype, real_id, info, options | WNOWAIT);
    if (restarts_so_far() != restarts) {
      continue;
    }
    if (r != 0 || (options & WNOWAIT) != 0) {
      break;
    }
    pid_t child = info->si_pid;
    r = NEXT_FNC(waitid)(P_PID, static_cast<id_t>(child), info,
                         options | WNOHANG);
    if ((r == 0 && info->si_pid > 0) || (r != 0 && errno != ECHILD)) {
      break;
    }
  }
  if (r == 0 && info != nullptr && info->si_pid > 0) {
    bool reaped = (options & WNOWAIT) == 0 &&
                  (info->si_code == CLD_EXITED || info->si_code == CLD_KILLED ||
                   info->si_code == CLD_DUMPED);
    info->si_pid = out_waited(info->si_pid, reaped);
  }
  return r;
}

// --- signals ----------------------------------------------------------------

DMTCP_PID_EXPORT int kill(pid_t pid, int sig) {
  if (pass()) {
    return NEXT_FNC(kill)(pid, sig);
  }
  return virt_kill(pid, sig);
}

// glibc's killpg() calls its internal kill, past our wrapper.
DMTCP_PID_EXPORT int killpg(pid_t pgrp, int sig) {
  if (pass()) {
    return NEXT_FNC(killpg)(pgrp, sig);
  }
  if (pgrp < 0) {
    return fail<int>(EINVAL);
  }
  return virt_kill(-pgrp, sig);
}

DMTCP_PID_EXPORT int tgkill(pid_t tgid, pid_t tid, int sig) {
  if (pass()) {
    return NEXT_FNC(tgkill)(tgid, tid, sig);
  }
  return virt_tgkill(tgid, tid, sig);
}

// glibc has no tkill(); a program may still declare and call one.
DMTCP_PID_EXPORT int tkill(pid_t tid, int sig) {
  if (pass()) {
    return static_cast<int>(syscall_result(raw_syscall(SYS_tkill, tid, sig)));
  }
  return virt_tkill(tid, sig);
}

DMTCP_PID_EXPORT int sigqueue(pid_t pid, int sig, const union sigval value) {
  if (pass()) {
    return NEXT_FNC(sigqueue)(pid, sig, value);
  }
  auto real = in_pid_or_zero(pid);
  if (!real) {
    return fail<int>(ESRCH);
  }
  return NEXT_FNC(sigqueue)(*real, sig, value);
}

// --- groups and sessions (a group's or session's id is its leader's pid) ----

DMTCP_PID_EXPORT pid_t getpgid(pid_t pid) {
  if (pass()) {
    return NEXT_FNC(getpgid)(pid);
  }
  auto real = in_pid_or_zero(pid);
  if (!real) {
    return fail<pid_t>(ESRCH);
  }
  return out_group(NEXT_FNC(getpgid)(*real));
}

DMTCP_PID_EXPORT pid_t getpgrp(void) {
  if (pass()) {
    return NEXT_FNC(getpgrp)();
  }
  return out_group(NEXT_FNC(getpgrp)());
}

DMTCP_PID_EXPORT pid_t getsid(pid_t pid) {
  if (pass()) {
    return NEXT_FNC(getsid)(pid);
  }
  auto real = in_pid_or_zero(pid);
  if (!real) {
    return fail<pid_t>(ESRCH);
  }
  return out_group(NEXT_FNC(getsid)(*real));
}

DMTCP_PID_EXPORT int setpgid(pid_t pid, pid_t pgid) {
  if (pass()) {
    return NEXT_FNC(setpgid)(pid, pgid);
  }
  auto real_pid = in_pid_or_zero(pid);
  if (!real_pid) {
    return fail<int>(ESRCH);
  }
  auto real_pgid = in_group_or_zero(pgid);
  if (!real_pgid) {
    return fail<int>(EPERM);
  }
  return NEXT_FNC(setpgid)(*real_pid, *real_pgid);
}

DMTCP_PID_EXPORT pid_t setsid(void) {
  if (pass()) {
    return NEXT_FNC(setsid)();
  }
  return out_group(NEXT_FNC(setsid)());
}

DMTCP_PID_EXPORT pid_t tcgetpgrp(int fd) {
  if (pass()) {
    return NEXT_FNC(tcgetpgrp)(fd);
  }
  return out_group(NEXT_FNC(tcgetpgrp)(fd));
}

// glibc's tcgetsid() asks the kernel with its own ioctl, past any wrapper.
DMTCP_PID_EXPORT pid_t tcgetsid(int fd) {
  if (pass()) {
    return NEXT_FNC(tcgetsid)(fd);
  }
  return out_group(NEXT_FNC(tcgetsid)(fd));
}

DMTCP_PID_EXPORT int tcsetpgrp(int fd, pid_t pgrp) {
  if (pass()) {
    return NEXT_FNC(tcsetpgrp)(fd, pgrp);
  }
  auto real = in_group_or_zero(pgrp);
  if (!real) {
    return fail<int>(EPERM);
  }
  return NEXT_FNC(tcsetpgrp)(fd, *real);
}

// --- cross-memory attach (process_vm_readv/writev): the "pid" is any
// thread of the other process, virtual here (MPI libraries read each
// other's memory this way with the pids they exchanged) --------------------

DMTCP_PID_EXPORT ssize_t process_vm_readv(pid_t pid, const struct iovec* local,
                                          unsigned long nlocal,
                                          const struct iovec* remote,
                                          unsigned long nremote,
                                          unsigned long flags) {
  if (pass()) {
    return NEXT_FNC(process_vm_readv)(pid, local, nlocal, remote, nremote,
                                      flags);
  }
  return virt_process_vm(false, pid, local, nlocal, remote, nremote, flags);
}

DMTCP_PID_EXPORT ssize_t process_vm_writev(pid_t pid, const struct iovec* local,
                                           unsigned long nlocal,
                                           const struct iovec* remote,
                                           unsigned long nremote,
                                           unsigned long flags) {
  if (pass()) {
    return NEXT_FNC(process_vm_writev)(pid, local, nlocal, remote, nremote,
                                       flags);
  }
  return virt_process_vm(true, pid, local, nlocal, remote, nremote, flags);
}

// --- scheduling (the "pid" is a thread id; 0 is the caller) -----------------

#define DMTCP_PID_SCHED_IN(virt)        \
  auto real_tid = in_tid_or_zero(virt); \
  if (!real_tid) {                      \
    return fail<int>(ESRCH);            \
  }

DMTCP_PID_EXPORT int sched_getaffinity(pid_t pid, size_t size,
                                       cpu_set_t* mask) {
  if (pass()) {
    return NEXT_FNC(sched_getaffinity)(pid, size, mask);
  }
  DMTCP_PID_SCHED_IN(pid);
  return NEXT_FNC(sched_getaffinity)(*real_tid, size, mask);
}

DMTCP_PID_EXPORT int sched_setaffinity(pid_t pid, size_t size,
                                       const cpu_set_t* mask) {
  if (pass()) {
    return NEXT_FNC(sched_setaffinity)(pid, size, mask);
  }
  DMTCP_PID_SCHED_IN(pid);
  return NEXT_FNC(sched_setaffinity)(*real_tid, size, mask);
}

DMTCP_PID_EXPORT int sched_getparam(pid_t pid, struct sched_param* param) {
  if (pass()) {
    return NEXT_FNC(sched_getparam)(pid, param);
  }
  DMTCP_PID_SCHED_IN(pid);
  return NEXT_FNC(sched_getparam)(*real_tid, param);
}

DMTCP_PID_EXPORT int sched_setparam(pid_t pid,
                                    const struct sched_param* param) {
  if (pass()) {
    return NEXT_FNC(sched_setparam)(pid, param);
  }
  DMTCP_PID_SCHED_IN(pid);
  return NEXT_FNC(sched_setparam)(*real_tid, param);
}

DMTCP_PID_EXPORT int sched_getscheduler(pid_t pid) {
  if (pass()) {
    return NEXT_FNC(sched_getscheduler)(pid);
  }
  DMTCP_PID_SCHED_IN(pid);
  return NEXT_FNC(sched_getscheduler)(*real_tid);
}

DMTCP_PID_EXPORT int sched_setscheduler(pid_t pid, int policy,
                                        const struct sched_param* param) {
  if (pass()) {
    return NEXT_FNC(sched_setscheduler)(pid, policy, param);
  }
  DMTCP_PID_SCHED_IN(pid);
  return NEXT_FNC(sched_setscheduler)(*real_tid, policy, param);
}

// --- the plugin API's translation (dmtcp/plugin.h) --------------------------
// The core's definitions come first in the search order and pass the call
// on to these.  An id nobody virtualized keeps its value; a process known
// to be gone gives -1 (never a stranger's real pid).

DMTCP_PID_EXPORT pid_t dmtcp_virtual_to_real_pid(pid_t virtual_pid) {
  if (pass()) {
    return virtual_pid;
  }
  auto real = pid_to_real(virtual_pid);
  return real ? *real : -1;
}

DMTCP_PID_EXPORT pid_t dmtcp_real_to_virtual_pid(pid_t real_pid) {
  if (pass()) {
    return real_pid;
  }
  // Our own threads too: a /proc/<pid>/task/<tid> path the file plugin
  // records names a thread by its kernel tid.
  return tid_to_virt(real_pid);
}
