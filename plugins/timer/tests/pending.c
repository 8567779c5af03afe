/* Timers whose signal is pending (blocked) at the checkpoint: the core
 * keeps pending signals across a restart (docs/threads.md), and the timer
 * plugin must then neither lose the expiry nor deliver it twice.
 *  - a one-shot POSIX timer, SIGEV_SIGNAL (to the process) with a value;
 *  - a one-shot POSIX timer, SIGEV_THREAD_ID aimed at the main thread;
 *  - a periodic ITIMER_REAL (100 ms) with SIGALRM blocked: it is re-armed
 *    only when its SIGALRM is taken, so it must then go on at its period.
 * Each expired long before READY; after go each one-shot signal is there
 * exactly once (with its value, SI_TIMER), its timer reads disarmed, and
 * after SIGALRM is taken the next comes one period later.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "e2e.h"
#include "timer_test.h"

#define SIG_PROC (SIGRTMIN + 3)
#define SIG_TID (SIGRTMIN + 4)

static sigset_t g_blocked;

static timer_t make(int notify, int sig, int value) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = notify;
  sev.sigev_signo = sig;
  sev.sigev_value.sival_int = value;
  if (notify == SIGEV_THREAD_ID) {
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  }
  timer_t t;
  E2E_CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0,
            "timer_create: %s", strerror(errno));
  struct itimerspec its = {{0, 0}, {0, 10000000}};
  E2E_CHECK(timer_settime(t, 0, &its, NULL) == 0, "timer_settime: %s",
            strerror(errno));
  return t;
}

static void tick(void) {
  sigset_t p;
  sigpending(&p);
  E2E_CHECK(sigismember(&p, SIG_PROC) && sigismember(&p, SIG_TID) &&
                sigismember(&p, SIGALRM),
            "a pending signal is gone while waiting for go");
}

/* Takes every pending `sig`; checks its value; returns how many. */
static int take_all(int sig, int value) {
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  struct timespec zero = {0, 0};
  int n = 0;
  siginfo_t si;
  while (sigtimedwait(&one, &si, &zero) == sig) {
    if (value >= 0) {
      E2E_CHECK(si.si_code == SI_TIMER && si.si_value.sival_int == value,
                "signal %d: code %d value %d", sig, si.si_code,
                si.si_value.sival_int);
    }
    ++n;
  }
  return n;
}

static void check_disarmed(timer_t t, const char* what) {
  struct itimerspec its;
  E2E_CHECK(timer_gettime(t, &its) == 0, "timer_gettime(%s): %s", what,
            strerror(errno));
  E2E_CHECK(ts_ns(its.it_value) == 0 && ts_ns(its.it_interval) == 0,
            "%s: %lld ns left, interval %lld", what,
            (long long)ts_ns(its.it_value), (long long)ts_ns(its.it_interval));
}

int main(void) {
  sigemptyset(&g_blocked);
  sigaddset(&g_blocked, SIG_PROC);
  sigaddset(&g_blocked, SIG_TID);
  sigaddset(&g_blocked, SIGALRM);
  sigprocmask(SIG_BLOCK, &g_blocked, NULL);

  timer_t proc = make(SIGEV_SIGNAL, SIG_PROC, 31);
  timer_t tid = make(SIGEV_THREAD_ID, SIG_TID, 32);
  struct itimerval real = {{0, 100000}, {0, 100000}};
  E2E_CHECK(setitimer(ITIMER_REAL, &real, NULL) == 0, "setitimer");
  sleep_ns(300000000LL);
  tick();
  e2e_say("READY");
  e2e_wait_for_go(tick);
  /* A timer re-armed by mistake would fire again within this. */
  sleep_ns(100000000LL);

  int np = take_all(SIG_PROC, 31), nt = take_all(SIG_TID, 32);
  printf("one-shot SIGEV_SIGNAL: %d, SIGEV_THREAD_ID: %d signals\n", np, nt);
  E2E_CHECK(np == 1, "one-shot SIGEV_SIGNAL timer: %d signals", np);
  E2E_CHECK(nt == 1, "one-shot SIGEV_THREAD_ID timer: %d signals", nt);
  check_disarmed(proc, "SIGEV_SIGNAL");
  check_disarmed(tid, "SIGEV_THREAD_ID");

  /* ITIMER_REAL: one SIGALRM pending; taking it re-arms the timer (the
   * kernel moves it on by whole periods), so it reads at most one period
   * left and its SIGALRM comes again. */
  E2E_CHECK(take_all(SIGALRM, -1) == 1, "no SIGALRM pending");
  struct itimerval v;
  E2E_CHECK(getitimer(ITIMER_REAL, &v) == 0, "getitimer");
  E2E_CHECK(v.it_interval.tv_sec == 0 && v.it_interval.tv_usec == 100000 &&
                v.it_value.tv_sec == 0 && v.it_value.tv_usec > 0 &&
                v.it_value.tv_usec <= 100000,
            "ITIMER_REAL after its SIGALRM: %ld.%06ld left, interval "
            "%ld.%06ld",
            (long)v.it_value.tv_sec, (long)v.it_value.tv_usec,
            (long)v.it_interval.tv_sec, (long)v.it_interval.tv_usec);
  sigset_t alrm;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  struct timespec wait = {5, 0};
  siginfo_t si;
  E2E_CHECK(sigtimedwait(&alrm, &si, &wait) == SIGALRM,
            "ITIMER_REAL did not fire again after its SIGALRM was taken");
  E2E_CHECK(timer_delete(proc) == 0 && timer_delete(tid) == 0,
            "timer_delete: %s", strerror(errno));
  e2e_say("PASS");
  return 0;
}
