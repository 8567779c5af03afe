/* POSIX timers across checkpoint and restart, checked every tick through
 * the timer_t values made before the checkpoint:
 *  - a 20 ms periodic CLOCK_MONOTONIC timer, SIGEV_SIGNAL with a value:
 *    expirations (signals + overruns) counted; after go it must fire at
 *    its period, and no signal may carry a burst of overruns (the restart
 *    gap must not be delivered);
 *  - a one-hour one-shot relative CLOCK_MONOTONIC timer: the time left
 *    shrinks tick by tick, never grows (reset) or vanishes, and does not
 *    lose the time the computation was down (harness --down);
 *  - a one-hour TIMER_ABSTIME CLOCK_REALTIME timer: keeps its absolute
 *    expiry (time left = expiry - now);
 *  - a CLOCK_BOOTTIME one-hour timer with SIGEV_NONE;
 *  - a 20 ms SIGEV_THREAD timer (callbacks counted, value checked);
 *  - a 20 ms SIGEV_THREAD_ID timer aimed at a second thread that takes
 *    its signal with sigwaitinfo (counted there, value checked);
 *  - the CPU clock of our own pid (clock_getcpuclockid): readable, and
 *    advancing as we burn CPU; a one-hour timer on it whose time left
 *    shrinks by the CPU time burnt;
 *  - a CLOCK_THREAD_CPUTIME_ID timer of the second thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "dmtcp.h"
#include "e2e.h"
#include "timer_test.h"

#define PERIOD_NS 20000000LL
#define HOUR_NS 3600000000000LL
#define SIG_PERIODIC (SIGRTMIN + 1)
#define SIG_THREAD_ID (SIGRTMIN + 2)

static atomic_long g_periodic;      /* expirations of the periodic timer */
static atomic_long g_max_overrun;   /* largest overrun of one signal */
static atomic_int g_bad_value;
static atomic_long g_sigev_thread;  /* SIGEV_THREAD callbacks */
static atomic_long g_thread_id;     /* signals taken by the second thread */
static atomic_int g_second_tid;
static atomic_int g_stop;
static timer_t g_periodic_timer;
static timer_t g_thread_cpu_timer;
static atomic_int g_thread_cpu_ready;

static void on_periodic(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)ctx;
  if (si->si_value.sival_int != 0x5151) {
    atomic_store(&g_bad_value, 1);
  }
  int ov = si->si_overrun;
  atomic_fetch_add(&g_periodic, 1 + ov);
  long m = atomic_load(&g_max_overrun);
  while (ov > m && !atomic_compare_exchange_weak(&g_max_overrun, &m, ov)) {
  }
}

static void on_sigev_thread(union sigval v) {
  if (v.sival_int != 77) {
    atomic_store(&g_bad_value, 2);
  }
  atomic_fetch_add(&g_sigev_thread, 1);
}

static void* second_thread(void* arg) {
  (void)arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIG_THREAD_ID);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  /* A timer on this thread's CPU clock, made by this thread. */
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_NONE;
  if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &g_thread_cpu_timer) != 0) {
    e2e_fail("timer_create(CLOCK_THREAD_CPUTIME_ID): %s", strerror(errno));
  }
  struct itimerspec its = {{0, 0}, ns_ts(HOUR_NS)};
  timer_settime(g_thread_cpu_timer, 0, &its, NULL);
  atomic_store(&g_thread_cpu_ready, 1);
  atomic_store(&g_second_tid, (int)gettid());
  struct timespec wait = {0, 100000000};
  while (!atomic_load(&g_stop)) {
    siginfo_t si;
    int s = sigtimedwait(&set, &si, &wait);
    if (s != SIG_THREAD_ID) {
      continue;
    }
    if (si.si_value.sival_int != 0x7171) {
      atomic_store(&g_bad_value, 3);
    }
    atomic_fetch_add(&g_thread_id, 1 + si.si_overrun);
    burn_cpu(100000); /* CPU time for the thread-clock timer */
  }
  return NULL;
}

static int64_t left_ns(timer_t t, const char* what) {
  struct itimerspec its;
  if (timer_gettime(t, &its) != 0) {
    e2e_fail("timer_gettime(%s): %s", what, strerror(errno));
  }
  return ts_ns(its.it_value);
}

static timer_t make(clockid_t clock, int notify, int sig, int value,
                    const char* what) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = notify;
  sev.sigev_signo = sig;
  sev.sigev_value.sival_int = value;
  timer_t t;
  if (timer_create(clock, &sev, &t) != 0) {
    e2e_fail("timer_create(%s): %s", what, strerror(errno));
  }
  return t;
}

static void arm(timer_t t, int flags, int64_t value, int64_t interval) {
  struct itimerspec its = {ns_ts(interval), ns_ts(value)};
  if (timer_settime(t, flags, &its, NULL) != 0) {
    e2e_fail("timer_settime: %s", strerror(errno));
  }
}

/* State checked at every tick. */
static timer_t g_hour, g_abs, g_boot, g_sigev, g_tid, g_cpu;
static clockid_t g_cpu_clock;
static int64_t g_abs_expiry;
static int64_t g_prev_hour = HOUR_NS, g_prev_boot = HOUR_NS;
static int64_t g_prev_thread_cpu_left = HOUR_NS;

static void check_tick(void) {
  int64_t h = left_ns(g_hour, "one hour");
  E2E_CHECK(h > 0 && h <= g_prev_hour,
            "one-hour timer: %lld ns left after %lld (reset or vanished)",
            (long long)h, (long long)g_prev_hour);
  int64_t b = left_ns(g_boot, "boottime");
  E2E_CHECK(b > 0 && b <= g_prev_boot, "boottime timer: %lld after %lld",
            (long long)b, (long long)g_prev_boot);
  /* The time down before a restart does not count for relative timers
   * (one tick to the next sees at most a checkpoint round). */
  int64_t down = test_down_ns();
  E2E_CHECK(down == 0 || (g_prev_hour - h < down * 5 / 6 &&
                          g_prev_boot - b < down * 5 / 6),
            "relative timers lost %lld / %lld ns at once (down %lld)",
            (long long)(g_prev_hour - h), (long long)(g_prev_boot - b),
            (long long)down);
  g_prev_hour = h;
  g_prev_boot = b;
  int64_t a = left_ns(g_abs, "absolute");
  int64_t want = g_abs_expiry - now_ns(CLOCK_REALTIME);
  E2E_CHECK(llabs(a - want) < 100000000LL,
            "absolute timer: %lld ns left, expiry says %lld", (long long)a,
            (long long)want);
  struct timespec cpu;
  E2E_CHECK(clock_gettime(g_cpu_clock, &cpu) == 0,
            "clock_gettime(own cpu clock): %s", strerror(errno));
  int64_t c = left_ns(g_cpu, "cpu clock");
  E2E_CHECK(c > HOUR_NS - 60000000000LL && c <= HOUR_NS,
            "cpu-clock timer: %lld ns left", (long long)c);
  int64_t tc = left_ns(g_thread_cpu_timer, "thread cpu clock");
  E2E_CHECK(tc > 0 && tc <= g_prev_thread_cpu_left,
            "thread-cpu timer: %lld after %lld", (long long)tc,
            (long long)g_prev_thread_cpu_left);
  g_prev_thread_cpu_left = tc;
  E2E_CHECK(atomic_load(&g_bad_value) == 0, "a notification had value %d",
            atomic_load(&g_bad_value));
  E2E_CHECK(atomic_load(&g_max_overrun) < 50,
            "a signal carried %ld overruns (a burst)",
            atomic_load(&g_max_overrun));
}

static void tick(void) { check_tick(); }

/* Counts over `ns` of monotonic time; each must reach about ns/period. */
static void check_rates(int64_t ns) {
  long p0 = atomic_load(&g_periodic), s0 = atomic_load(&g_sigev_thread),
       t0 = atomic_load(&g_thread_id);
  int64_t cpu0 = now_ns(g_cpu_clock);
  int64_t left0 = left_ns(g_cpu, "cpu clock");
  int64_t start = now_ns(CLOCK_MONOTONIC);
  while (now_ns(CLOCK_MONOTONIC) - start < ns) {
    burn_cpu(2000000);
    sleep_ns(8000000);
    check_tick();
  }
  int64_t took = now_ns(CLOCK_MONOTONIC) - start;
  long want = (long)(took / PERIOD_NS);
  /* Under load the receiving threads may lag: give them up to 2 s to take
   * what expired in the window; the upper bound is the period up to the
   * moment the counts are read. */
  long p, s, t, upper;
  for (int i = 0;; ++i) {
    upper = (long)((now_ns(CLOCK_MONOTONIC) - start) / PERIOD_NS);
    p = atomic_load(&g_periodic) - p0;
    s = atomic_load(&g_sigev_thread) - s0;
    t = atomic_load(&g_thread_id) - t0;
    if ((p >= want - 2 && s >= want / 2 && t >= want - 2) || i == 200) {
      break;
    }
    sleep_ns(10000000);
  }
  printf("in %lld ms: periodic %ld, SIGEV_THREAD %ld, SIGEV_THREAD_ID %ld "
         "(period says %ld)\n",
         (long long)(took / 1000000), p, s, t, want);
  E2E_CHECK(p >= want - 2 && p <= upper + 2, "periodic: %ld expirations", p);
  /* Callbacks and sigwaitinfo can lag under load; overruns are not
   * counted for SIGEV_THREAD, so allow a margin below. */
  E2E_CHECK(s >= want / 2 && s <= upper + 2, "SIGEV_THREAD: %ld callbacks", s);
  E2E_CHECK(t >= want - 2 && t <= upper + 2, "SIGEV_THREAD_ID: %ld", t);
  int64_t burnt = now_ns(g_cpu_clock) - cpu0;
  int64_t shrank = left0 - left_ns(g_cpu, "cpu clock");
  E2E_CHECK(burnt > 0, "own cpu clock did not advance");
  E2E_CHECK(shrank > burnt / 2 && shrank < burnt * 2 + 10000000,
            "cpu-clock timer shrank %lld ns while the clock advanced %lld",
            (long long)shrank, (long long)burnt);
}

/* After the first restart our timer_t values are the kernel ids from
 * before it: what a thread frozen inside a wrapper between the id
 * translation and the system call passes to the kernel.  Such a stale id
 * must name no timer (EINVAL, and the wrapper translates again) or the
 * same timer, never another one of ours: the kernel's answer for it
 * matches ours through the wrapper (interval exactly; time left within
 * the 20 ms period, or within a second for the one-hour timers). */
static void check_stale_ids(timer_t* ts, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    struct itimerspec raw, ours;
    long r = syscall(SYS_timer_gettime, (int)(intptr_t)ts[i], &raw);
    if (r != 0) {
      E2E_CHECK(errno == EINVAL, "stale id %d: %s", (int)(intptr_t)ts[i],
                strerror(errno));
      continue;
    }
    E2E_CHECK(timer_gettime(ts[i], &ours) == 0, "timer_gettime: %s",
              strerror(errno));
    int64_t d = ts_ns(raw.it_value) - ts_ns(ours.it_value);
    int64_t slack = ts_ns(ours.it_interval) != 0 ? PERIOD_NS : 1000000000LL;
    E2E_CHECK(ts_ns(raw.it_interval) == ts_ns(ours.it_interval) &&
                  d < slack && d > -slack,
              "stale kernel id %d names another timer (interval %lld ns, "
              "left %lld ns; ours %lld ns, %lld ns)",
              (int)(intptr_t)ts[i], (long long)ts_ns(raw.it_interval),
              (long long)ts_ns(raw.it_value),
              (long long)ts_ns(ours.it_interval),
              (long long)ts_ns(ours.it_value));
  }
}

/* After a restart: with PR_TIMER_CREATE_RESTORE_IDS every timer_t is
 * still the kernel's id; with it refused (DMTCP_TIMER_RESTORE_IDS=0) the
 * ids were made again from 0 and some of ours name no kernel timer (the
 * three deleted at start-up left a gap): the id table is at work. */
static void check_kernel_ids(timer_t* ts, size_t n) {
  int ckpts = 0, restarts = 0;
  if (dmtcp_get_local_status(&ckpts, &restarts) != DMTCP_IS_PRESENT ||
      restarts == 0) {
    return;
  }
  int kernel[64];
  size_t nk = 0;
  FILE* f = fopen("/proc/self/timers", "r");
  E2E_CHECK(f != NULL, "/proc/self/timers");
  char line[256];
  while (fgets(line, sizeof line, f) != NULL && nk < 64) {
    if (strncmp(line, "ID: ", 4) == 0) {
      kernel[nk++] = atoi(line + 4);
    }
  }
  fclose(f);
  size_t same = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < nk; ++k) {
      same += (intptr_t)ts[i] == kernel[k];
    }
  }
  const char* e = getenv("DMTCP_TIMER_RESTORE_IDS");
  int table = e != NULL && strcmp(e, "0") == 0;
  printf("after restart: %zu of %zu timer ids are kernel ids (%s)\n", same,
         n, table ? "id table" : "restored ids");
  E2E_CHECK(table ? same < n : same == n, "ids not as expected");
  if (restarts == 1) {
    check_stale_ids(ts, n);
  }
}

int main(void) {
  /* Three timers made and deleted: the ids below start at 3. */
  for (int i = 0; i < 3; ++i) {
    timer_t t = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, "dummy");
    timer_delete(t);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_periodic;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIG_PERIODIC, &sa, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIG_THREAD_ID);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  pthread_t th;
  pthread_create(&th, NULL, second_thread, NULL);
  while (atomic_load(&g_second_tid) == 0) {
    sleep_ns(1000000);
  }

  g_periodic_timer =
      make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIG_PERIODIC, 0x5151, "periodic");
  g_hour = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 1, "one hour");
  g_abs = make(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR1, 2, "absolute");
  g_boot = make(CLOCK_BOOTTIME, SIGEV_NONE, 0, 0, "boottime");

  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD;
  sev.sigev_notify_function = on_sigev_thread;
  sev.sigev_value.sival_int = 77;
  E2E_CHECK(timer_create(CLOCK_MONOTONIC, &sev, &g_sigev) == 0,
            "timer_create(SIGEV_THREAD): %s", strerror(errno));

  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIG_THREAD_ID;
  sev.sigev_value.sival_int = 0x7171;
  sev._sigev_un._tid = atomic_load(&g_second_tid);
  E2E_CHECK(timer_create(CLOCK_MONOTONIC, &sev, &g_tid) == 0,
            "timer_create(SIGEV_THREAD_ID): %s", strerror(errno));

  E2E_CHECK(clock_getcpuclockid(getpid(), &g_cpu_clock) == 0,
            "clock_getcpuclockid");
  g_cpu = make(g_cpu_clock, SIGEV_NONE, 0, 0, "cpu clock");

  arm(g_periodic_timer, 0, PERIOD_NS, PERIOD_NS);
  arm(g_hour, 0, HOUR_NS, 0);
  g_abs_expiry = now_ns(CLOCK_REALTIME) + HOUR_NS;
  arm(g_abs, TIMER_ABSTIME, g_abs_expiry, 0);
  arm(g_boot, 0, HOUR_NS, 0);
  arm(g_sigev, 0, PERIOD_NS, PERIOD_NS);
  arm(g_tid, 0, PERIOD_NS, PERIOD_NS);
  arm(g_cpu, 0, HOUR_NS, 0);
  while (!atomic_load(&g_thread_cpu_ready)) {
    sleep_ns(1000000);
  }

  check_rates(400000000LL);
  e2e_say("READY");
  e2e_wait_for_go(tick);
  check_rates(600000000LL);

  /* The ids keep working for every call. */
  E2E_CHECK(timer_getoverrun(g_periodic_timer) >= 0, "timer_getoverrun: %s",
            strerror(errno));
  timer_t all[] = {g_periodic_timer, g_hour, g_abs, g_boot, g_sigev,
                   g_tid, g_cpu, g_thread_cpu_timer};
  check_kernel_ids(all, sizeof all / sizeof all[0]);
  for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) {
    E2E_CHECK(timer_delete(all[i]) == 0, "timer_delete #%zu: %s", i,
              strerror(errno));
    E2E_CHECK(timer_delete(all[i]) == -1 && errno == EINVAL,
              "second timer_delete #%zu did not fail with EINVAL", i);
  }
  atomic_store(&g_stop, 1);
  pthread_join(th, NULL);
  e2e_say("PASS");
  return 0;
}
