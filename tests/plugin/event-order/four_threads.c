/* Four user threads (main and three workers) that wait for the go file,
 * for the event-order test. */
#include <pthread.h>

#include "e2e.h"

static void *worker(void *arg) {
  (void)arg;
  e2e_wait_for_go(NULL);
  return NULL;
}

int main(void) {
  pthread_t t[3];
  for (int i = 0; i < 3; ++i) {
    E2E_CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0, "create");
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  for (int i = 0; i < 3; ++i) {
    E2E_CHECK(pthread_join(t[i], NULL) == 0, "join");
  }
  e2e_say("PASS");
  return 0;
}
