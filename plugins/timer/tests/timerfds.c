/* timerfds across checkpoint and restart, checked every tick through the
 * fd numbers opened before the checkpoint:
 *  - a 20 ms periodic CLOCK_MONOTONIC timerfd, read every tick: after go
 *    it must count at its period, and no read may return a burst (the
 *    restart gap must not be delivered);
 *  - a one-hour CLOCK_BOOTTIME timerfd: time left shrinks, never resets,
 *    and does not lose the time the computation was down (--down);
 *  - a one-hour TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET CLOCK_REALTIME
 *    timerfd: keeps its absolute expiry and its flags;
 *  - a 30 ms one-shot timerfd that expired before READY and is read only
 *    after go: its expiration is not lost (exactly 1);
 *  - 40 of the same kind shared with a child after fork: the child reads
 *    each after go, then the parent must find each consumed (one
 *    description, not two copies; more than one batch of requests to
 *    the process that re-makes them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "e2e.h"
#include "timer_test.h"

#define PERIOD_NS 20000000LL
#define HOUR_NS 3600000000000LL

#define SHARED 40

static int g_periodic, g_hour, g_abs, g_unread, g_shared[SHARED];
static int64_t g_abs_expiry, g_prev_hour = HOUR_NS;
static long g_count, g_max_burst;

static int make(clockid_t clock, int flags, int64_t value, int64_t interval) {
  int fd = timerfd_create(clock, TFD_CLOEXEC | TFD_NONBLOCK);
  E2E_CHECK(fd >= 0, "timerfd_create: %s", strerror(errno));
  struct itimerspec its = {ns_ts(interval), ns_ts(value)};
  E2E_CHECK(timerfd_settime(fd, flags, &its, NULL) == 0, "timerfd_settime: %s",
            strerror(errno));
  return fd;
}

static int64_t left_ns(int fd, const char* what) {
  struct itimerspec its;
  E2E_CHECK(timerfd_gettime(fd, &its) == 0, "timerfd_gettime(%s): %s", what,
            strerror(errno));
  return ts_ns(its.it_value);
}

static void read_periodic(void) {
  uint64_t n;
  ssize_t r = read(g_periodic, &n, sizeof n);
  if (r < 0) {
    E2E_CHECK(errno == EAGAIN, "read(periodic): %s", strerror(errno));
    return;
  }
  E2E_CHECK(r == sizeof n, "read(periodic): %zd bytes", r);
  g_count += (long)n;
  if ((long)n > g_max_burst) {
    g_max_burst = (long)n;
  }
}

static void tick(void) {
  read_periodic();
  int64_t h = left_ns(g_hour, "one hour");
  E2E_CHECK(h > 0 && h <= g_prev_hour, "one-hour timerfd: %lld after %lld",
            (long long)h, (long long)g_prev_hour);
  /* The time down before a restart does not count (harness --down). */
  int64_t down = test_down_ns();
  E2E_CHECK(down == 0 || g_prev_hour - h < down * 5 / 6,
            "one-hour timerfd lost %lld ns at once (down %lld)",
            (long long)(g_prev_hour - h), (long long)down);
  g_prev_hour = h;
  int64_t a = left_ns(g_abs, "absolute");
  int64_t want = g_abs_expiry - now_ns(CLOCK_REALTIME);
  E2E_CHECK(llabs(a - want) < 100000000LL,
            "absolute timerfd: %lld left, expiry says %lld", (long long)a,
            (long long)want);
  E2E_CHECK(g_max_burst < 50, "one read returned %ld expirations",
            g_max_burst);
}

static void check_rate(int64_t ns) {
  /* Expirations before the window (after a resume: the ones during the
   * checkpoint, which really passed) are not the window's. */
  read_periodic();
  long c0 = g_count;
  int64_t start = now_ns(CLOCK_MONOTONIC);
  while (now_ns(CLOCK_MONOTONIC) - start < ns) {
    sleep_ns(10000000);
    tick();
  }
  read_periodic();
  int64_t took = now_ns(CLOCK_MONOTONIC) - start;
  long want = (long)(took / PERIOD_NS), c = g_count - c0;
  printf("in %lld ms: %ld expirations (period says %ld)\n",
         (long long)(took / 1000000), c, want);
  E2E_CHECK(c >= want - 2 && c <= want + 2, "periodic timerfd: %ld", c);
}

/* /proc/self/fdinfo's "settime flags:" of fd. */
static int settime_flags(int fd) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  FILE* f = fopen(path, "r");
  E2E_CHECK(f != NULL, "%s", path);
  int flags = -1;
  while (fgets(buf, sizeof buf, f) != NULL) {
    sscanf(buf, "settime flags: %o", (unsigned*)&flags);
  }
  fclose(f);
  return flags;
}

static int read_one(int fd, uint64_t* n) {
  ssize_t r = read(fd, n, sizeof *n);
  return r == sizeof *n ? 0 : -1;
}

int main(void) {
  for (int i = 0; i < SHARED; ++i) {
    g_shared[i] = make(CLOCK_MONOTONIC, 0, 30000000LL, 0);
  }
  pid_t child = fork();
  if (child == 0) {
    e2e_wait_for_go(NULL);
    for (int i = 0; i < SHARED; ++i) {
      uint64_t n = 0;
      if (read_one(g_shared[i], &n) != 0 || n != 1) {
        printf("FAIL: child read %llu from shared timerfd %d (fd %d: %s)\n",
               (unsigned long long)n, i, g_shared[i], strerror(errno));
        fflush(stdout);
        _exit(1);
      }
    }
    _exit(0);
  }
  g_periodic = make(CLOCK_MONOTONIC, 0, PERIOD_NS, PERIOD_NS);
  g_hour = make(CLOCK_BOOTTIME, 0, HOUR_NS, 0);
  g_abs_expiry = now_ns(CLOCK_REALTIME) + HOUR_NS;
  g_abs = make(CLOCK_REALTIME, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
               g_abs_expiry, 0);
  g_unread = make(CLOCK_MONOTONIC, 0, 30000000LL, 0);
  E2E_CHECK(settime_flags(g_abs) == 3, "settime flags %o", settime_flags(g_abs));

  check_rate(300000000LL);
  e2e_say("READY");
  e2e_wait_for_go(tick);
  check_rate(600000000LL);

  uint64_t n = 0;
  E2E_CHECK(read_one(g_unread, &n) == 0 && n == 1,
            "unread one-shot timerfd: read %llu (%s)", (unsigned long long)n,
            strerror(errno));
  E2E_CHECK(read_one(g_unread, &n) == -1 && errno == EAGAIN,
            "one-shot timerfd fired twice");
  E2E_CHECK(settime_flags(g_abs) == 3, "settime flags after: %o",
            settime_flags(g_abs));
  int fl = fcntl(g_periodic, F_GETFL);
  E2E_CHECK(fl >= 0 && (fl & O_NONBLOCK) != 0, "O_NONBLOCK lost");
  int fdfl = fcntl(g_periodic, F_GETFD);
  E2E_CHECK(fdfl >= 0 && (fdfl & FD_CLOEXEC) != 0, "FD_CLOEXEC lost");
  int status;
  E2E_CHECK(waitpid(child, &status, 0) == child, "waitpid");
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "child status %#x", status);
  for (int i = 0; i < SHARED; ++i) {
    E2E_CHECK(read_one(g_shared[i], &n) == -1 && errno == EAGAIN,
              "the child's read did not consume shared timerfd %d (fd %d: "
              "%llu, %s)",
              i, g_shared[i], (unsigned long long)n, strerror(errno));
  }
  e2e_say("PASS");
  return 0;
}
