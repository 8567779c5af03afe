#include "runtime/pending_signals.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "dmtcp/raw_syscall.h"

namespace dmtcp::pending_signals {
namespace {

constexpr uint32_t kMaxSaved = 1024;
constexpr int kMaxSignal = 64;

struct Saved {
  const void* owner;  // the thread's record; nullptr: process-wide
  siginfo_t info;
};

Saved g_saved[kMaxSaved];
std::atomic<uint32_t> g_count{0};  // slots taken (may pass kMaxSaved)
std::atomic<uint32_t> g_lost{0};

long raw4(long n, long a, long b, long c, long d) {
  long ret;
  register long r10 asm("r10") = d;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
               : "rcx", "r11", "memory");
  return ret;
}

// The hex mask after `key` in a /proc status file; 0 when unreadable.
uint64_t read_mask(const char* path, const char* key) {
  char buf[4096];
  long fd = raw::syscall3(SYS_open, reinterpret_cast<long>(path),
                          O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  long n = raw::syscall3(SYS_read, fd, reinterpret_cast<long>(buf),
                         sizeof buf - 1);
  raw::syscall3(SYS_close, fd);
  if (n <= 0) {
    return 0;
  }
  buf[n] = '\0';
  const char* p = strstr(buf, key);
  return p != nullptr ? strtoull(p + strlen(key), nullptr, 16) : 0;
}

// The slots one caller filled, to queue back exactly those (other
// threads fill theirs meanwhile).
struct Taken {
  uint16_t slot[kMaxSaved];
  uint32_t n = 0;
};

// Takes one pending `sig` out (with its siginfo) into a new slot; false
// when none is pending or the table is full.
bool take_one(const void* owner, int sig, Taken* taken) {
  uint32_t slot = g_count.fetch_add(1);
  if (slot >= kMaxSaved) {
    g_lost.fetch_add(1);
    return false;
  }
  uint64_t set = 1ull << (sig - 1);
  timespec zero{0, 0};
  Saved& s = g_saved[slot];
  s.owner = owner;
  long r = raw4(SYS_rt_sigtimedwait, reinterpret_cast<long>(&set),
                reinterpret_cast<long>(&s.info), reinterpret_cast<long>(&zero),
                8);
  if (r != sig) {
    s.owner = &g_saved;  // an empty slot: matches no owner
    return false;
  }
  taken->slot[taken->n++] = static_cast<uint16_t>(slot);
  return true;
}

bool skipped(int sig, int ckpt_signal) {
  return sig == ckpt_signal || sig == SIGKILL || sig == SIGSTOP;
}

// Every pending signal of `which` ("SigPnd:" of this thread, "ShdPnd:" of
// the process) taken out; a standard signal is pending at most once, a
// real-time one as often as it was sent (read the mask again after each).
void take_all(const void* owner, const char* path, const char* key,
              int ckpt_signal, Taken* taken) {
  uint64_t pending = read_mask(path, key);
  for (int sig = 1; sig <= kMaxSignal; ++sig) {
    if (((pending >> (sig - 1)) & 1) == 0 || skipped(sig, ckpt_signal)) {
      continue;
    }
    if (sig < SIGRTMIN) {
      take_one(owner, sig, taken);
      continue;
    }
    while (take_one(owner, sig, taken) &&
           ((read_mask(path, key) >> (sig - 1)) & 1) != 0) {
    }
  }
}

void queue_again(const Saved& s) {
  pid_t pid = raw::getpid();
  siginfo_t info = s.info;
  long r;
  if (s.owner == nullptr) {
    r = raw::syscall3(SYS_rt_sigqueueinfo, pid, info.si_signo,
                      reinterpret_cast<long>(&info));
  } else {
    r = raw4(SYS_rt_tgsigqueueinfo, pid, raw::gettid(), info.si_signo,
             reinterpret_cast<long>(&info));
  }
  if (r == -EPERM) {
    // Only a thread whose tid is the pid may queue a siginfo that claims
    // to come from kill() or tgkill() (si_code >= 0, SI_TKILL).  Send the
    // signal again instead: the same signal, now from us (exact when we
    // had sent it ourselves, as raise() and pthread_kill() do).
    r = s.owner == nullptr ? raw::kill(pid, info.si_signo)
                           : raw::tgkill(pid, raw::gettid(), info.si_signo);
  }
  if (r != 0) {
    DMTCP_WARN("pending signal %d not queued again: %s", info.si_signo,
               strerror(static_cast<int>(-r)));
  }
}

void queue_all_of(const void* owner) {
  uint32_t n = g_count.load();
  n = n < kMaxSaved ? n : kMaxSaved;
  for (uint32_t i = 0; i < n; ++i) {
    if (g_saved[i].owner == owner) {
      queue_again(g_saved[i]);
    }
  }
}

}  // namespace

void begin_round() {
  g_count.store(0);
  g_lost.store(0);
}

void save_thread(const void* owner, int ckpt_signal) {
  Taken taken;
  take_all(owner, "/proc/thread-self/status", "SigPnd:", ckpt_signal, &taken);
  for (uint32_t i = 0; i < taken.n; ++i) {
    queue_again(g_saved[taken.slot[i]]);
  }
}

void save_process(int ckpt_signal) {
  static Taken taken;  // the checkpoint thread's stack is small
  taken.n = 0;
  take_all(nullptr, "/proc/self/status", "ShdPnd:", ckpt_signal, &taken);
  for (uint32_t i = 0; i < taken.n; ++i) {
    queue_again(g_saved[taken.slot[i]]);
  }
  if (g_lost.load() != 0) {
    DMTCP_WARN("%u pending signals beyond the first %u are not in the "
               "image: a restart loses them",
               g_lost.load(), kMaxSaved);
  }
}

void requeue_process() { queue_all_of(nullptr); }

void requeue_thread(const void* owner) { queue_all_of(owner); }

}  // namespace dmtcp::pending_signals
