/* What the kernel shares with the process works after a restart, in the
 * main thread and in a re-created one:
 *  - the vDSO and its data pages: clock_gettime and gettimeofday (vDSO
 *    calls) agree with the clock_gettime system call;
 *  - glibc's rseq registration: the kernel keeps rseq.cpu_id current, so
 *    when the thread is moved to each CPU it may run on, cpu_id and
 *    sched_getcpu() (which reads it) name that CPU.  Without a new
 *    registration after restart, cpu_id would stay whatever the image
 *    held. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "e2e.h"

static double seconds(const struct timespec *t) {
  return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static void check_clock(clockid_t clock, const char *name, const char *who) {
  struct timespec by_vdso, by_syscall;
  E2E_CHECK(clock_gettime(clock, &by_vdso) == 0, "%s: clock_gettime", who);
  E2E_CHECK(syscall(SYS_clock_gettime, clock, &by_syscall) == 0,
            "%s: SYS_clock_gettime", who);
  double gap = seconds(&by_syscall) - seconds(&by_vdso);
  E2E_CHECK(gap >= 0 && gap < 0.05, "%s: %s vDSO %.6f vs kernel %.6f", who,
            name, seconds(&by_vdso), seconds(&by_syscall));
}

static void check_time_of_day(const char *who) {
  struct timeval tv;
  E2E_CHECK(gettimeofday(&tv, NULL) == 0, "%s: gettimeofday", who);
  struct timespec k;
  syscall(SYS_clock_gettime, CLOCK_REALTIME, &k);
  double gap = seconds(&k) - ((double)tv.tv_sec + (double)tv.tv_usec / 1e6);
  E2E_CHECK(gap > -0.001 && gap < 0.05, "%s: gettimeofday off by %.6f s",
            who, gap);
}

static void check_rseq(const char *who) {
  if (__rseq_size == 0) {
    return; /* glibc was told not to register rseq */
  }
  volatile struct rseq *rs =
      (volatile struct rseq *)((char *)__builtin_thread_pointer() +
                               __rseq_offset);
  cpu_set_t allowed;
  E2E_CHECK(sched_getaffinity(0, sizeof allowed, &allowed) == 0,
            "%s: sched_getaffinity", who);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) {
      continue;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    E2E_CHECK(sched_setaffinity(0, sizeof one, &one) == 0,
              "%s: pin to cpu %d", who, cpu);
    sched_yield();
    E2E_CHECK((int)rs->cpu_id == cpu, "%s: rseq cpu_id %d on cpu %d", who,
              (int)rs->cpu_id, cpu);
    E2E_CHECK(sched_getcpu() == cpu, "%s: sched_getcpu %d on cpu %d", who,
              sched_getcpu(), cpu);
  }
  E2E_CHECK(sched_setaffinity(0, sizeof allowed, &allowed) == 0,
            "%s: unpin", who);
}

static void check_all(const char *who) {
  check_clock(CLOCK_MONOTONIC, "CLOCK_MONOTONIC", who);
  check_clock(CLOCK_REALTIME, "CLOCK_REALTIME", who);
  check_clock(CLOCK_BOOTTIME, "CLOCK_BOOTTIME", who);
  check_time_of_day(who);
  check_rseq(who);
}

static void *second_thread(void *arg) {
  (void)arg;
  check_all("thread before");
  while (!e2e_go_seen()) {
    usleep(10000);
  }
  check_all("thread after");
  return NULL;
}

int main(void) {
  pthread_t t;
  E2E_CHECK(pthread_create(&t, NULL, second_thread, NULL) == 0, "create");
  check_all("main before");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  check_all("main after");
  E2E_CHECK(pthread_join(t, NULL) == 0, "join");
  e2e_say("PASS");
  return 0;
}
