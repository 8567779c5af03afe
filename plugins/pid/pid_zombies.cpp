// pid_zombies.cpp -- see pid_zombies.h.
//
// Algorithm:
//  1. WRITE_CKPT (C, every user thread of the computation frozen, so a
//     child of ours can no longer exit on its own: it is frozen, or it has
//     left the round): list our children (/proc/self/task/*/children; the
//     table's entries where the kernel lacks that file) and ask each with
//     waitid(WEXITED | WNOHANG | WNOWAIT) whether it has ended: a zombie is
//     noted with its virtual pid, exit code or signal, and whether it led
//     its own group or session.  A child already in exit but not yet a
//     zombie (PF_EXITING) is waited for, up to kExitingWaitNs.
//  2. RESUME: the note is dropped; the kernel kept the zombies.
//  3. RESTART (C, user threads still parked in the checkpoint handler with
//     every signal blocked; the program's handlers are back): per note,
//     fork (raw clone: no atfork handler, no lock) a stand-in that
//     leads a group or session again if the zombie did and then ends as
//     the zombie did; wait (WNOWAIT) until it has; map the virtual pid to
//     it.  Its SIGCHLD stays pending until a user thread takes it.
//  4. SEND_QUERIES: pids with a stand-in are not looked up; stand-ins of
//     zombies that were not in the table go into the extra map.  REFILL
//     drops the note.
#include "pid_zombies.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dmtcp/plugin.h"
#include "pid_state.h"

namespace dmtcp::pid::zombies {
namespace {

// How long step 1 waits, in all, for children caught in the middle of
// their exit.
constexpr long kExitingWaitNs = 2L * 1000 * 1000 * 1000;
// Children beyond those in the table that step 1 can note.
constexpr size_t kExtraChildren = 1024;
constexpr unsigned kPfExiting = 0x4;  // PF_EXITING in /proc/<pid>/stat

// Saved: one per unreaped exited child.  stand_in is rebuilt at restart.
struct Zombie {
  pid_t virt;      // the id the program knows it by
  pid_t real;      // the kernel's at the checkpoint
  int exit_code;   // CLD_EXITED: its status; else 0
  int signal;      // CLD_KILLED / CLD_DUMPED: the signal; else 0
  bool in_table;   // virt is a table entry (else: extra map or passthrough)
  bool own_group;  // it led its process group
  bool own_session;
  pid_t stand_in;  // rebuilt: its replacement's real pid, 0 = none
};

Zombie* g_zombies = nullptr;
size_t g_count = 0;

// The kernel's struct sigaction (rt_sigaction).
struct KernelSigaction {
  unsigned long handler;
  unsigned long flags;
  unsigned long restorer;
  unsigned long mask;
};

long sys_open(const char* path, int flags) {
  return raw_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path),
                     flags | O_CLOEXEC);
}

// Reads a small file into buf (NUL-terminated); its length or -errno.
long read_small_file(const char* path, char* buf, size_t len) {
  long fd = sys_open(path, O_RDONLY);
  if (fd < 0) {
    return fd;
  }
  size_t used = 0;
  while (used + 1 < len) {
    long n = raw_syscall(SYS_read, fd, reinterpret_cast<long>(buf + used),
                         static_cast<long>(len - 1 - used));
    if (n <= 0) {
      break;
    }
    used += static_cast<size_t>(n);
  }
  raw_syscall(SYS_close, fd);
  buf[used] = '\0';
  return static_cast<long>(used);
}

// True when the kernel has begun the exit of `real` (PF_EXITING).
bool is_exiting(pid_t real) {
  char path[48];
  char buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", real);
  if (read_small_file(path, buf, sizeof buf) <= 0) {
    return false;
  }
  const char* p = strrchr(buf, ')');
  if (p == nullptr) {
    return false;
  }
  // After the name: state ppid pgrp session tty_nr tpgid flags.
  for (int field = 0; field < 7; ++field) {
    while (*p == ' ' || *p == ')') {
      ++p;
    }
    if (field == 6) {
      unsigned long flags = strtoul(p, nullptr, 10);
      return (flags & kPfExiting) != 0;
    }
    while (*p != '\0' && *p != ' ') {
      ++p;
    }
  }
  return false;
}

void sleep_ms(long ms) {
  struct timespec ts = {0, ms * 1000 * 1000};
  raw_syscall(SYS_nanosleep, reinterpret_cast<long>(&ts), 0);
}

// Candidates: real pids of our children.  Appends to out (cap entries);
// false when the kernel has no children files.
bool list_children(pid_t* out, size_t cap, size_t* n) {
  long dir = sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY);
  if (dir < 0) {
    return false;
  }
  bool have_files = true;
  char dents[4096];
  for (;;) {
    long got = raw_syscall(SYS_getdents64, dir, reinterpret_cast<long>(dents),
                           sizeof dents);
    if (got <= 0) {
      break;
    }
    for (long off = 0; off < got;) {
      // struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name.
      unsigned short reclen;
      memcpy(&reclen, dents + off + 16, sizeof reclen);
      const char* name = dents + off + 19;
      off += reclen;
      if (name[0] < '0' || name[0] > '9') {
        continue;
      }
      char path[64];
      char buf[8192];
      snprintf(path, sizeof path, "/proc/self/task/%s/children", name);
      long len = read_small_file(path, buf, sizeof buf);
      if (len == -ENOENT) {
        have_files = false;  // no CONFIG_PROC_CHILDREN
        continue;
      }
      for (char* p = buf; *p != '\0';) {
        char* end = nullptr;
        long pid = strtol(p, &end, 10);
        if (end == p) {
          break;
        }
        if (pid > 0 && *n < cap) {
          out[(*n)++] = static_cast<pid_t>(pid);
        }
        p = end;
      }
    }
  }
  raw_syscall(SYS_close, dir);
  return have_files;
}

// How `real` ended, if it is an unreaped child of ours that has.
bool ended(pid_t real, siginfo_t* si) {
  memset(si, 0, sizeof *si);
  long r = raw_syscall(SYS_waitid, P_PID, real, reinterpret_cast<long>(si),
                       WEXITED | WNOHANG | WNOWAIT, 0);
  return r == 0 && si->si_pid == real;
}

void note(pid_t real, const siginfo_t& si, size_t cap) {
  if (g_count >= cap) {
    dmtcp_log("pid: more than %zu zombies; child %d not noted", cap, real);
    return;
  }
  Zombie& z = g_zombies[g_count++];
  z = Zombie{};
  z.real = real;
  if (si.si_code == CLD_EXITED) {
    z.exit_code = si.si_status;
  } else {
    z.signal = si.si_status;
  }
  if (auto v = table().to_virtual(RealPid(real))) {
    z.virt = v->value;
    z.in_table = true;
  } else {
    z.virt = restart_map::extra_to_virt(real).value_or(real);
  }
  z.own_group = raw_syscall(SYS_getpgid, real) == real;
  z.own_session = raw_syscall(SYS_getsid, real) == real;
}

// In the stand-in (a raw fork of the checkpoint thread): raw calls only.
[[noreturn]] void end_like(const Zombie& z) {
  if (z.own_session) {
    raw_syscall(SYS_setsid);
  } else if (z.own_group) {
    raw_syscall(SYS_setpgid, 0, 0);
  }
  if (z.signal > 0 && z.signal < 65) {
    KernelSigaction dfl{};  // SIG_DFL
    raw_syscall(SYS_rt_sigaction, z.signal, reinterpret_cast<long>(&dfl), 0, 8);
    unsigned long set = 1ul << (z.signal - 1);
    raw_syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&set),
                0, 8);
    // Not dumpable: no core file for a stand-in (WCOREDUMP is lost).
    raw_syscall(SYS_prctl, PR_SET_DUMPABLE, 0);
    raw_syscall(SYS_kill, raw_syscall(SYS_getpid), z.signal);
    raw_syscall(SYS_exit_group, 128 + z.signal);  // not reached
  }
  raw_syscall(SYS_exit_group, z.exit_code);
  __builtin_unreachable();
}

bool sigchld_reaps_at_once() {
  KernelSigaction act{};
  if (raw_syscall(SYS_rt_sigaction, SIGCHLD, 0, reinterpret_cast<long>(&act),
                  8) != 0) {
    return false;
  }
  return act.handler == reinterpret_cast<unsigned long>(SIG_IGN) ||
         (act.flags & SA_NOCLDWAIT) != 0;
}

}  // namespace

void forget() {
  if (g_zombies != nullptr) {
    dmtcp_free(g_zombies);
  }
  g_zombies = nullptr;
  g_count = 0;
}

void record() {
  forget();
  size_t cap = table().size() + kExtraChildren;
  auto* candidates = static_cast<pid_t*>(dmtcp_alloc(cap * sizeof(pid_t)));
  g_zombies = static_cast<Zombie*>(dmtcp_alloc(cap * sizeof(Zombie)));
  if (candidates == nullptr || g_zombies == nullptr) {
    dmtcp_log("pid: no memory to note zombie children");
    if (candidates != nullptr) {
      dmtcp_free(candidates);
    }
    forget();
    return;
  }
  size_t n = 0;
  if (!list_children(candidates, cap, &n)) {
    // Without the children files: the processes we know of (a waitid on
    // one that is not our child fails with ECHILD).
    n = 0;
    pid_t self = self_real();
    table().for_each([&](VirtPid, RealPid r) {
      if (r.value > 0 && r.value != self && n < cap) {
        candidates[n++] = r.value;
      }
    });
  }
  long waited_ns = 0;
  for (size_t i = 0; i < n; ++i) {
    pid_t real = candidates[i];
    siginfo_t si;
    bool done = ended(real, &si);
    // Exit begun, not finished: it left the round and has no image.
    while (!done && waited_ns < kExitingWaitNs && is_exiting(real)) {
      sleep_ms(1);
      waited_ns += 1000 * 1000;
      done = ended(real, &si);
    }
    if (done) {
      note(real, si, cap);
    }
  }
  dmtcp_free(candidates);
}

void restore() {
  if (g_count == 0) {
    return;
  }
  if (sigchld_reaps_at_once()) {
    g_count = 0;
    return;
  }
  for (size_t i = 0; i < g_count; ++i) {
    Zombie& z = g_zombies[i];
    z.stand_in = 0;
    long pid = raw_syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
      end_like(z);
    }
    if (pid < 0) {
      dmtcp_log("pid: cannot fork a stand-in for zombie %d: %s", z.virt,
                strerror(static_cast<int>(-pid)));
      continue;
    }
    z.stand_in = static_cast<pid_t>(pid);
    // Until it has ended, a waitpid(WNOHANG) would find it running.
    siginfo_t si;
    memset(&si, 0, sizeof si);
    long r;
    do {
      r = raw_syscall(SYS_waitid, P_PID, pid, reinterpret_cast<long>(&si),
                      WEXITED | WNOWAIT, 0);
    } while (r == -EINTR);
    if (z.in_table &&
        !table().update_real(VirtPid(z.virt), RealPid(z.stand_in))) {
      dmtcp_log("pid: zombie %d: stand-in %d clashes with another entry",
                z.virt, z.stand_in);
    }
  }
}

bool has_stand_in(pid_t virt) {
  for (size_t i = 0; i < g_count; ++i) {
    if (g_zombies[i].virt == virt && g_zombies[i].stand_in > 0) {
      return true;
    }
  }
  return false;
}

size_t stand_ins_outside_table(restart_map::Pair* out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < g_count && k < cap; ++i) {
    const Zombie& z = g_zombies[i];
    if (!z.in_table && z.stand_in > 0) {
      out[k++] = {z.virt, z.stand_in};
    }
  }
  return k;
}

size_t count() {
  return g_count;
}

}  // namespace dmtcp::pid::zombies
