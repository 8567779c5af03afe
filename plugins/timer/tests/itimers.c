/* Interval timers and alarm() across checkpoint and restart, checked at
 * every tick:
 *  - setitimer(ITIMER_REAL) every 20 ms: SIGALRMs counted; after go they
 *    must come at the period;
 *  - setitimer(ITIMER_PROF) every 10 ms of CPU time: SIGPROFs counted
 *    against the CPU time we burn;
 *  - setitimer(ITIMER_VIRTUAL) one hour of CPU time: the time left
 *    shrinks, never resets or vanishes;
 *  - alarm(3600) in a child process (alarm shares ITIMER_REAL with
 *    setitimer, so it needs a process of its own): the time left shrinks,
 *    and alarm(0) returns it at the end.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "e2e.h"
#include "timer_test.h"

static atomic_long g_alrm, g_prof;

static void on_signal(int sig) {
  atomic_fetch_add(sig == SIGALRM ? &g_alrm : &g_prof, 1);
}

static int64_t tv_ns(struct timeval t) {
  return (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_usec * 1000;
}

static int64_t left_ns(int which, int64_t* interval) {
  struct itimerval v;
  E2E_CHECK(getitimer(which, &v) == 0, "getitimer(%d)", which);
  if (interval != NULL) {
    *interval = tv_ns(v.it_interval);
  }
  return tv_ns(v.it_value);
}

/* The kernel rounds CPU-time timers up to its tick. */
static int64_t g_prev_virtual = 3600010000000LL;

static void tick(void) {
  int64_t iv;
  int64_t v = left_ns(ITIMER_VIRTUAL, &iv);
  /* Arming it again after a restart rounds up to the kernel's tick (4 ms
   * at HZ=250): allow that much, no more (a reset would be an hour). */
  E2E_CHECK(v > 0 && v <= g_prev_virtual + 10000000 && iv == 0,
            "ITIMER_VIRTUAL: %lld left after %lld, interval %lld",
            (long long)v, (long long)g_prev_virtual, (long long)iv);
  g_prev_virtual = v;
  int64_t r = left_ns(ITIMER_REAL, &iv);
  if (r == 0) {
    /* It expired during getitimer: the kernel re-arms ITIMER_REAL only
     * when its SIGALRM is dequeued, which happens as that call returns.
     * Natively too; read again. */
    r = left_ns(ITIMER_REAL, &iv);
  }
  E2E_CHECK(r > 0 && r <= 20000000 && iv == 20000000,
            "ITIMER_REAL: %lld left, interval %lld", (long long)r,
            (long long)iv);
  left_ns(ITIMER_PROF, &iv);
  E2E_CHECK(iv == 10000000, "ITIMER_PROF interval %lld", (long long)iv);
}

static void check_rates(int64_t ns) {
  long a0 = atomic_load(&g_alrm), p0 = atomic_load(&g_prof);
  int64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  int64_t start = now_ns(CLOCK_MONOTONIC);
  /* At least ns, and until 200 ms of CPU are burnt (a loaded host gave us
   * 50 ms in 600 ms: too little for a sampled ITIMER_PROF to be sure to
   * fire), but never past 5 s. */
  while ((now_ns(CLOCK_MONOTONIC) - start < ns ||
          now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0 < 200000000) &&
         now_ns(CLOCK_MONOTONIC) - start < 5000000000LL) {
    burn_cpu(5000000);
    sleep_ns(5000000);
    tick();
  }
  int64_t took = now_ns(CLOCK_MONOTONIC) - start;
  int64_t cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  long a = atomic_load(&g_alrm) - a0, p = atomic_load(&g_prof) - p0;
  long want_a = (long)(took / 20000000), want_p = (long)(cpu / 10000000);
  printf("in %lld ms (%lld ms cpu): SIGALRM %ld (period says %ld), SIGPROF "
         "%ld (period says %ld)\n",
         (long long)(took / 1000000), (long long)(cpu / 1000000), a, want_a,
         p, want_p);
  /* Interval timers have no overrun count: expiries while the process
   * waits for a CPU merge into one signal, so under load fewer arrive;
   * never more (a burst).  ITIMER_PROF is sampled on the kernel's tick
   * while we run: the kernel charges utime+stime a whole tick to the
   * thread it finds running, while CLOCK_PROCESS_CPUTIME_ID is exact run
   * time.  With 5 ms bursts on a busy host the sampled time runs up to a
   * fifth over or under (seen: 26 signals for 223 ms, under dmtcp_launch
   * whose checkpoint thread wakes now and then).  It must fire, and not at
   * a wrong period: one restored with a period ten times too short, or
   * re-armed on every round, gives several times the count. */
  E2E_CHECK(a >= want_a / 2 && a <= want_a + 2, "SIGALRM: %ld", a);
  E2E_CHECK((p >= 1 || cpu < 40000000) && p <= want_p + want_p / 3 + 3,
            "SIGPROF: %ld",
            p);  /* (a loaded host may give us under 4 periods of CPU) */
}

static int alarm_child(void) {
  alarm(3600);
  int64_t prev = 3600000000000LL;
  while (!e2e_go_seen()) {
    int64_t r = left_ns(ITIMER_REAL, NULL);
    E2E_CHECK(r > 0 && r <= prev, "alarm: %lld left after %lld",
              (long long)r, (long long)prev);
    prev = r;
    sleep_ns(10000000);
  }
  int64_t r = left_ns(ITIMER_REAL, NULL);
  E2E_CHECK(r > 3500000000000LL && r <= prev, "alarm: %lld left after %lld",
            (long long)r, (long long)prev);
  unsigned left = alarm(0);
  E2E_CHECK(left > 3500 && left <= 3600, "alarm(0) returned %u", left);
  return 0;
}

int main(void) {
  pid_t child = fork();
  if (child == 0) {
    _exit(alarm_child());
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval real = {{0, 20000}, {0, 20000}};
  struct itimerval prof = {{0, 10000}, {0, 10000}};
  struct itimerval virt = {{0, 0}, {3600, 0}};
  E2E_CHECK(setitimer(ITIMER_REAL, &real, NULL) == 0, "setitimer REAL");
  E2E_CHECK(setitimer(ITIMER_PROF, &prof, NULL) == 0, "setitimer PROF");
  E2E_CHECK(setitimer(ITIMER_VIRTUAL, &virt, NULL) == 0, "setitimer VIRTUAL");
  check_rates(300000000LL);
  e2e_say("READY");
  e2e_wait_for_go(tick);
  check_rates(600000000LL);
  int status;
  E2E_CHECK(waitpid(child, &status, 0) == child, "waitpid");
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "alarm child: status %#x", status);
  e2e_say("PASS");
  return 0;
}
