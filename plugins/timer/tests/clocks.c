/* POSIX timers on the clocks posix_timers.c does not use, and
 * timer_settime through ids made before the checkpoint:
 *  - CLOCK_PROCESS_CPUTIME_ID: a one-hour timer whose CPU time left
 *    shrinks, never resets or vanishes; a 10 ms periodic one whose signals
 *    are counted against the CPU time we burn;
 *  - the CPU clock of a second thread (pthread_getcpuclockid) and of a
 *    child process (clock_getcpuclockid): one-hour timers that shrink as
 *    THAT thread / process burns CPU, also after a restart (re-made on the
 *    owner's new clock, not on whoever re-makes it);
 *  - CLOCK_REALTIME_ALARM / CLOCK_BOOTTIME_ALARM where the machine has
 *    them (an RTC and CAP_WAKE_ALARM): one-hour timers that shrink; where
 *    not, timer_create fails exactly as the kernel does;
 *  - after go, through the old ids: timer_settime re-arms a one-hour
 *    CLOCK_MONOTONIC timer as a 20 ms periodic one (its signals counted,
 *    with their value), another to two hours (read back), and disarms a
 *    third; timer_delete then takes every id.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e.h"
#include "timer_test.h"

#define HOUR_NS 3600000000000LL
#define TICK_SLACK 10000000LL /* CPU timers re-armed round up to a tick */
#define SIG_CPU (SIGRTMIN + 5)
#define SIG_MONO (SIGRTMIN + 6)

static atomic_long g_cpu_signals, g_mono_signals;
static atomic_int g_bad_value, g_stop;

static void on_signal(int sig, siginfo_t* si, void* ctx) {
  (void)ctx;
  int want = sig == SIG_CPU ? 0xc0 : 0x30;
  if (si->si_value.sival_int != want) {
    atomic_store(&g_bad_value, si->si_value.sival_int);
  }
  atomic_fetch_add(sig == SIG_CPU ? &g_cpu_signals : &g_mono_signals,
                   1 + si->si_overrun);
}

static void* burner(void* arg) {
  (void)arg;
  while (!atomic_load(&g_stop)) {
    burn_cpu(2000000);
    sleep_ns(3000000);
  }
  return NULL;
}

static timer_t make(clockid_t clock, int notify, int sig, int value,
                    const char* what) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = notify;
  sev.sigev_signo = sig;
  sev.sigev_value.sival_int = value;
  timer_t t;
  E2E_CHECK(timer_create(clock, &sev, &t) == 0, "timer_create(%s): %s", what,
            strerror(errno));
  return t;
}

static void arm(timer_t t, int64_t value, int64_t interval, const char* what) {
  struct itimerspec its = {ns_ts(interval), ns_ts(value)};
  E2E_CHECK(timer_settime(t, 0, &its, NULL) == 0, "timer_settime(%s): %s",
            what, strerror(errno));
}

static int64_t left_ns(timer_t t, int64_t* interval, const char* what) {
  struct itimerspec its;
  E2E_CHECK(timer_gettime(t, &its) == 0, "timer_gettime(%s): %s", what,
            strerror(errno));
  if (interval != NULL) {
    *interval = ts_ns(its.it_interval);
  }
  return ts_ns(its.it_value);
}

/* One-hour timers whose time left must shrink (CPU clocks: up to a tick
 * more after a re-arm), never reset or vanish. */
struct hour_timer {
  const char* what;
  timer_t t;
  int64_t prev;
  int64_t slack;
};

#define MAX_HOUR 8
static struct hour_timer g_hour[MAX_HOUR];
static int g_nhour;

static timer_t add_hour(clockid_t clock, int64_t slack, const char* what) {
  timer_t t = make(clock, SIGEV_NONE, 0, 0, what);
  arm(t, HOUR_NS, 0, what);
  g_hour[g_nhour++] = (struct hour_timer){what, t, HOUR_NS, slack};
  return t;
}

static void tick(void) {
  for (int i = 0; i < g_nhour; ++i) {
    struct hour_timer* h = &g_hour[i];
    int64_t iv;
    int64_t l = left_ns(h->t, &iv, h->what);
    E2E_CHECK(l > HOUR_NS - 120000000000LL && l <= h->prev + h->slack &&
                  iv == 0,
              "%s: %lld ns left after %lld, interval %lld", h->what,
              (long long)l, (long long)h->prev, (long long)iv);
    h->prev = l;
  }
  E2E_CHECK(atomic_load(&g_bad_value) == 0, "a signal had value %#x",
            atomic_load(&g_bad_value));
}

static pthread_t g_thread;
static pid_t g_child;
static timer_t g_proc_hour, g_thread_hour, g_child_hour, g_cpu_periodic;

/* Over `ns` of monotonic time, burning CPU in this thread: each CPU-clock
 * timer shrinks by about what its owner's clock advanced. */
static void check_cpu_window(int64_t ns) {
  clockid_t thread_clock, child_clock;
  E2E_CHECK(pthread_getcpuclockid(g_thread, &thread_clock) == 0,
            "pthread_getcpuclockid");
  E2E_CHECK(clock_getcpuclockid(g_child, &child_clock) == 0,
            "clock_getcpuclockid(child)");
  int64_t c_proc = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  int64_t c_thread = now_ns(thread_clock), c_child = now_ns(child_clock);
  int64_t l_proc = left_ns(g_proc_hour, NULL, "process cpu");
  int64_t l_thread = left_ns(g_thread_hour, NULL, "thread cpu");
  int64_t l_child = left_ns(g_child_hour, NULL, "child cpu");
  long s0 = atomic_load(&g_cpu_signals);
  int64_t start = now_ns(CLOCK_MONOTONIC);
  /* At least 150 ms of process CPU time (up to 3 s on a loaded host). */
  for (;;) {
    int64_t t = now_ns(CLOCK_MONOTONIC) - start;
    if (t >= ns && (now_ns(CLOCK_PROCESS_CPUTIME_ID) - c_proc > 150000000LL ||
                    t > 3000000000LL)) {
      break;
    }
    burn_cpu(4000000);
    sleep_ns(4000000);
    tick();
  }
  struct {
    const char* what;
    int64_t burnt, shrank;
  } w[] = {
      {"process cpu", now_ns(CLOCK_PROCESS_CPUTIME_ID) - c_proc,
       l_proc - left_ns(g_proc_hour, NULL, "process cpu")},
      {"thread cpu", now_ns(thread_clock) - c_thread,
       l_thread - left_ns(g_thread_hour, NULL, "thread cpu")},
      {"child cpu", now_ns(child_clock) - c_child,
       l_child - left_ns(g_child_hour, NULL, "child cpu")},
  };
  long s = atomic_load(&g_cpu_signals) - s0;
  printf("in %lld ms: process cpu %lld ms (timer %lld), thread %lld (%lld), "
         "child %lld (%lld); %ld CPU-clock signals\n",
         (long long)((now_ns(CLOCK_MONOTONIC) - start) / 1000000),
         (long long)(w[0].burnt / 1000000), (long long)(w[0].shrank / 1000000),
         (long long)(w[1].burnt / 1000000), (long long)(w[1].shrank / 1000000),
         (long long)(w[2].burnt / 1000000), (long long)(w[2].shrank / 1000000),
         s);
  for (int i = 0; i < 3; ++i) {
    /* No re-arm within a window (restarts come before go): a SIGEV_NONE
     * timer's time left is the clock's exact sample, read a little apart
     * from the clock itself while the owner runs on.  A timer on the
     * wrong owner's clock shrinks by someone else's CPU time, or not at
     * all. */
    E2E_CHECK(w[i].burnt > 5000000LL, "%s: only %lld ns burnt", w[i].what,
              (long long)w[i].burnt);
    E2E_CHECK(llabs(w[i].shrank - w[i].burnt) < 2000000LL + w[i].burnt / 10,
              "%s timer shrank %lld ns while its clock advanced %lld",
              w[i].what, (long long)w[i].shrank, (long long)w[i].burnt);
  }
  /* 10 ms of process CPU time per signal: not a burst, not silent.  The
   * kernel checks process CPU timers on its tick in our running threads:
   * on a loaded host (short slices) far fewer came (0 for 4 periods
   * under dmtcp_launch, 1 for 5 natively); idle, the period's count. */
  long want = (long)(w[0].burnt / 10000000);
  E2E_CHECK((s >= 1 || want < 10) && s <= want + want / 3 + 3,
            "CPU-clock periodic timer: %ld signals for %ld periods", s, want);
}

/* The *_ALARM clocks: used where timer_create takes them; otherwise our
 * timer_create must fail as the kernel does. */
static void try_alarm_clock(clockid_t clock, const char* what) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_NONE;
  timer_t t;
  if (timer_create(clock, &sev, &t) == 0) {
    timer_delete(t);
    add_hour(clock, 0, what);
    printf("%s: used\n", what);
    return;
  }
  int ours = errno;
  int kid;
  long r = syscall(SYS_timer_create, clock, &sev, &kid);
  int kernel = r == 0 ? 0 : errno;
  if (r == 0) {
    syscall(SYS_timer_delete, kid);
  }
  E2E_CHECK(ours == kernel, "timer_create(%s): %s, the kernel says %s", what,
            strerror(ours), strerror(kernel));
  printf("%s: not here (%s)\n", what, strerror(ours));
}

int main(void) {
  g_child = fork();
  if (g_child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with us, also on a FAIL */
    if (getppid() == 1) {
      _exit(0);
    }
    for (;;) {
      burn_cpu(2000000);
      sleep_ns(3000000);
    }
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIG_CPU, &sa, NULL);
  sigaction(SIG_MONO, &sa, NULL);
  /* Signals only to this thread (the burner blocks them). */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIG_CPU);
  sigaddset(&set, SIG_MONO);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  /* The thread's clock and a timer on it right after pthread_create,
   * before the new thread has run (one CPU for us meanwhile, so it waits):
   * the plugin learns threads as they start, and must still know whose
   * clock this is when it re-makes the timer. */
  cpu_set_t all_cpus, one_cpu;
  sched_getaffinity(0, sizeof all_cpus, &all_cpus);
  CPU_ZERO(&one_cpu);
  CPU_SET(sched_getcpu(), &one_cpu);
  sched_setaffinity(0, sizeof one_cpu, &one_cpu);
  pthread_create(&g_thread, NULL, burner, NULL);
  clockid_t thread_clock, child_clock;
  E2E_CHECK(pthread_getcpuclockid(g_thread, &thread_clock) == 0,
            "pthread_getcpuclockid");
  g_thread_hour = add_hour(thread_clock, TICK_SLACK, "thread cpu");
  sched_setaffinity(0, sizeof all_cpus, &all_cpus);
  pthread_setaffinity_np(g_thread, sizeof all_cpus, &all_cpus);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);

  E2E_CHECK(clock_getcpuclockid(g_child, &child_clock) == 0,
            "clock_getcpuclockid(child)");
  g_proc_hour = add_hour(CLOCK_PROCESS_CPUTIME_ID, TICK_SLACK, "process cpu");
  g_child_hour = add_hour(child_clock, TICK_SLACK, "child cpu");
  try_alarm_clock(CLOCK_REALTIME_ALARM, "CLOCK_REALTIME_ALARM");
  try_alarm_clock(CLOCK_BOOTTIME_ALARM, "CLOCK_BOOTTIME_ALARM");
  g_cpu_periodic =
      make(CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL, SIG_CPU, 0xc0, "cpu 10ms");
  arm(g_cpu_periodic, 10000000, 10000000, "cpu 10ms");
  timer_t to_two_hours = add_hour(CLOCK_MONOTONIC, 0, "to two hours");
  /* Signal timers: a disarmed SIGEV_NONE one still reads its old time
   * left on this kernel (6.18), natively too. */
  timer_t to_disarm =
      make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIG_MONO, 0x30, "to disarm");
  arm(to_disarm, HOUR_NS, 0, "to disarm");
  /* A one-hour SIGEV_SIGNAL timer, re-armed as 20 ms periodic after go. */
  timer_t mono = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIG_MONO, 0x30, "mono");
  arm(mono, HOUR_NS, 0, "mono");

  check_cpu_window(300000000LL);
  e2e_say("READY");
  e2e_wait_for_go(tick);
  check_cpu_window(500000000LL);
  /* Clock ids of a thread and of another process held across a restart
   * (they encode the program's ids; cpu_clock_ids checks their values). */
  struct timespec ts;
  E2E_CHECK(clock_gettime(thread_clock, &ts) == 0 &&
                clock_gettime(child_clock, &ts) == 0,
            "held clock ids after go: %s", strerror(errno));

  /* timer_settime through the ids made before the checkpoint. */
  g_nhour = 0; /* no more shrink checks: we change them now */
  arm(to_two_hours, 2 * HOUR_NS, 0, "to two hours");
  int64_t l = left_ns(to_two_hours, NULL, "to two hours");
  E2E_CHECK(l > 2 * HOUR_NS - 1000000000LL && l <= 2 * HOUR_NS,
            "re-armed to two hours, reads %lld", (long long)l);
  arm(to_disarm, 0, 0, "to disarm");
  int64_t iv;
  l = left_ns(to_disarm, &iv, "to disarm");
  E2E_CHECK(l == 0 && iv == 0, "disarmed timer: %lld left, interval %lld",
            (long long)l, (long long)iv);
  arm(mono, 20000000, 20000000, "mono");
  long m0 = atomic_load(&g_mono_signals);
  int64_t start = now_ns(CLOCK_MONOTONIC);
  sleep_ns(400000000LL);
  long m = atomic_load(&g_mono_signals) - m0;
  long want = (long)((now_ns(CLOCK_MONOTONIC) - start) / 20000000);
  printf("re-armed 20 ms periodic: %ld expirations (period says %ld)\n", m,
         want);
  E2E_CHECK(m >= want - 2 && m <= want + 2, "re-armed periodic: %ld", m);
  E2E_CHECK(left_ns(mono, &iv, "mono") > 0 && iv == 20000000,
            "re-armed periodic: interval %lld", (long long)iv);
  tick();

  timer_t all[] = {g_proc_hour, g_thread_hour, g_child_hour, g_cpu_periodic,
                   to_two_hours, to_disarm, mono};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) {
    E2E_CHECK(timer_delete(all[i]) == 0, "timer_delete #%zu: %s", i,
              strerror(errno));
  }
  atomic_store(&g_stop, 1);
  pthread_join(g_thread, NULL);
  kill(g_child, SIGKILL);
  int status;
  E2E_CHECK(waitpid(g_child, &status, 0) == g_child, "waitpid");
  e2e_say("PASS");
  return 0;
}
