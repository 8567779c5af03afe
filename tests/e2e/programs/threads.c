/* 8 threads share a counter under a mutex and hand a token around with a
 * condition variable while the checkpoint happens; after go every thread
 * is joined (pthread_join must work after restart) and the totals add up. */
#include <pthread.h>
#include <stdatomic.h>

#include "e2e.h"

#define NTHREADS 8

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_turn_changed = PTHREAD_COND_INITIALIZER;
static int g_turn = 0;
static long g_counter = 0;
static long g_per_thread[NTHREADS];
static atomic_int g_stop = 0;
static __thread long tls_count = 0;

static void *worker(void *arg) {
  int me = (int)(long)arg;
  while (!atomic_load(&g_stop)) {
    pthread_mutex_lock(&g_lock);
    while (g_turn != me && !atomic_load(&g_stop)) {
      pthread_cond_wait(&g_turn_changed, &g_lock);
    }
    g_counter++;
    g_per_thread[me]++;
    tls_count++;
    g_turn = (g_turn + 1) % NTHREADS;
    pthread_cond_broadcast(&g_turn_changed);
    pthread_mutex_unlock(&g_lock);
  }
  return (void *)tls_count;
}

int main(void) {
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; ++i) {
    E2E_CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0, "create");
  }
  while (1) {
    pthread_mutex_lock(&g_lock);
    long c = g_counter;
    pthread_mutex_unlock(&g_lock);
    if (c > 10000) {
      break;
    }
    usleep(1000);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  pthread_mutex_lock(&g_lock);
  long before = g_counter;
  pthread_mutex_unlock(&g_lock);
  usleep(100000);
  pthread_mutex_lock(&g_lock);
  long after = g_counter;
  pthread_mutex_unlock(&g_lock);
  E2E_CHECK(after > before, "threads stopped making progress (%ld)", after);
  atomic_store(&g_stop, 1);
  pthread_mutex_lock(&g_lock);
  pthread_cond_broadcast(&g_turn_changed);
  pthread_mutex_unlock(&g_lock);
  long total = 0;
  for (int i = 0; i < NTHREADS; ++i) {
    void *ret = NULL;
    E2E_CHECK(pthread_join(t[i], &ret) == 0, "join %d", i);
    E2E_CHECK((long)ret == g_per_thread[i], "thread %d: tls %ld vs %ld", i,
              (long)ret, g_per_thread[i]);
    total += g_per_thread[i];
  }
  E2E_CHECK(total == g_counter, "sum %ld != counter %ld", total, g_counter);
  /* Threads can still be made. */
  pthread_t extra;
  E2E_CHECK(pthread_create(&extra, NULL, worker, (void *)0) == 0, "new");
  pthread_join(extra, NULL);
  e2e_say("PASS");
  return 0;
}
