/* A program that sends itself the checkpoint signal (SIGUSR2 by default),
 * with it ignored, from its main thread and from a second thread, before
 * and after the checkpoint: under dmtcp_launch the signal must not freeze
 * it (it did: the thread waited in the checkpoint handler, every signal
 * blocked, for a round that never came). */
#include <pthread.h>
#include <signal.h>

#include "e2e.h"

static void* second(void* arg) {
  (void)arg;
  E2E_CHECK(raise(SIGUSR2) == 0, "raise in the second thread");
  return NULL;
}

static void raise_everywhere(void) {
  E2E_CHECK(raise(SIGUSR2) == 0, "raise");
  E2E_CHECK(kill(getpid(), SIGUSR2) == 0, "kill");
  pthread_t t;
  E2E_CHECK(pthread_create(&t, NULL, second, NULL) == 0, "pthread_create");
  E2E_CHECK(pthread_join(t, NULL) == 0, "pthread_join");
}

static void nothing(void) {}


int main(void) {
  signal(SIGUSR2, SIG_IGN);
  raise_everywhere();
  e2e_say("READY");
  e2e_wait_for_go(nothing);
  raise_everywhere();
  e2e_say("PASS");
  return 0;
}
