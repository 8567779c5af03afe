/* CPU clock ids that name a process or a thread, read with clock_gettime
 * through ids made before the checkpoint and after it:
 *  - this process: clock_getcpuclockid(getpid());
 *  - the main thread: pthread_getcpuclockid(pthread_self()) (its tid is
 *    the pid, but after a restart its kernel tid is not the kernel pid);
 *  - a second thread: pthread_getcpuclockid;
 *  - a child process: clock_getcpuclockid(child).
 * Every tick each held id must read (never EINVAL), and read its owner's
 * clock: bracketed by that owner's own readings (this thread and this
 * process read CLOCK_THREAD/PROCESS_CPUTIME_ID before and after; the
 * second thread and the child publish their own clock after every 2 ms of
 * CPU they burn, and our reading must lie between what they published
 * before it and that plus one such step).  Values must be sane (>= 0, at
 * most twice the time elapsed) and monotonic; they may go back only where
 * the owner's own clock went back with them (after a restart the kernel's
 * CPU clocks are the restored process's: docs/timer.md).  After go: ids
 * made now equal the held ones (as natively: same owner, same id), and
 * clock_getres and a clock_nanosleep of 5 ms of the child's CPU time
 * work through the held child id.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e.h"
#include "timer_test.h"

#define STEP_NS 2000000LL   /* CPU burnt between two publications */
#define SLACK_NS 10000000LL /* one step plus the loop around it */

/* What the second thread and the child say their own clock reads. */
struct published {
  atomic_llong value;
  atomic_long count;
};

static struct published* g_child_pub; /* MAP_SHARED */
static struct published g_thread_pub;
static atomic_int g_stop;
static int64_t g_start;

static void publish(struct published* p, clockid_t own) {
  atomic_store(&p->value, now_ns(own));
  atomic_fetch_add(&p->count, 1);
}

static void* burner(void* arg) {
  (void)arg;
  publish(&g_thread_pub, CLOCK_THREAD_CPUTIME_ID);
  while (!atomic_load(&g_stop)) {
    burn_cpu(STEP_NS);
    publish(&g_thread_pub, CLOCK_THREAD_CPUTIME_ID);
    sleep_ns(3000000);
  }
  return NULL;
}

static int64_t read_id(clockid_t id, const char* what) {
  struct timespec ts;
  E2E_CHECK(clock_gettime(id, &ts) == 0, "clock_gettime(%s, id %d): %s", what,
            (int)id, strerror(errno));
  int64_t v = ts_ns(ts);
  int64_t bound = 2 * (now_ns(CLOCK_MONOTONIC) - g_start) + 100000000LL;
  E2E_CHECK(v >= 0 && v <= bound, "%s reads %lld ns, %lld ns since start", what,
            (long long)v, (long long)bound);
  return v;
}

struct owner {
  const char* what;
  clockid_t held;              /* made before the checkpoint */
  clockid_t reference;         /* >= 0: a clock of ours to bracket with */
  struct published* published; /* else: what the owner publishes */
  int64_t prev;                /* last value read through `held` */
  long drops;                  /* times it went back with its owner */
};

static struct owner g_owners[4];
static const int g_nowners = 4;
static long g_ticks;

/* One reading of o->held bracketed by the owner's own: 1 if it lies
 * between them. */
static int bracketed(struct owner* o, int64_t* value, int64_t* lo,
                     int64_t* hi) {
  if (o->reference >= 0) {
    *lo = now_ns(o->reference);
    *value = read_id(o->held, o->what);
    *hi = now_ns(o->reference);
  } else {
    *lo = atomic_load(&o->published->value);
    *value = read_id(o->held, o->what);
    *hi = atomic_load(&o->published->value) + SLACK_NS;
  }
  return *lo <= *value && *value <= *hi;
}

static void wait_published(struct published* p, long n) {
  long c0 = atomic_load(&p->count);
  int64_t end = now_ns(CLOCK_MONOTONIC) + 5000000000LL;
  while (atomic_load(&p->count) < c0 + n && now_ns(CLOCK_MONOTONIC) < end) {
    sleep_ns(1000000);
  }
}

static void check_owner(struct owner* o) {
  int64_t v, lo, hi;
  if (!bracketed(o, &v, &lo, &hi)) {
    /* Only where the owner has not published from its clock of now yet
     * (right after a restart its clock starts again): once it has, the
     * bracket must hold. */
    E2E_CHECK(o->published != NULL, "%s reads %lld ns, its owner %lld..%lld",
              o->what, (long long)v, (long long)lo, (long long)hi);
    wait_published(o->published, 2);
    E2E_CHECK(bracketed(o, &v, &lo, &hi),
              "%s reads %lld ns, its owner %lld..%lld (after it published "
              "again)",
              o->what, (long long)v, (long long)lo, (long long)hi);
  }
  if (v < o->prev) {
    /* Back in time: only with its owner's own clock (a restart), which
     * the bracket just showed reads the same. */
    E2E_CHECK(lo < o->prev, "%s went back from %lld to %lld ns alone", o->what,
              (long long)o->prev, (long long)v);
    ++o->drops;
  }
  o->prev = v;
}

static void tick(void) {
  for (int i = 0; i < g_nowners; ++i) {
    check_owner(&g_owners[i]);
  }
  ++g_ticks;
}

int main(void) {
  g_start = now_ns(CLOCK_MONOTONIC);
  g_child_pub = mmap(NULL, sizeof *g_child_pub, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  E2E_CHECK(g_child_pub != MAP_FAILED, "mmap: %s", strerror(errno));
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with us, also on a FAIL */
    if (getppid() == 1) {
      _exit(0);
    }
    publish(g_child_pub, CLOCK_PROCESS_CPUTIME_ID);
    for (;;) {
      burn_cpu(STEP_NS);
      publish(g_child_pub, CLOCK_PROCESS_CPUTIME_ID);
      sleep_ns(3000000);
    }
  }
  E2E_CHECK(child > 0, "fork: %s", strerror(errno));
  pthread_t thread;
  E2E_CHECK(pthread_create(&thread, NULL, burner, NULL) == 0, "pthread_create");
  wait_published(&g_thread_pub, 1);
  wait_published(g_child_pub, 1);

  clockid_t self, main_thread, second, of_child;
  E2E_CHECK(clock_getcpuclockid(getpid(), &self) == 0,
            "clock_getcpuclockid(self)");
  E2E_CHECK(pthread_getcpuclockid(pthread_self(), &main_thread) == 0,
            "pthread_getcpuclockid(main)");
  E2E_CHECK(pthread_getcpuclockid(thread, &second) == 0,
            "pthread_getcpuclockid(thread)");
  E2E_CHECK(clock_getcpuclockid(child, &of_child) == 0,
            "clock_getcpuclockid(child)");
  g_owners[0] = (struct owner){"this process", self, CLOCK_PROCESS_CPUTIME_ID,
                               NULL,           0,    0};
  g_owners[1] = (struct owner){
      "main thread", main_thread, CLOCK_THREAD_CPUTIME_ID, NULL, 0, 0};
  g_owners[2] =
      (struct owner){"second thread", second, -1, &g_thread_pub, 0, 0};
  g_owners[3] = (struct owner){"child", of_child, -1, g_child_pub, 0, 0};
  for (int i = 0; i < 20; ++i) {
    tick();
    sleep_ns(10000000);
  }

  e2e_say("READY");
  e2e_wait_for_go(tick);
  for (int i = 0; i < 20; ++i) {
    tick();
    sleep_ns(10000000);
  }

  /* Ids made now: the same as the held ones, and as good. */
  clockid_t now_self, now_main, now_second, now_child;
  E2E_CHECK(clock_getcpuclockid(getpid(), &now_self) == 0 &&
                pthread_getcpuclockid(pthread_self(), &now_main) == 0 &&
                pthread_getcpuclockid(thread, &now_second) == 0 &&
                clock_getcpuclockid(child, &now_child) == 0,
            "making ids after go: %s", strerror(errno));
  E2E_CHECK(now_self == self && now_main == main_thread &&
                now_second == second && now_child == of_child,
            "ids after go %d %d %d %d, before %d %d %d %d", (int)now_self,
            (int)now_main, (int)now_second, (int)now_child, (int)self,
            (int)main_thread, (int)second, (int)of_child);
  for (int i = 0; i < g_nowners; ++i) {
    struct timespec res;
    E2E_CHECK(clock_getres(g_owners[i].held, &res) == 0, "clock_getres(%s): %s",
              g_owners[i].what, strerror(errno));
  }
  /* 5 ms of the child's CPU time, through the held id. */
  int64_t c0 = read_id(of_child, "child");
  struct timespec five = ns_ts(5000000);
  int r = clock_nanosleep(of_child, 0, &five, NULL);
  E2E_CHECK(r == 0, "clock_nanosleep(child clock): %s", strerror(r));
  int64_t slept = read_id(of_child, "child") - c0;
  E2E_CHECK(slept >= 5000000LL, "slept %lld ns of the child's CPU time",
            (long long)slept);
  printf("%ld ticks; went back with their owner:", g_ticks);
  for (int i = 0; i < g_nowners; ++i) {
    printf(" %s %ld%s", g_owners[i].what, g_owners[i].drops,
           i + 1 < g_nowners ? "," : "\n");
  }

  atomic_store(&g_stop, 1);
  pthread_join(thread, NULL);
  kill(child, SIGKILL);
  int status;
  E2E_CHECK(waitpid(child, &status, 0) == child, "waitpid");
  e2e_say("PASS");
  return 0;
}
