/* One epoll set holding a pipe, an eventfd carrying a value from tick to
 * tick, a signalfd raised each tick and an inotify watch on a directory
 * where a file is created each tick, each with its own data; a removed fd
 * written each tick that must never be reported; an edge-triggered pipe;
 * a one-shot that already fired (disarmed, its data still unread) and an
 * armed one; a target registered under an fd since closed (its file held
 * by a dup); the set nested in a second one; a periodic timerfd (20 ms),
 * which must fire in every tick (and may fire any time: its events are
 * never "unexpected").  Sockets of every kind are in event.epoll_kinds
 * and socket.asyncio.
 *
 * The inotify step of a tick runs with checkpoints held off
 * (dmtcp_disable_ckpt): an inotify event unread at a checkpoint does not
 * come back after a restart (docs/event.md). */
#include <signal.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "dmtcp.h"
#include "event_test.h"

enum {
  kPipe = 0xA1, kEfd = 0xB2, kSig = 0xC3, kIno = 0xD4, kRemoved = 0xE0,
  kEt = 0xE5, kOneFired = 0x0F1, kOneArmed = 0x0F2, kClosed = 0x77,
  kNested = 0xF6, kTimer = 0x71
};
#define DATA(tag) (0x1122334400000000ull | (tag))
#define CLOSED_FD 100

static int ep, ep2, p[2], efd, sfd, ino, rm[2], et[2], of[2], oa, cb[2], cbdup,
    tfd;
static unsigned ticks;
static char dir[4096];

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The number of checkpoints and restarts this process has been through. */
static int rounds(void) {
  int ckpts = 0, restarts = 0;
  dmtcp_get_local_status(&ckpts, &restarts);
  return ckpts + restarts;
}

/* Waits for exactly the tags in want[] (and no other), up to 5 s (by the
 * clock: level-triggered targets already reported make every call return
 * at once, while the timer needs its 20 ms).  A checkpoint in between
 * starts the 5 s again: CLOCK_MONOTONIC runs on while the process is
 * killed and restarted, which may take longer than the window. */
static void expect(int set, const int* want, int n) {
  int got[16] = {0};
  int have = 0;
  int seen_rounds = rounds();
  for (double end = now_s() + 5;;) {
    if (rounds() != seen_rounds) {
      seen_rounds = rounds();
      end = now_s() + 5;
    }
    if (have == n || now_s() >= end) {
      break;
    }
    struct epoll_event ev[16];
    int r = epoll_wait(set, ev, 16, have == 0 ? 5000 : 10);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    E2E_CHECK(r >= 0, "epoll_wait: %s", strerror(errno));
    for (int i = 0; i < r; ++i) {
      int tag = (int)(ev[i].data.u64 & 0xffff);
      E2E_CHECK((ev[i].data.u64 & ~0xffffull) == DATA(0),
                "tick %u: data %llx mangled", ticks,
                (unsigned long long)ev[i].data.u64);
      int known = tag == kTimer;  /* periodic: always allowed */
      for (int j = 0; j < n; ++j) {
        if (want[j] == tag) {
          known = 1;
          if (!got[j]) {
            got[j] = 1;
            ++have;
          }
        }
      }
      E2E_CHECK(known, "tick %u: unexpected event for %#x (events %#x)", ticks,
                tag, ev[i].events);
    }
  }
  for (int j = 0; j < n; ++j) {
    E2E_CHECK(got[j], "tick %u: no event for %#x", ticks, want[j]);
  }
}

static void expect_none(int set) {
  struct epoll_event ev[16];
  int r;
  while ((r = epoll_wait(set, ev, 16, 0)) < 0 && errno == EINTR) {
  }
  E2E_CHECK(r >= 0, "epoll_wait: %s", strerror(errno));
  for (int i = 0; i < r; ++i) {
    E2E_CHECK(ev[i].data.u64 == DATA(kTimer),
              "tick %u: %d unexpected events, one %#llx", ticks, r,
              (unsigned long long)ev[i].data.u64);
  }
}

static void tick(void) {
  ++ticks;
  /* inotify, with checkpoints held off. */
  dmtcp_disable_ckpt();
  char path[4200];
  snprintf(path, sizeof path, "%s/f%u", dir, ticks);
  /* The process killed after the checkpoint may have made it already. */
  unlink(path);
  int f = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  E2E_CHECK(f >= 0, "create %s: %s", path, strerror(errno));
  close(f);
  int want_ino[] = {kIno};
  expect(ep, want_ino, 1);
  char buf[4096];
  ssize_t n = read(ino, buf, sizeof buf);
  struct inotify_event* ie = (struct inotify_event*)buf;
  E2E_CHECK(n >= (ssize_t)sizeof *ie && (ie->mask & IN_CREATE) &&
                ie->wd == 1 && strcmp(ie->name, path + strlen(dir) + 1) == 0,
            "tick %u: inotify event wrong (n %zd wd %d mask %#x)", ticks, n,
            ie->wd, ie->mask);
  dmtcp_enable_ckpt();
  /* Everything else, with a checkpoint possibly anywhere in between. */
  char c = (char)ticks;
  E2E_CHECK(write(p[1], &c, 1) == 1, "write pipe");
  efd_write(efd, ticks);
  union sigval v = {.sival_int = (int)ticks};
  E2E_CHECK(sigqueue(getpid(), SIGUSR1, v) == 0, "sigqueue");
  E2E_CHECK(write(rm[1], &c, 1) == 1, "write removed");
  E2E_CHECK(write(cb[1], &c, 1) == 1, "write closed-target pipe");
  E2E_CHECK(write(et[1], &c, 1) == 1, "write et");
  int want_nested[] = {kNested};
  expect(ep2, want_nested, 1);
  int want[] = {kPipe, kEfd, kSig, kClosed, kEt, kTimer};
  expect(ep, want, 6);
  char got;
  E2E_CHECK(read(p[0], &got, 1) == 1 && got == c, "tick %u: pipe byte", ticks);
  E2E_CHECK(efd_read(efd) == ticks, "tick %u: eventfd value", ticks);
  struct signalfd_siginfo si;
  E2E_CHECK(read(sfd, &si, sizeof si) == sizeof si, "read signalfd: %s",
            strerror(errno));
  E2E_CHECK(si.ssi_signo == SIGUSR1 && si.ssi_int == (int)ticks,
            "tick %u: signal %u value %d", ticks, si.ssi_signo, si.ssi_int);
  E2E_CHECK(read(cbdup, &got, 1) == 1 && got == c, "tick %u: closed target",
            ticks);
  E2E_CHECK(read(et[0], &got, 1) == 1 && got == c, "tick %u: et byte", ticks);
  uint64_t expirations = 0;
  E2E_CHECK(read(tfd, &expirations, sizeof expirations) == sizeof expirations &&
                expirations >= 1,
            "tick %u: timerfd: %s", ticks, strerror(errno));
  expect_none(ep);
}

static void add(int set, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  E2E_CHECK(epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) == 0, "add %d: %s", fd,
            strerror(errno));
}

int main(void) {
  snprintf(dir, sizeof dir, "%s/watched", test_dir());
  E2E_CHECK(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigprocmask(SIG_BLOCK, &m, NULL);
  ep = epoll_create1(EPOLL_CLOEXEC);
  ep2 = epoll_create1(0);
  E2E_CHECK(pipe2(p, O_NONBLOCK) == 0 && pipe2(rm, O_NONBLOCK) == 0 &&
                pipe2(et, O_NONBLOCK) == 0 && pipe2(of, O_NONBLOCK) == 0 &&
                pipe2(cb, O_NONBLOCK) == 0,
            "pipe2");
  efd = eventfd(0, EFD_NONBLOCK);
  oa = eventfd(0, EFD_NONBLOCK);
  sfd = signalfd(-1, &m, SFD_NONBLOCK);
  ino = inotify_init1(IN_NONBLOCK);
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec its = {{0, 20000000}, {0, 20000000}};
  E2E_CHECK(tfd >= 0 && timerfd_settime(tfd, 0, &its, NULL) == 0,
            "timerfd: %s", strerror(errno));
  E2E_CHECK(ino >= 0 && inotify_add_watch(ino, dir, IN_CREATE) == 1,
            "inotify: %s", strerror(errno));
  add(ep, p[0], EPOLLIN, DATA(kPipe));
  add(ep, efd, EPOLLIN, DATA(kEfd));
  add(ep, sfd, EPOLLIN, DATA(kSig));
  add(ep, ino, EPOLLIN, DATA(kIno));
  add(ep, tfd, EPOLLIN, DATA(kTimer));
  add(ep, rm[0], EPOLLIN, DATA(kRemoved));
  E2E_CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, rm[0], NULL) == 0, "del");
  add(ep, et[0], EPOLLIN | EPOLLET, DATA(kEt));
  add(ep, of[0], EPOLLIN | EPOLLONESHOT, DATA(kOneFired));
  add(ep, oa, EPOLLIN | EPOLLONESHOT, DATA(kOneArmed));
  E2E_CHECK(dup2(cb[0], CLOSED_FD) == CLOSED_FD, "dup2");
  add(ep, CLOSED_FD, EPOLLIN, DATA(kClosed));
  close(CLOSED_FD);
  cbdup = cb[0];
  add(ep2, ep, EPOLLIN, DATA(kNested));
  /* The one-shot fires now and is disarmed; its byte stays unread. */
  E2E_CHECK(write(of[1], "x", 1) == 1, "write oneshot");
  int want_of[] = {kOneFired};
  expect(ep, want_of, 1);
  tick();
  e2e_say("READY");
  e2e_wait_for_go(tick);
  tick();
  /* Edge-triggered: a new write is reported once, unread data is not. */
  E2E_CHECK(write(et[1], "ab", 2) == 2, "write et");
  int want_et[] = {kEt};
  expect(ep, want_et, 1);
  char b;
  E2E_CHECK(read(et[0], &b, 1) == 1, "read et");
  expect_none(ep);
  /* The fired one-shot is still disarmed (its byte unread), and comes
   * back when re-armed. */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
                           .data.u64 = DATA(kOneFired)};
  E2E_CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, of[0], &ev) == 0, "rearm: %s",
            strerror(errno));
  expect(ep, want_of, 1);
  expect_none(ep);
  /* The armed one-shot fires once. */
  efd_write(oa, 9);
  int want_oa[] = {kOneArmed};
  expect(ep, want_oa, 1);
  expect_none(ep);
  /* Registered stays registered, removed stays removed. */
  E2E_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) < 0 && errno == EEXIST,
            "pipe no longer registered");
  E2E_CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, rm[0], NULL) < 0 && errno == ENOENT,
            "removed fd registered again");
  E2E_CHECK((fcntl(ep, F_GETFD) & FD_CLOEXEC) != 0, "ep lost CLOEXEC");
  E2E_CHECK(fcntl(CLOSED_FD, F_GETFD) < 0, "fd %d open after restart",
            CLOSED_FD);
  printf("ticks %u\n", ticks);
  e2e_say("PASS");
  return 0;
}
