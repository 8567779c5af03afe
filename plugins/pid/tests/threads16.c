/* 16 threads: gettid() (and syscall(SYS_gettid)) stay the same across
 * restart, and each thread gets the signals sent to it with pthread_kill
 * and tgkill(getpid(), its tid). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>

#include "e2e.h"

#define N 16

static pid_t g_tids[N];
static atomic_int g_hits[N];
static atomic_int g_wrong;
static atomic_int g_started;
static atomic_int g_done;
static __thread int t_index = -1;

static void on_usr1(int sig) {
  (void)sig;
  if (t_index < 0) {
    atomic_fetch_add(&g_wrong, 1);
    return;
  }
  atomic_fetch_add(&g_hits[t_index], 1);
}

static void *worker(void *arg) {
  t_index = (int)(long)arg;
  g_tids[t_index] = gettid();
  atomic_fetch_add(&g_started, 1);
  while (!e2e_go_seen()) {
    usleep(10000);
  }
  pid_t now = gettid();
  pid_t via_syscall = (pid_t)syscall(SYS_gettid);
  if (now != g_tids[t_index] || via_syscall != g_tids[t_index]) {
    printf("FAIL: thread %d: gettid %d / %d, was %d\n", t_index, now,
           via_syscall, g_tids[t_index]);
    fflush(stdout);
    exit(1);
  }
  while (!atomic_load(&g_done)) {
    usleep(1000);
  }
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  pid_t main_tid = gettid();
  pid_t me = getpid();
  E2E_CHECK(main_tid == me, "main gettid %d != getpid %d", main_tid, me);
  pthread_t th[N];
  for (long i = 0; i < N; ++i) {
    E2E_CHECK(pthread_create(&th[i], NULL, worker, (void *)i) == 0,
              "pthread_create");
  }
  while (atomic_load(&g_started) < N) {
    usleep(1000);
  }
  for (int i = 0; i < N; ++i) {
    for (int j = 0; j < i; ++j) {
      E2E_CHECK(g_tids[i] != g_tids[j], "duplicate tid %d", g_tids[i]);
    }
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  E2E_CHECK(getpid() == me && gettid() == main_tid &&
                syscall(SYS_gettid) == main_tid && syscall(SYS_getpid) == me,
            "main ids changed: pid %d tid %d (were %d %d)", getpid(), gettid(),
            me, main_tid);
  /* One signal at a time: two pending SIGUSR1 would merge into one. */
  for (int i = 0; i < N; ++i) {
    for (int round = 0; round < 2; ++round) {
      int r;
      if (round == 0) {
        r = pthread_kill(th[i], SIGUSR1);
      } else if (i % 2 == 0) {
        r = tgkill(getpid(), g_tids[i], SIGUSR1);
      } else {
        r = (int)syscall(SYS_tgkill, getpid(), g_tids[i], SIGUSR1);
      }
      E2E_CHECK(r == 0, "%s to thread %d (tid %d): %s",
                round == 0 ? "pthread_kill" : "tgkill", i, g_tids[i],
                strerror(r > 0 ? r : errno));
      int k = 0;
      while (atomic_load(&g_hits[i]) < round + 1 && k++ < 5000) {
        usleep(1000);
      }
      E2E_CHECK(atomic_load(&g_hits[i]) == round + 1,
                "thread %d got %d signals, want %d", i, atomic_load(&g_hits[i]),
                round + 1);
    }
  }
  E2E_CHECK(atomic_load(&g_wrong) == 0, "a signal hit the wrong thread");
  /* The main thread by its tid too. */
  E2E_CHECK(tgkill(me, main_tid, 0) == 0, "tgkill(main): %s", strerror(errno));
  atomic_store(&g_done, 1);
  for (int i = 0; i < N; ++i) {
    pthread_join(th[i], NULL);
  }
  e2e_say("PASS");
  return 0;
}
