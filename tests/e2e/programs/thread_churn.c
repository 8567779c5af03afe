/* Teams of short-lived detached threads, as libgomp's nested parallel
 * regions make them (upstream DMTCP's openmp-2): more of them before the
 * first checkpoint than the runtime has thread records, and more while
 * checkpoints happen.  glibc unmaps the stacks of exited threads beyond
 * its cache, so nothing may read an exited thread's memory; a thread
 * started after all that is still frozen and brought back (its ticks go
 * on after each restart).  Before the fix the first checkpoint died with
 * SIGSEGV, and threads past the 8192nd went unrecorded; with the first
 * fix alone, pthread4's joiners left a creator waiting forever and the
 * checkpoint hung. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "e2e.h"

enum { kTeam = 16, kTeamsBefore = 600 };

static atomic_int done;
static atomic_int ticks;

static void* member(void* arg) {
  (void)arg;
  atomic_fetch_add(&done, 1);
  return NULL;
}

static void* ticker(void* arg) {
  (void)arg;
  for (;;) {
    atomic_fetch_add(&ticks, 1);
    usleep(1000);
  }
  return NULL;
}

/* Four of these start and join one short thread after another (upstream's
 * pthread4): a thread may register and end before its creator has seen it
 * register, while another creator frees the records of ended ones. */
static atomic_int stop;

static void *joiner(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    pthread_t t;
    E2E_CHECK(pthread_create(&t, NULL, member, NULL) == 0, "pthread_create");
    E2E_CHECK(pthread_join(t, NULL) == 0, "pthread_join");
  }
  return NULL;
}

/* One team: kTeam detached threads, until each has run. */
static void team(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int before = atomic_load(&done);
  for (int i = 0; i < kTeam; ++i) {
    pthread_t t;
    E2E_CHECK(pthread_create(&t, &attr, member, NULL) == 0, "pthread_create");
  }
  pthread_attr_destroy(&attr);
  while (atomic_load(&done) < before + kTeam) {
    sched_yield();
  }
}

int main(void) {
  for (int i = 0; i < kTeamsBefore; ++i) {
    team();
  }
  pthread_t t;
  E2E_CHECK(pthread_create(&t, NULL, ticker, NULL) == 0, "pthread_create");
  pthread_t joiners[4];
  for (int i = 0; i < 4; ++i) {
    E2E_CHECK(pthread_create(&joiners[i], NULL, joiner, NULL) == 0,
              "pthread_create");
  }
  e2e_say("READY");
  e2e_wait_for_go(team);
  atomic_store(&stop, 1);
  for (int i = 0; i < 4; ++i) {
    E2E_CHECK(pthread_join(joiners[i], NULL) == 0, "pthread_join");
  }
  int before = atomic_load(&ticks);
  for (int i = 0; i < 500 && atomic_load(&ticks) == before; ++i) {
    usleep(10000);
  }
  E2E_CHECK(atomic_load(&ticks) != before, "the ticker thread stopped");
  team();
  e2e_say("PASS");
  return 0;
}
