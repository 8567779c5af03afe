/* A checkpoint does not cut sleeps short.  Threads sleep through the
 * checkpoint with sleep, usleep, nanosleep, clock_nanosleep (relative and
 * TIMER_ABSTIME); each must sleep its whole time and report success.  Two
 * more wait in pause() and sigsuspend() and must wake only for the
 * program's own SIGUSR1, sent after the go file, and return EINTR then.
 * A program signal during a sleep still ends it early (last check). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "e2e.h"

enum { kSleepSeconds = 4 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sleeper {
  const char *name;
  int (*run)(void); /* 0 when the sleep reported success */
  double took;
  int result;
};

static int by_sleep(void) {
  return (int)sleep(kSleepSeconds);
}
static int by_usleep(void) {
  return usleep(kSleepSeconds * 1000000u);
}
static int by_nanosleep(void) {
  struct timespec req = {kSleepSeconds, 0};
  return nanosleep(&req, NULL);
}
static int by_clock_nanosleep(void) {
  struct timespec req = {kSleepSeconds, 0};
  return clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
}
static int by_clock_nanosleep_abs(void) {
  struct timespec when;
  clock_gettime(CLOCK_MONOTONIC, &when);
  when.tv_sec += kSleepSeconds;
  return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, NULL);
}

static void *sleeper_main(void *arg) {
  struct sleeper *s = arg;
  double t0 = now();
  s->result = s->run();
  s->took = now() - t0;
  return NULL;
}

/* pause() and sigsuspend() waiters: woken by SIGUSR1 only. */
static atomic_int g_usr1_sent;
static atomic_int g_usr1_seen;
static void on_usr1(int sig) {
  (void)sig;
  atomic_fetch_add(&g_usr1_seen, 1);
}

struct waiter {
  int use_sigsuspend;
  int result;
  int error;
  int sent_when_woken;
};

static void *waiter_main(void *arg) {
  struct waiter *w = arg;
  if (w->use_sigsuspend) {
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    sigdelset(&mask, SIGUSR1);
    w->result = sigsuspend(&mask);
  } else {
    w->result = pause();
  }
  w->error = errno;
  w->sent_when_woken = atomic_load(&g_usr1_sent);
  return NULL;
}

static void check_sleepers(struct sleeper *s, int n) {
  for (int i = 0; i < n; ++i) {
    E2E_CHECK(s[i].result == 0, "%s returned %d", s[i].name, s[i].result);
    E2E_CHECK(s[i].took >= kSleepSeconds - 0.01, "%s slept only %.3f s",
              s[i].name, s[i].took);
  }
}

/* The program's own signal still ends a sleep early. */
static void *send_usr1_soon(void *arg) {
  usleep(200000);
  pthread_kill(*(pthread_t *)arg, SIGUSR1);
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  /* The waiters take SIGUSR1 only inside pause/sigsuspend. */
  struct sleeper sleepers[] = {
      {"sleep", by_sleep, 0, -1},
      {"usleep", by_usleep, 0, -1},
      {"nanosleep", by_nanosleep, 0, -1},
      {"clock_nanosleep", by_clock_nanosleep, 0, -1},
      {"clock_nanosleep(TIMER_ABSTIME)", by_clock_nanosleep_abs, 0, -1},
  };
  enum { kSleepers = sizeof sleepers / sizeof sleepers[0] };
  pthread_t st[kSleepers];
  for (int i = 0; i < kSleepers; ++i) {
    E2E_CHECK(pthread_create(&st[i], NULL, sleeper_main, &sleepers[i]) == 0,
              "create %s", sleepers[i].name);
  }
  struct waiter waiters[2] = {{0, 0, 0, 0}, {1, 0, 0, 0}};
  pthread_t wt[2];
  for (int i = 0; i < 2; ++i) {
    E2E_CHECK(pthread_create(&wt[i], NULL, waiter_main, &waiters[i]) == 0,
              "create waiter");
  }
  usleep(100000); /* everyone is asleep: now checkpoint us */
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  for (int i = 0; i < kSleepers; ++i) {
    pthread_join(st[i], NULL);
  }
  check_sleepers(sleepers, kSleepers);
  /* The waiters are still waiting: wake them ourselves. */
  atomic_store(&g_usr1_sent, 1);
  for (int i = 0; i < 2; ++i) {
    pthread_kill(wt[i], SIGUSR1);
    pthread_join(wt[i], NULL);
    const char *what = waiters[i].use_sigsuspend ? "sigsuspend" : "pause";
    E2E_CHECK(waiters[i].sent_when_woken, "%s woke before our SIGUSR1",
              what);
    E2E_CHECK(waiters[i].result == -1 && waiters[i].error == EINTR,
              "%s returned %d (%s)", what, waiters[i].result,
              strerror(waiters[i].error));
  }
  /* A sleep the program interrupts itself ends early, as always. */
  pthread_t self = pthread_self(), sender;
  pthread_create(&sender, NULL, send_usr1_soon, &self);
  unsigned left = sleep(kSleepSeconds);
  pthread_join(sender, NULL);
  E2E_CHECK(left >= 1, "sleep was not interrupted by SIGUSR1 (%u left)",
            left);
  e2e_say("PASS");
  return 0;
}
