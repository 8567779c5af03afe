/* A signal of the program's that arrives while a checkpoint holds its
 * threads is delivered when they resume, and ends the wait it was meant
 * to end: the sleep wrappers must not take that EINTR for the
 * checkpoint's and wait on.  SIGALRM fires 1 s after READY, inside the
 * round (the slow_round test plugin makes it last 1.5 s); the main thread
 * waits in pause(), a second thread in sigsuspend() for SIGUSR1, which the
 * SIGALRM handler sends it.  Both must wake. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "e2e.h"

static atomic_int g_alarm;
static atomic_int g_usr1;
static pthread_t g_waiter;

static void on_alarm(int sig) {
  (void)sig;
  atomic_store(&g_alarm, 1);
  pthread_kill(g_waiter, SIGUSR1);
}
static void on_usr1(int sig) {
  (void)sig;
  atomic_store(&g_usr1, 1);
}

static void *waiter(void *arg) {
  (void)arg;
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, NULL, &mask);
  sigdelset(&mask, SIGUSR1);
  while (!atomic_load(&g_usr1)) {
    sigsuspend(&mask);
  }
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  /* SIGALRM goes to the process: only main may take it (else the waiter
   * could, and main's pause() would wait on), and SIGUSR1 only inside the
   * waiter's sigsuspend. */
  sigset_t both, alrm;
  sigemptyset(&both);
  sigaddset(&both, SIGUSR1);
  sigaddset(&both, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &both, NULL); /* the waiter inherits it */
  E2E_CHECK(pthread_create(&g_waiter, NULL, waiter, NULL) == 0, "create");
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
  alarm(1);
  e2e_say("READY");
  while (!atomic_load(&g_alarm)) {
    pause();
  }
  E2E_CHECK(pthread_join(g_waiter, NULL) == 0, "join");
  e2e_say("WOKE");
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 0;
}
