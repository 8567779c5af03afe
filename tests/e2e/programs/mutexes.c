/* Mutexes that record their owner's kernel tid are held across the
 * checkpoint; after a restart every thread has a new tid, and each of them
 * must still behave as it did before:
 *   - main holds a recursive mutex twice: three unlocks succeed, a fourth
 *     is EPERM, and it can be taken again; likewise a C11 recursive mtx_t;
 *   - a thread holds an errorcheck mutex: relocking is EDEADLK, a
 *     condition wait on it times out normally, main's unlock is EPERM, the
 *     owner's unlock is 0;
 *   - a thread holds a robust errorcheck mutex and exits without
 *     unlocking it after go: the next lock is EOWNERDEAD, and
 *     pthread_mutex_consistent() makes it usable again;
 *   - a priority-inheritance errorcheck mutex is held with a waiter in the
 *     kernel; a robust mutex likewise: the waiter gets it after the owner
 *     unlocks, and can unlock it;
 *   - a thread waits on a condition variable with an errorcheck mutex: it
 *     wakes up holding the mutex and can unlock it.
 * Every blocking step has a deadline, so a failure is reported, not hung. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <threads.h>
#include <time.h>

#include "e2e.h"

static pthread_mutex_t g_recursive;
static pthread_mutex_t g_errorcheck;
static pthread_mutex_t g_robust;      /* owner exits holding it */
static pthread_mutex_t g_pi;          /* held with a waiter */
static pthread_mutex_t g_robust_wait; /* held by main with a waiter */
static pthread_mutex_t g_cv_mutex;
static mtx_t g_c11_recursive;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_cv_flag = 0; /* under g_cv_mutex */

static atomic_int g_ready = 0; /* threads set up before READY */
static atomic_int g_pi_release = 0;
static atomic_int g_ec_main_checked = 0;

/* FAIL from any thread ends the process: the harness sees it. */
#define CHECK_RC(expr, want)                                      \
  do {                                                            \
    int rc_ = (expr);                                             \
    E2E_CHECK(rc_ == (want), "%s = %d (%s), want %d", #expr, rc_, \
              strerror(rc_), (want));                             \
  } while (0)

static struct timespec deadline_ms(long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

static void wait_flag(atomic_int* flag, int value) {
  for (int i = 0; atomic_load(flag) < value; ++i) {
    E2E_CHECK(i < 2000, "waited 20 s for a stage");
    usleep(10000);
  }
}

static void init_mutex(pthread_mutex_t* m, int type, int robust, int protocol) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, type);
  pthread_mutexattr_setrobust(&a, robust);
  pthread_mutexattr_setprotocol(&a, protocol);
  CHECK_RC(pthread_mutex_init(m, &a), 0);
  pthread_mutexattr_destroy(&a);
}

static void* errorcheck_owner(void* arg) {
  (void)arg;
  CHECK_RC(pthread_mutex_lock(&g_errorcheck), 0);
  atomic_fetch_add(&g_ready, 1);
  e2e_wait_for_go(NULL);
  struct timespec dl = deadline_ms(2000);
  CHECK_RC(pthread_mutex_timedlock(&g_errorcheck, &dl), EDEADLK);
  /* glibc's condition wait unlocks and relocks it internally. */
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  dl = deadline_ms(50);
  CHECK_RC(pthread_cond_timedwait(&cv, &g_errorcheck, &dl), ETIMEDOUT);
  wait_flag(&g_ec_main_checked, 1); /* main's unlock must fail first */
  CHECK_RC(pthread_mutex_unlock(&g_errorcheck), 0);
  CHECK_RC(pthread_mutex_unlock(&g_errorcheck), EPERM);
  return NULL;
}

static void* robust_owner(void* arg) {
  (void)arg;
  CHECK_RC(pthread_mutex_lock(&g_robust), 0);
  atomic_fetch_add(&g_ready, 1);
  e2e_wait_for_go(NULL);
  struct timespec dl = deadline_ms(2000);
  CHECK_RC(pthread_mutex_timedlock(&g_robust, &dl), EDEADLK);
  return NULL; /* still holding g_robust */
}

static void* pi_owner(void* arg) {
  (void)arg;
  CHECK_RC(pthread_mutex_lock(&g_pi), 0);
  atomic_fetch_add(&g_ready, 1);
  wait_flag(&g_pi_release, 1);
  CHECK_RC(pthread_mutex_unlock(&g_pi), 0);
  return NULL;
}

/* Blocked in the kernel (FUTEX_LOCK_PI / futex wait) at the checkpoint. */
static void* waiter(void* arg) {
  pthread_mutex_t* m = arg;
  CHECK_RC(pthread_mutex_lock(m), 0);
  if (m == &g_pi) {
    struct timespec dl = deadline_ms(2000);
    CHECK_RC(pthread_mutex_timedlock(m, &dl), EDEADLK);
  }
  CHECK_RC(pthread_mutex_unlock(m), 0);
  return NULL;
}

static void* cv_waiter(void* arg) {
  (void)arg;
  CHECK_RC(pthread_mutex_lock(&g_cv_mutex), 0);
  atomic_fetch_add(&g_ready, 1);
  while (!g_cv_flag) {
    CHECK_RC(pthread_cond_wait(&g_cv, &g_cv_mutex), 0);
  }
  struct timespec dl = deadline_ms(2000);
  CHECK_RC(pthread_mutex_timedlock(&g_cv_mutex, &dl), EDEADLK);
  CHECK_RC(pthread_mutex_unlock(&g_cv_mutex), 0);
  return NULL;
}

static int waiters_bit(pthread_mutex_t* m) {
  return (atomic_load((atomic_uint*)&m->__data.__lock) & 0x80000000u) != 0;
}

static void join_within(pthread_t t, const char* what) {
  struct timespec dl = deadline_ms(10000);
  int rc = pthread_timedjoin_np(t, NULL, &dl);
  E2E_CHECK(rc == 0, "joining the %s thread: %s", what, strerror(rc));
}

static void* try_from_other_thread(void* arg) {
  int rc = pthread_mutex_trylock(arg);
  if (rc == 0) {
    pthread_mutex_unlock(arg);
  }
  return (void*)(long)rc;
}

/* trylock of m by a fresh thread (unlocked again if it succeeded). */
static int trylock_elsewhere(pthread_mutex_t* m) {
  pthread_t t;
  void* ret = NULL;
  pthread_create(&t, NULL, try_from_other_thread, m);
  pthread_join(t, &ret);
  return (int)(long)ret;
}

int main(void) {
  init_mutex(&g_recursive, PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_STALLED,
             PTHREAD_PRIO_NONE);
  init_mutex(&g_errorcheck, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_STALLED,
             PTHREAD_PRIO_NONE);
  init_mutex(&g_robust, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_ROBUST,
             PTHREAD_PRIO_NONE);
  init_mutex(&g_pi, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_STALLED,
             PTHREAD_PRIO_INHERIT);
  init_mutex(&g_robust_wait, PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_ROBUST,
             PTHREAD_PRIO_NONE);
  init_mutex(&g_cv_mutex, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_STALLED,
             PTHREAD_PRIO_NONE);

  CHECK_RC(mtx_init(&g_c11_recursive, mtx_plain | mtx_recursive), thrd_success);

  CHECK_RC(pthread_mutex_lock(&g_recursive), 0);
  CHECK_RC(pthread_mutex_lock(&g_recursive), 0);
  CHECK_RC(mtx_lock(&g_c11_recursive), thrd_success);
  CHECK_RC(mtx_lock(&g_c11_recursive), thrd_success);
  CHECK_RC(pthread_mutex_lock(&g_robust_wait), 0);

  pthread_t ec, rob, pi, pi_wait, rob_wait, cv;
  pthread_create(&ec, NULL, errorcheck_owner, NULL);
  pthread_create(&rob, NULL, robust_owner, NULL);
  pthread_create(&pi, NULL, pi_owner, NULL);
  pthread_create(&cv, NULL, cv_waiter, NULL);
  wait_flag(&g_ready, 4);
  pthread_create(&pi_wait, NULL, waiter, &g_pi);
  pthread_create(&rob_wait, NULL, waiter, &g_robust_wait);
  /* The waiters are in the kernel once they set FUTEX_WAITERS; the
   * condition waiter once its mutex is free. */
  for (int i = 0; !waiters_bit(&g_pi) || !waiters_bit(&g_robust_wait); ++i) {
    E2E_CHECK(i < 2000, "waiters did not block");
    usleep(10000);
  }
  CHECK_RC(pthread_mutex_lock(&g_cv_mutex), 0);
  CHECK_RC(pthread_mutex_unlock(&g_cv_mutex), 0);
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  /* Recursive: held twice, so three unlocks after a third lock. */
  CHECK_RC(pthread_mutex_trylock(&g_recursive), 0);
  CHECK_RC(pthread_mutex_unlock(&g_recursive), 0);
  CHECK_RC(pthread_mutex_unlock(&g_recursive), 0);
  CHECK_RC(trylock_elsewhere(&g_recursive), EBUSY);
  CHECK_RC(pthread_mutex_unlock(&g_recursive), 0);
  CHECK_RC(pthread_mutex_unlock(&g_recursive), EPERM);
  CHECK_RC(trylock_elsewhere(&g_recursive), 0);
  CHECK_RC(pthread_mutex_lock(&g_recursive), 0);
  CHECK_RC(pthread_mutex_unlock(&g_recursive), 0);
  CHECK_RC(mtx_unlock(&g_c11_recursive), thrd_success);
  CHECK_RC(mtx_trylock(&g_c11_recursive), thrd_success);
  CHECK_RC(mtx_unlock(&g_c11_recursive), thrd_success);
  CHECK_RC(mtx_unlock(&g_c11_recursive), thrd_success);
  CHECK_RC(mtx_unlock(&g_c11_recursive), thrd_error);
  e2e_say("recursive ok");

  /* Errorcheck: a non-owner's unlock fails; the owner's works. */
  CHECK_RC(pthread_mutex_unlock(&g_errorcheck), EPERM);
  atomic_store(&g_ec_main_checked, 1);
  join_within(ec, "errorcheck");
  CHECK_RC(pthread_mutex_lock(&g_errorcheck), 0);
  CHECK_RC(pthread_mutex_unlock(&g_errorcheck), 0);
  e2e_say("errorcheck ok");

  /* Robust: the owner exited holding it. */
  join_within(rob, "robust owner");
  struct timespec dl = deadline_ms(3000);
  CHECK_RC(pthread_mutex_timedlock(&g_robust, &dl), EOWNERDEAD);
  CHECK_RC(pthread_mutex_consistent(&g_robust), 0);
  CHECK_RC(pthread_mutex_unlock(&g_robust), 0);
  CHECK_RC(pthread_mutex_lock(&g_robust), 0);
  CHECK_RC(pthread_mutex_unlock(&g_robust), 0);
  e2e_say("robust ok");

  /* Waiters in the kernel get their mutex once the owner lets go. */
  CHECK_RC(pthread_mutex_unlock(&g_pi), EPERM);
  atomic_store(&g_pi_release, 1);
  join_within(pi, "PI owner");
  join_within(pi_wait, "PI waiter");
  CHECK_RC(pthread_mutex_lock(&g_pi), 0);
  CHECK_RC(pthread_mutex_unlock(&g_pi), 0);
  CHECK_RC(pthread_mutex_unlock(&g_robust_wait), 0);
  join_within(rob_wait, "robust waiter");
  CHECK_RC(pthread_mutex_lock(&g_robust_wait), 0);
  CHECK_RC(pthread_mutex_unlock(&g_robust_wait), 0);
  e2e_say("waiters ok");

  /* The condition waiter wakes up owning its mutex. */
  CHECK_RC(pthread_mutex_lock(&g_cv_mutex), 0);
  g_cv_flag = 1;
  CHECK_RC(pthread_cond_signal(&g_cv), 0);
  CHECK_RC(pthread_mutex_unlock(&g_cv_mutex), 0);
  join_within(cv, "condition waiter");
  CHECK_RC(pthread_mutex_lock(&g_cv_mutex), 0);
  CHECK_RC(pthread_mutex_unlock(&g_cv_mutex), 0);
  e2e_say("condvar ok");
  e2e_say("PASS");
  return 0;
}
