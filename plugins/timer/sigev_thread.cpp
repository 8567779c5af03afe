// sigev_thread.cpp -- see sigev_thread.h.
#include "sigev_thread.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "dmtcp/plugin.h"
#include "posix_timer.h"
#include "thread_registry.h"
#include "timer_common.h"

namespace dmtcp::timer {
namespace {

// Protects: g_helper (written once per process, under g_start_lock).
volatile int g_start_lock = 0;
std::atomic<bool> g_started{false};
pthread_t g_helper{};
std::atomic<pid_t> g_first_tid{0};

struct Job {
  void (*fn)(sigval);
  sigval value;
};

void* run_job(void* arg) {
  Job job = *static_cast<Job*>(arg);
  free(arg);
  job.fn(job.value);
  return nullptr;
}

void start_job(void (*fn)(sigval), sigval value, size_t stack_size) {
  auto* job = static_cast<Job*>(malloc(sizeof(Job)));
  if (job == nullptr) {
    return;  // as glibc: nothing to do but drop this expiry
  }
  job->fn = fn;
  job->value = value;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (stack_size != 0) {
    pthread_attr_setstacksize(&attr, stack_size);
  }
  sigset_t none;
  sigemptyset(&none);
  pthread_attr_setsigmask_np(&attr, &none);
  pthread_t th;
  if (pthread_create(&th, &attr, run_job, job) != 0) {
    free(job);
  }
  pthread_attr_destroy(&attr);
}

void* helper_main(void*) {
  // Every signal blocked (as glibc's helper), but the checkpoint signal,
  // which the core needs, and glibc's SIGSETXID (33), which setuid() needs
  // every thread to take.  Raw: glibc's calls leave 32 and 33 alone.
  uint64_t mask = ~0ull;
  mask &= ~(1ull << (dmtcp_get_ckpt_signal() - 1));
  mask &= ~(1ull << (33 - 1));
  raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&mask),
              0, 8);
  g_first_tid.store(static_cast<pid_t>(raw_syscall(SYS_gettid)));
  uint64_t wait_for = 1ull << (kSigTimerThread - 1);
  for (;;) {
    siginfo_t si;
    long sig = raw_syscall(SYS_rt_sigtimedwait,
                           reinterpret_cast<long>(&wait_for),
                           reinterpret_cast<long>(&si), 0, 8);
    if (sig != kSigTimerThread || si.si_code != SI_TIMER) {
      continue;  // EINTR: a checkpoint came and went
    }
    void (*fn)(sigval) = nullptr;
    sigval value{};
    size_t stack_size = 0;
    bool found;
    {
      NoCkpt no_ckpt;
      found = thread_job(si.si_value.sival_int, &fn, &value, &stack_size);
    }
    if (found) {
      start_job(fn, value, stack_size);
    }
  }
  return nullptr;
}

}  // namespace

bool start_sigev_helper() {
  if (g_started.load(std::memory_order_acquire)) {
    return true;
  }
  SpinGuard g(&g_start_lock);
  if (g_started.load()) {
    return true;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int r = pthread_create(&g_helper, &attr, helper_main, nullptr);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    errno = EAGAIN;
    return false;
  }
  while (g_first_tid.load() == 0) {
    sched_yield();
  }
  g_started.store(true, std::memory_order_release);
  return true;
}

pid_t sigev_helper_tid() {
  if (!g_started.load(std::memory_order_acquire)) {
    return -1;
  }
  return real_tid_of(g_helper);
}

void forget_sigev_helper_after_fork() {
  g_start_lock = 0;
  g_first_tid.store(0);
  g_started.store(false);
}

}  // namespace dmtcp::timer
