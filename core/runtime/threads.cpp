// Algorithm:
//  1. pthread_create (wrapped) takes a Thread record, starts the thread in
//     trampoline() and waits until it has registered its tid, all under the
//     shared checkpoint lock, so a checkpoint never sees a half-born thread.
//  2. A thread that returns or exits marks itself kExiting (RAII guard, so
//     pthread_exit and cancellation count too); the checkpoint waits for the
//     kernel to clear its tid before freezing anyone, so no thread is caught
//     in glibc's exit path holding a lock.
//  3. suspend_all(): tgkill every kRunning thread with the checkpoint signal.
//     Each saves its resumable context in the handler and sleeps on a futex.
//     Its full register set and signal mask are in the signal frame on its
//     own stack, which is part of the image.
//  4. resume_all(): bump the resume epoch; threads return from the handler.
//  5. recreate_after_restart(): clone() a kernel thread per frozen thread
//     with its old TLS; it jumps into its saved context, re-registers rseq,
//     robust list and sigaltstack, reports, and waits for the epoch like
//     after a checkpoint.  A kernel thread whose new tid is one of the
//     image's old tids exits at once and is cloned again: stale tids left in
//     memory then never name another thread.  Once all have reported, the
//     mutexes they own get their new tids (mutex_owners.h).
#include "runtime/threads.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "runtime/ckpt_lock.h"
#include "runtime/context.h"
#include "runtime/events.h"
#include "runtime/futex.h"
#include "runtime/glibc_tcb.h"
#include "runtime/mutex_owners.h"
#include "runtime/pending_signals.h"
#include "dmtcp/raw_syscall.h"
#include "runtime/real_fns.h"

namespace dmtcp::threads {
namespace {

constexpr uint32_t kMaxThreads = 8192;

// Protects: g_pool allocation (free list) and every Thread::state change
// from or to kFree.  Held by the checkpoint thread for the whole round.
SpinFutexLock g_list_lock;
Thread g_pool[kMaxThreads];
uint32_t g_free_head = 0;   // index + 1; 0 = use g_high_water
uint32_t g_high_water = 0;  // records ever handed out

std::atomic<uint32_t> g_suspended_count{0};
std::atomic<uint32_t> g_restored_count{0};
std::atomic<uint32_t> g_resume_epoch{0};
int g_signal = SIGUSR2;

thread_local Thread* tls_self = nullptr;
thread_local bool tls_internal = false;
// fork_starting() .. fork_done() in this thread (inherited by the child).
thread_local bool tls_forking = false;
// Forks ended (fork_done), on either side.
std::atomic<uint32_t> g_forks_done{0};
// Set when the checkpoint handler returns with a signal of the program's
// pending that the handler's full mask held back: it is delivered right
// after, and the program's handler runs (sleep wrappers, take_...()).
thread_local bool tls_program_signal_follows = false;
thread_local int64_t tls_signal_ns = 0;  // last_checkpoint_signal_ns()

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Whether a signal other than ours is pending for this thread (or the
// process) and unblocked by `mask`, the mask the handler's return restores.
bool program_signal_pending(const sigset_t* mask) {
  sigset_t pending;
  if (sigpending(&pending) != 0) {
    return false;
  }
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != g_signal && sigismember(&pending, sig) == 1 &&
        sigismember(mask, sig) != 1) {
      return true;
    }
  }
  return false;
}

Thread* alloc_record() {
  Thread* t = nullptr;
  if (g_free_head != 0) {
    t = &g_pool[g_free_head - 1];
    g_free_head = t->next_free;
  } else if (g_high_water < kMaxThreads) {
    t = &g_pool[g_high_water++];
  }
  return t;
}

void free_record(Thread* t) {
  t->state.store(static_cast<uint32_t>(State::kFree));
  t->registered.store(0);
  t->suspended.store(0);
  t->tid = 0;
  t->self = 0;
  t->next_free = g_free_head;
  g_free_head = static_cast<uint32_t>(t - g_pool) + 1;
}

template <class F>
void for_each_live(F&& f) {
  for (uint32_t i = 0; i < g_high_water; ++i) {
    if (g_pool[i].state.load() != static_cast<uint32_t>(State::kFree)) {
      f(&g_pool[i]);
    }
  }
}

struct ExitMark {
  Thread* t;
  ~ExitMark() {
    ckpt_lock::SharedGuard guard;
    t->state.store(static_cast<uint32_t>(State::kExiting));
  }
};

void* trampoline(void* arg) {
  auto* t = static_cast<Thread*>(arg);
  tls_self = t;
  t->tid = tcb::gettid_raw();
  t->self = pthread_self();
  t->state.store(static_cast<uint32_t>(State::kRunning));
  t->registered.store(1);
  futex_wake(&t->registered);
  // Started by a pthread_atfork handler: nothing of ours (the hooks below
  // take the checkpoint lock) until the fork wrapper has set the lock
  // right on this side (upstream's pthread_atfork2: the child's count of
  // lock holders went wrong and its first checkpoint waited forever).
  for (uint32_t done = g_forks_done.load(); t->after_fork != 0 &&
                                            done < t->after_fork;
       done = g_forks_done.load()) {
    futex_wait(&g_forks_done, done);
  }
  events::fire(DMTCP_EVENT_THREAD_START);
  events::fire(DMTCP_EVENT_PTHREAD_START);
  ExitMark mark{t};
  void* result = t->start(t->arg);
  events::fire(DMTCP_EVENT_PTHREAD_RETURN);
  return result;
}

// Reads /proc/self/task/<tid>/<file> into buf (NUL-terminated); false if
// the thread is gone.  No allocation: the checkpoint thread calls it while
// user threads may hold the malloc lock.
bool read_task_file(pid_t tid, const char* file, char* buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/%s", tid, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n <= 0) {
    return false;
  }
  buf[n] = '\0';
  return true;
}

bool thread_is_gone(pid_t tid) {
  char buf[512];
  if (!read_task_file(tid, "stat", buf, sizeof buf)) {
    return true;
  }
  const char* paren = strrchr(buf, ')');
  return paren != nullptr && paren[1] == ' ' &&
         (paren[2] == 'Z' || paren[2] == 'X');
}

// Whether the kernel has `sig` blocked in thread `tid` (SigBlk in its
// status).  Our sigprocmask wrappers never block the checkpoint signal; a
// raw rt_sigprocmask system call can.
bool blocks_signal(pid_t tid, int sig) {
  char buf[4096];
  if (!read_task_file(tid, "status", buf, sizeof buf)) {
    return false;
  }
  const char* line = strstr(buf, "SigBlk:");
  if (line == nullptr) {
    return false;
  }
  unsigned long long mask = strtoull(line + 7, nullptr, 16);
  return ((mask >> (sig - 1)) & 1) != 0;
}

// The tid field in an exiting thread's TCB, or 0 once its memory is gone:
// the TCB lies in the thread's stack, which its joiner may unmap as soon
// as the kernel has cleared the field (glibc unmaps stacks beyond its
// cache).  Read with process_vm_readv, which fails (EFAULT) instead of
// faulting on an unmapped page.
pid_t tid_field(pthread_t thread) {
  pid_t v = 0;
  struct iovec local = {&v, sizeof v};
  struct iovec remote = {tcb::tid_address(thread), sizeof v};
  if (syscall(SYS_process_vm_readv, raw::getpid(), &local, 1UL, &remote, 1UL,
              0UL) != static_cast<long>(sizeof v)) {
    return 0;
  }
  return v;
}

// Waits until every exiting thread is gone from the kernel: glibc's
// CLONE_CHILD_CLEARTID makes the kernel zero its tid field at exit.
void reap_exited() {
  for_each_live([](Thread* t) {
    if (t->state.load() != static_cast<uint32_t>(State::kExiting)) {
      return;
    }
    int waited_ms = 0;
    while (tid_field(t->self) == t->tid && !thread_is_gone(t->tid)) {
      timespec ts{0, 1000 * 1000};
      nanosleep(&ts, nullptr);
      if (++waited_ms % 5000 == 0) {
        DMTCP_WARN("checkpoint waits for exiting thread %d", t->tid);
      }
    }
    free_record(t);
  });
}

void suspend_handler(int, siginfo_t*, void* uctx) {
  int saved_errno = errno;
  Thread* self = tls_self;
  if (self == nullptr || tls_internal ||
      self->suspend_requested.exchange(0) == 0) {
    // Not ours to act on: the checkpoint thread, or a checkpoint signal the
    // program sent itself (raise(SIGUSR2), kill -USR2): its handler for it
    // was refused with a warning, so it is dropped as if ignored.  Acting on
    // it froze the thread for a round that never came, every signal blocked.
    errno = saved_errno;
    return;
  }
  tls_signal_ns = monotonic_ns();
  uint32_t epoch = g_resume_epoch.load();
  events::fire(DMTCP_EVENT_PRE_SUSPEND_USER_THREAD);
  sigaltstack(nullptr, &self->altstack);
  syscall(SYS_get_robust_list, 0, &self->robust_head, &self->robust_len);
  self->ctx.fs_base = tcb::thread_pointer();
  const pid_t old_tid = self->tid;
  // Our own pending signals into the image (queued back at once).
  pending_signals::save_thread(self, g_signal);
  int restarted = dmtcp_context_save(&self->ctx);
  if (restarted != 0) {
    // A fresh kernel thread with our old TLS: give the kernel back what it
    // knew about us.
    tcb::register_rseq();
    if (self->robust_head != 0) {
      syscall(SYS_set_robust_list, self->robust_head, self->robust_len);
    }
    if ((self->altstack.ss_flags & SS_DISABLE) == 0) {
      stack_t ss = self->altstack;
      ss.ss_flags &= ~SS_ONSTACK;
      sigaltstack(&ss, nullptr);
    }
    pending_signals::requeue_thread(self);
    mutex_owners::add_thread(old_tid, tcb::gettid_raw(), self->robust_head);
    g_restored_count.fetch_add(1);
    futex_wake(&g_restored_count);
  } else {
    self->suspended.store(1);
    g_suspended_count.fetch_add(1);
    futex_wake(&g_suspended_count);
  }
  while (g_resume_epoch.load() == epoch) {
    futex_wait(&g_resume_epoch, epoch);
  }
  DmtcpEventData_t data{};
  data.resumeUserThreadInfo.isRestart = restarted;
  events::fire(DMTCP_EVENT_RESUME_USER_THREAD, &data);
  tls_program_signal_follows = program_signal_pending(
      &static_cast<const ucontext_t*>(uctx)->uc_sigmask);
  errno = saved_errno;
}

// The tids the image's threads had (and the checkpoint thread's), kept
// from restore_own_kernel_state() to the end of recreate_after_restart().
pid_t g_old_tids[kMaxThreads + 1];
uint32_t g_num_old_tids = 0;
// Each restored thread's tid at the checkpoint and its kernel tid now
// (restored_tid()): kept until the next restart.
struct TidPair {
  pid_t old_tid;
  pid_t new_tid;
};
TidPair g_restored_tids[kMaxThreads + 1];
std::atomic<uint32_t> g_num_restored_tids{0};

void note_restored_tid(pid_t old_tid, pid_t new_tid) {
  uint32_t n = g_num_restored_tids.load(std::memory_order_relaxed);
  if (n < kMaxThreads + 1) {
    g_restored_tids[n] = TidPair{old_tid, new_tid};
    g_num_restored_tids.store(n + 1, std::memory_order_release);
  }
}

void note_old_tid(pid_t tid) {
  if (g_num_old_tids < kMaxThreads + 1) {
    g_old_tids[g_num_old_tids++] = tid;
  }
}

bool is_old_tid(pid_t tid) {
  for (uint32_t i = 0; i < g_num_old_tids; ++i) {
    if (g_old_tids[i] == tid) {
      return true;
    }
  }
  return false;
}

int restart_entry(void* arg) {
  auto* t = static_cast<Thread*>(arg);
  if (is_old_tid(raw::gettid())) {
    // recreate_after_restart() clones again; the kernel clears our tid
    // word (CLONE_CHILD_CLEARTID) to tell it we are gone.
    raw::syscall3(SYS_exit, 0);
  }
  dmtcp_context_restore(&t->ctx, 1);
}

template <class Counter>
void wait_for_count(Counter* counter, uint32_t want) {
  for (;;) {
    uint32_t have = counter->load();
    if (have >= want) {
      return;
    }
    timespec ts{0, 100 * 1000 * 1000};
    futex_wait(counter, have, &ts);
  }
}

}  // namespace

void init(int ckpt_signal) {
  g_signal = ckpt_signal;
  struct sigaction sa {};
  sa.sa_sigaction = suspend_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  DMTCP_ASSERT(real::fns().sigaction(ckpt_signal, &sa, nullptr) == 0,
               "installing the checkpoint signal %d handler", ckpt_signal);
  tcb::probe_tid_offset();
  mutex_owners::find_loader_locks();
  g_list_lock.lock();
  Thread* t = alloc_record();
  g_list_lock.unlock();
  DMTCP_ASSERT(t != nullptr, "thread table full at start");
  t->tid = tcb::gettid_raw();
  t->self = pthread_self();
  t->state.store(static_cast<uint32_t>(State::kRunning));
  t->registered.store(1);
  tls_self = t;
}

void mark_internal_thread() {
  tls_internal = true;
  tls_self = nullptr;
}

bool is_internal_thread() { return tls_internal; }

void forget_program_signal() { tls_program_signal_follows = false; }

int64_t last_checkpoint_signal_ns() { return tls_signal_ns; }

bool program_signal_followed() {
  bool followed = tls_program_signal_follows;
  tls_program_signal_follows = false;
  return followed;
}

int create(pthread_t* out, const pthread_attr_t* attr, void* (*start)(void*),
           void* arg) {
  ckpt_lock::SharedGuard guard;
  g_list_lock.lock();
  Thread* t = alloc_record();
  if (t != nullptr) {
    t->state.store(static_cast<uint32_t>(State::kStarting));
  }
  g_list_lock.unlock();
  if (t == nullptr) {
    DMTCP_WARN("more than %u threads: this one is not checkpointed",
               kMaxThreads);
    return real::fns().pthread_create(out, attr, start, arg);
  }
  t->start = start;
  t->arg = arg;
  t->after_fork = tls_forking ? g_forks_done.load() + 1 : 0;
  int r = real::fns().pthread_create(out, attr, trampoline, t);
  if (r != 0) {
    g_list_lock.lock();
    free_record(t);
    g_list_lock.unlock();
    return r;
  }
  while (t->registered.load() == 0) {
    futex_wait(&t->registered, 0);
  }
  events::fire(DMTCP_EVENT_THREAD_CREATED);
  return 0;
}

int list_tids(pid_t* out, int max) {
  int n = 0;
  for_each_live([&](Thread* t) {
    if (n < max) {
      out[n++] = t->tid;
    }
  });
  return n;
}

int suspend_all() {
  ckpt_lock::lock_exclusive();
  g_list_lock.lock();
  reap_exited();
  g_suspended_count.store(0);
  pid_t pid = tcb::getpid_raw();
  uint32_t sent = 0;
  for_each_live([&](Thread* t) {
    t->suspended.store(0);
    t->suspend_requested.store(1);
    if (raw::tgkill(pid, t->tid, g_signal) == 0) {
      ++sent;
    } else {
      free_record(t);  // gone without telling us (e.g. raw exit)
    }
  });
  // Threads that died after the signal never answer: stop waiting for them.
  // One that blocked the signal behind our back is named after a few
  // seconds, so a checkpoint that waits for it does not wait in silence.
  constexpr int kPollsBeforeWarning = 15;  // 3 s
  for (int polls = 1;; ++polls) {
    uint32_t have = g_suspended_count.load();
    if (have >= sent) {
      break;
    }
    timespec ts{0, 200 * 1000 * 1000};
    futex_wait(&g_suspended_count, have, &ts);
    if (g_suspended_count.load() >= sent) {
      break;
    }
    for_each_live([&](Thread* t) {
      if (t->suspended.load() != 0) {
        return;
      }
      if (thread_is_gone(t->tid)) {
        free_record(t);
        --sent;
      } else if (polls == kPollsBeforeWarning &&
                 blocks_signal(t->tid, g_signal)) {
        DMTCP_WARN(
            "thread %d of process %d blocks signal %d, DMTCP's checkpoint "
            "signal (a raw rt_sigprocmask call?); the checkpoint waits "
            "until it unblocks it",
            t->tid, pid, g_signal);
      }
    });
  }
  return static_cast<int>(sent);
}

void resume_all(bool) {
  g_resume_epoch.fetch_add(1);
  futex_wake(&g_resume_epoch);
  g_list_lock.unlock();
  ckpt_lock::unlock_exclusive();
}

void recreate_after_restart() {
  g_restored_count.store(0);
  uint32_t started = 0;
  constexpr int kFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                         CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
                         CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  for_each_live([&](Thread* t) {
    if (t->suspended.load() != 0) {
      note_old_tid(t->tid);
    }
  });
  for_each_live([&](Thread* t) {
    if (t->suspended.load() == 0) {
      free_record(t);
      return;
    }
    // Run on the thread's own stack, below the frame it will jump into.
    uint64_t sp = (t->ctx.rsp - 4096) & ~uint64_t{15};
    pid_t* tidp = tcb::tid_address(t->self);
    int r = 0;
    for (uint32_t tries = 0;; ++tries) {
      r = clone(restart_entry, reinterpret_cast<void*>(sp), kFlags, t, tidp,
                reinterpret_cast<void*>(t->ctx.fs_base), tidp);
      DMTCP_ASSERT(r > 0, "clone for thread %d failed", t->tid);
      if (!is_old_tid(r)) {
        break;
      }
      DMTCP_DEBUG("new tid %d was an old one in the image: cloning again", r);
      // Gone before it touched anything; its stack is free once the kernel
      // has cleared the tid word (its wake is a shared-futex one: poll).
      auto* word = reinterpret_cast<std::atomic<uint32_t>*>(tidp);
      while (static_cast<pid_t>(word->load()) == r) {
        timespec ts{0, 1000 * 1000};
        futex_wait(word, static_cast<uint32_t>(r), &ts);
      }
      DMTCP_ASSERT(tries <= g_num_old_tids + 64,
                   "no new tid outside the image's %u old ones",
                   g_num_old_tids);
    }
    note_restored_tid(t->tid, r);
    t->tid = r;
    ++started;
  });
  wait_for_count(&g_restored_count, started);
  mutex_owners::rewrite_all();
}

namespace {
uint64_t g_own_robust_head = 0;
uint64_t g_own_robust_len = 0;
}  // namespace

void save_own_kernel_state() {
  syscall(SYS_get_robust_list, 0, &g_own_robust_head, &g_own_robust_len);
}

void restore_own_kernel_state() {
  pid_t* tidp = tcb::tid_address(pthread_self());
  pid_t old_tid = *tidp;
  *tidp = tcb::gettid_raw();
  g_num_old_tids = 0;
  note_old_tid(old_tid);
  g_num_restored_tids.store(0, std::memory_order_relaxed);
  note_restored_tid(old_tid, *tidp);
  mutex_owners::begin_restart();
  mutex_owners::add_thread(old_tid, *tidp, g_own_robust_head);
  syscall(SYS_set_tid_address, tidp);
  tcb::register_rseq();
  if (g_own_robust_head != 0) {
    syscall(SYS_set_robust_list, g_own_robust_head, g_own_robust_len);
  }
  // Every signal blocked, the threads cloned from us too, until each
  // returns from its signal frame.  Raw: glibc's pthread_sigmask leaves
  // 32 (SIGCANCEL, also the timer plugin's SIGEV_THREAD signal, aimed at
  // a restored thread as soon as timers are re-armed) unblocked, and its
  // default action kills the process.  33 (SIGSETXID) stays open: setuid()
  // in the program waits for every thread to take it.
  uint64_t all = ~0ull & ~(1ull << (33 - 1));
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, nullptr, sizeof all);
}

pid_t restored_tid(pid_t old_tid) {
  uint32_t n = g_num_restored_tids.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; ++i) {
    if (g_restored_tids[i].old_tid == old_tid) {
      return g_restored_tids[i].new_tid;
    }
  }
  return -1;
}

void fork_starting() { tls_forking = true; }

void fork_done() {
  tls_forking = false;
  g_forks_done.fetch_add(1);
  futex_wake(&g_forks_done);
}

void reset_after_fork() {
  // Threads that held the lock do not exist in the child.
  g_list_lock.reset();
  // A thread the program's pthread_atfork child handler started (glibc
  // runs it inside fork(), before our child side runs) is ours: its tid
  // is one of this process's.  The parent's threads' tids are not
  // (upstream's pthread_atfork2: its record freed, the next checkpoint
  // never froze it and hung).
  Thread* me = tls_self;
  const pid_t pid = static_cast<pid_t>(raw::getpid());
  for_each_live([&](Thread* t) {
    if (t != me && (t->tid <= 0 || raw::tgkill(pid, t->tid, 0) != 0)) {
      free_record(t);
    }
  });
  if (me != nullptr) {
    me->tid = tcb::gettid_raw();
  }
}

}  // namespace dmtcp::threads
