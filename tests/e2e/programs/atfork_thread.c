/* A thread started by the program's pthread_atfork child handler, inside
 * fork() in the child, before the fork wrapper's child side has run
 * (upstream DMTCP's pthread_atfork2).  Both processes and that thread
 * must come through the checkpoint: the thread still counts after it.
 * Before the fix the child's checkpoint lock miscounted its holders and
 * the first checkpoint never completed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "e2e.h"

static atomic_int ticks;

static void* counter(void* arg) {
  (void)arg;
  for (;;) {
    atomic_fetch_add(&ticks, 1);
    usleep(10000);
  }
  return NULL;
}

static void in_child(void) {
  pthread_t t;
  pthread_create(&t, NULL, counter, NULL);
}

int main(void) {
  pthread_atfork(NULL, NULL, in_child);
  int ready[2];
  E2E_CHECK(pipe(ready) == 0, "pipe");
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    while (atomic_load(&ticks) == 0) {
      usleep(1000);
    }
    E2E_CHECK(write(ready[1], "x", 1) == 1, "write");
    e2e_wait_for_go(NULL);
    int before = atomic_load(&ticks);
    for (int i = 0; i < 500 && atomic_load(&ticks) == before; ++i) {
      usleep(10000);
    }
    _exit(atomic_load(&ticks) != before ? 0 : 3);
  }
  e2e_ready_when_child_is(ready[0]);
  e2e_child_exited_ok(child, "3: its atfork thread stopped");
  e2e_say("PASS");
  return 0;
}
