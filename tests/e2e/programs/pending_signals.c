/* Signals pending at the checkpoint are still pending afterwards, on
 * resume and after a restart, with their siginfo: a blocked SIGUSR1 sent
 * to the process, three SIGRTMIN+2 queued to the process with values
 * 1, 2, 3 (in that order), and two SIGRTMIN+3 queued to a second thread
 * only (values 7, 8), which the main thread must not see, and one SIGTERM
 * sent to that thread with pthread_kill (tgkill: SI_TKILL or, since
 * Linux 6.x, SI_USER, which only the thread whose tid is the pid may
 * queue with its siginfo: the core sends it again). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "e2e.h"

static int rt2, rt3;
static volatile int go_thread;

static int take(int sig, siginfo_t *si) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  struct timespec zero = {0, 0};
  int r;
  while ((r = sigtimedwait(&s, si, &zero)) < 0 && errno == EINTR) {
  }
  return r;
}

static void *thread_main(void *arg) {
  (void)arg;
  while (!go_thread) {
    usleep(10000);
  }
  siginfo_t si;
  for (int v = 7; v <= 8; ++v) {
    E2E_CHECK(take(rt3, &si) == rt3, "thread: SIGRTMIN+3 #%d lost", v - 6);
    E2E_CHECK(si.si_value.sival_int == v && si.si_code == SI_QUEUE,
              "thread: value %d code %d, want %d", si.si_value.sival_int,
              si.si_code, v);
  }
  E2E_CHECK(take(rt3, &si) < 0, "thread: a third SIGRTMIN+3");
  E2E_CHECK(take(SIGTERM, &si) == SIGTERM && si.si_pid == getpid(),
            "thread: SIGTERM lost");
  E2E_CHECK(take(SIGTERM, &si) < 0, "thread: SIGTERM twice");
  return NULL;
}

int main(void) {
  rt2 = SIGRTMIN + 2;
  rt3 = SIGRTMIN + 3;
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigaddset(&m, rt2);
  sigaddset(&m, rt3);
  sigaddset(&m, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &m, NULL);  /* the thread inherits it */
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  E2E_CHECK(kill(getpid(), SIGUSR1) == 0, "kill");
  for (int v = 1; v <= 3; ++v) {
    union sigval sv = {.sival_int = v};
    E2E_CHECK(sigqueue(getpid(), rt2, sv) == 0, "sigqueue");
  }
  for (int v = 7; v <= 8; ++v) {
    union sigval sv = {.sival_int = v};
    E2E_CHECK(pthread_sigqueue(t, rt3, sv) == 0, "pthread_sigqueue");
  }
  E2E_CHECK(pthread_kill(t, SIGTERM) == 0, "pthread_kill");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  siginfo_t si;
  E2E_CHECK(take(SIGUSR1, &si) == SIGUSR1 && si.si_code == SI_USER,
            "SIGUSR1 lost");
  E2E_CHECK(take(SIGUSR1, &si) < 0, "SIGUSR1 twice");
  for (int v = 1; v <= 3; ++v) {
    E2E_CHECK(take(rt2, &si) == rt2, "SIGRTMIN+2 #%d lost", v);
    E2E_CHECK(si.si_value.sival_int == v, "SIGRTMIN+2 value %d, want %d",
              si.si_value.sival_int, v);
  }
  E2E_CHECK(take(rt2, &si) < 0, "a fourth SIGRTMIN+2");
  E2E_CHECK(take(rt3, &si) < 0, "main took the thread's SIGRTMIN+3");
  E2E_CHECK(take(SIGTERM, &si) < 0, "main took the thread's SIGTERM");
  go_thread = 1;
  pthread_join(t, NULL);
  e2e_say("PASS");
  return 0;
}
