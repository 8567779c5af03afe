/* One epoll set with a target of every kind, each with its own event mask
 * and 64-bit data: a pipe's two ends, a FIFO, a pty master, a UNIX socket,
 * an eventfd (EPOLLEXCLUSIVE), a periodic timerfd, a signalfd (an armed
 * one-shot), an inotify instance, a nested epoll set, a character device
 * (/dev/random); the masks use EPOLLIN/OUT/PRI/RDHUP, EPOLLET,
 * EPOLLONESHOT, EPOLLEXCLUSIVE and EPOLLWAKEUP (which the kernel drops
 * without CAP_BLOCK_SUSPEND).  After the go the interest list in
 * /proc/self/fdinfo is exactly what it was before the checkpoint (target
 * fd, events as the kernel holds them, data), and each target reports an
 * event made after the go with its own data.  Regular files cannot be in
 * an epoll set (EPERM): checked too.  Two real-time signals queued with
 * values before READY are pending at the checkpoint: the signalfd reads
 * them after the go, values and order intact (with the SIGUSR1 raised
 * after the go first: the lowest signal number comes out first). */
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "event_test.h"

#define DATA(tag) (0xA5A5000000000000ull | ((uint64_t)(tag) << 16) | (tag))

enum { kPipeIn = 1, kPipeOut, kFifo, kPty, kSock, kEfd, kTimer, kSig, kIno,
       kNested, kDev, kN };

struct reg {
  int fd;
  uint32_t events;
  uint32_t want;  /* the bit the event made after the go must show */
};
static struct reg regs[kN];
static int ep, inner, inner_efd, p[2], fifo, ptm, pts, sv[2], efd, tfd, sfd,
    ino, dev;
static char dir[4096];

struct line {
  int tfd;
  uint32_t events;
  unsigned long long data;
};

static int by_tfd(const void* a, const void* b) {
  const struct line* x = a;
  const struct line* y = b;
  if (x->tfd != y->tfd) {
    return x->tfd - y->tfd;
  }
  return (x->data > y->data) - (x->data < y->data);
}

/* The interest list of `set` as fdinfo shows it, sorted by target fd. */
static int interest(int set, struct line* out, int cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", set);
  FILE* f = fopen(path, "re");
  E2E_CHECK(f != NULL, "open %s: %s", path, strerror(errno));
  char buf[512];
  int n = 0;
  while (fgets(buf, sizeof buf, f) != NULL) {
    struct line l;
    if (sscanf(buf, "tfd: %d events: %x data: %llx", &l.tfd, &l.events,
               &l.data) == 3) {
      E2E_CHECK(n < cap, "too many registrations");
      out[n++] = l;
    }
  }
  fclose(f);
  qsort(out, n, sizeof *out, by_tfd);
  return n;
}

static void add(int tag, int fd, uint32_t events, uint32_t want) {
  struct epoll_event ev = {.events = events, .data.u64 = DATA(tag)};
  E2E_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "add tag %d fd %d: %s",
            tag, fd, strerror(errno));
  regs[tag] = (struct reg){fd, events, want};
}

int main(void) {
  snprintf(dir, sizeof dir, "%s/kinds", test_dir());
  E2E_CHECK(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));
  char fifo_path[4200];
  snprintf(fifo_path, sizeof fifo_path, "%s/fifo", test_dir());
  E2E_CHECK(mkfifo(fifo_path, 0600) == 0, "mkfifo: %s", strerror(errno));
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigaddset(&m, SIGRTMIN + 2);
  sigprocmask(SIG_BLOCK, &m, NULL);

  ep = epoll_create1(0);
  inner = epoll_create1(EPOLL_CLOEXEC);
  inner_efd = eventfd(0, EFD_NONBLOCK);
  struct epoll_event iev = {.events = EPOLLIN, .data.u64 = 7};
  E2E_CHECK(epoll_ctl(inner, EPOLL_CTL_ADD, inner_efd, &iev) == 0, "inner");
  E2E_CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe2");
  fifo = open(fifo_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  ptm = posix_openpt(O_RDWR | O_NOCTTY);
  E2E_CHECK(fifo >= 0 && ptm >= 0 && grantpt(ptm) == 0 && unlockpt(ptm) == 0,
            "fifo/pty: %s", strerror(errno));
  pts = open(ptsname(ptm), O_RDWR | O_NOCTTY);
  E2E_CHECK(pts >= 0, "pty slave: %s", strerror(errno));
  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0,
            "socketpair");
  efd = eventfd(0, EFD_NONBLOCK);
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct itimerspec its = {{0, 50000000}, {0, 50000000}};
  E2E_CHECK(tfd >= 0 && timerfd_settime(tfd, 0, &its, NULL) == 0, "timerfd");
  sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
  ino = inotify_init1(IN_NONBLOCK);
  E2E_CHECK(ino >= 0 && inotify_add_watch(ino, dir, IN_CREATE) == 1,
            "inotify: %s", strerror(errno));
  dev = open("/dev/random", O_RDONLY | O_NONBLOCK);
  E2E_CHECK(sfd >= 0 && dev >= 0, "signalfd/dev: %s", strerror(errno));

  add(kPipeIn, p[0], EPOLLIN | EPOLLRDHUP, EPOLLIN);
  add(kPipeOut, p[1], EPOLLOUT | EPOLLET, EPOLLOUT);
  add(kFifo, fifo, EPOLLIN | EPOLLPRI, EPOLLIN);
  add(kPty, ptm, EPOLLIN | EPOLLWAKEUP, EPOLLIN);
  add(kSock, sv[0], EPOLLIN | EPOLLRDHUP | EPOLLPRI | EPOLLET, EPOLLIN);
  add(kEfd, efd, EPOLLIN | EPOLLEXCLUSIVE, EPOLLIN);
  add(kTimer, tfd, EPOLLIN | EPOLLWAKEUP | EPOLLET, EPOLLIN);
  add(kSig, sfd, EPOLLIN | EPOLLONESHOT, EPOLLIN);
  add(kIno, ino, EPOLLIN | EPOLLET, EPOLLIN);
  add(kNested, inner, EPOLLIN, EPOLLIN);
  add(kDev, dev, EPOLLIN, EPOLLIN);
  /* A regular file is refused by the kernel: there is nothing to save. */
  char file_path[4200];
  snprintf(file_path, sizeof file_path, "%s/regular", test_dir());
  int file = open(file_path, O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR | O_CLOEXEC,
                  0600);
  struct epoll_event fev = {.events = EPOLLIN};
  E2E_CHECK(file >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, file, &fev) < 0 &&
                errno == EPERM,
            "a regular file in an epoll set: %s", strerror(errno));
  close(file);

  struct line before[32], after[32];
  int nb = interest(ep, before, 32);
  E2E_CHECK(nb == kN - 1, "%d registrations before, want %d", nb, kN - 1);
  printf("interest list (%d):", nb);
  for (int i = 0; i < nb; ++i) {
    printf(" %d:%x", before[i].tfd, before[i].events);
  }
  printf("\n");
  union sigval v1 = {.sival_int = 111}, v2 = {.sival_int = 222};
  E2E_CHECK(sigqueue(getpid(), SIGRTMIN + 2, v1) == 0 &&
                sigqueue(getpid(), SIGRTMIN + 2, v2) == 0,
            "sigqueue: %s", strerror(errno));
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  int na = interest(ep, after, 32);
  E2E_CHECK(na == nb, "%d registrations after, %d before", na, nb);
  for (int i = 0; i < nb; ++i) {
    E2E_CHECK(after[i].tfd == before[i].tfd &&
                  after[i].events == before[i].events &&
                  after[i].data == before[i].data,
              "registration %d: tfd %d events %#x data %#llx, was tfd %d "
              "events %#x data %#llx",
              i, after[i].tfd, after[i].events, after[i].data, before[i].tfd,
              before[i].events, before[i].data);
  }
  /* An event on each target, each reported with its own data. */
  char c = 'x';
  E2E_CHECK(write(p[1], &c, 1) == 1, "write pipe");
  E2E_CHECK(write(fifo, &c, 1) == 1, "write fifo: %s", strerror(errno));
  E2E_CHECK(write(pts, "y\n", 2) == 2, "write pty slave: %s", strerror(errno));
  E2E_CHECK(write(sv[1], &c, 1) == 1, "write socket: %s", strerror(errno));
  efd_write(efd, 3);
  E2E_CHECK(raise(SIGUSR1) == 0, "raise");
  char f[4200];
  snprintf(f, sizeof f, "%s/after-go", dir);
  int made = open(f, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
  E2E_CHECK(made >= 0, "create %s: %s", f, strerror(errno));
  close(made);
  efd_write(inner_efd, 1);
  int seen[kN] = {0};
  int have = 0;
  /* Up to 5 s: /dev/random is always ready, so count time, not calls. */
  for (int tries = 0; have < kN - 1 && tries < 5000; ++tries) {
    usleep(1000);
    struct epoll_event ev[32];
    int r = epoll_wait(ep, ev, 32, 100);
    E2E_CHECK(r >= 0, "epoll_wait: %s", strerror(errno));
    for (int i = 0; i < r; ++i) {
      int tag = (int)(ev[i].data.u64 & 0xffff);
      E2E_CHECK(tag > 0 && tag < kN && ev[i].data.u64 == DATA(tag),
                "data %#llx mangled", (unsigned long long)ev[i].data.u64);
      E2E_CHECK((ev[i].events & regs[tag].want) != 0,
                "tag %d: events %#x lack %#x", tag, ev[i].events,
                regs[tag].want);
      if (!seen[tag]) {
        seen[tag] = 1;
        ++have;
      }
    }
  }
  for (int tag = 1; tag < kN; ++tag) {
    E2E_CHECK(seen[tag], "no event for tag %d (fd %d)", tag, regs[tag].fd);
  }
  /* The armed one-shot fired once and is disarmed now. */
  struct line now[32];
  interest(ep, now, 32);
  for (int i = 0; i < nb; ++i) {
    if (now[i].tfd == sfd) {
      E2E_CHECK(now[i].events == EPOLLONESHOT, "signalfd one-shot %#x",
                now[i].events);
    }
  }
  int want_sig[3] = {SIGUSR1, SIGRTMIN + 2, SIGRTMIN + 2};
  int want_val[3] = {0, 111, 222};
  for (int i = 0; i < 3; ++i) {
    struct signalfd_siginfo si;
    E2E_CHECK(read(sfd, &si, sizeof si) == sizeof si, "signal %d: %s", i,
              strerror(errno));
    E2E_CHECK((int)si.ssi_signo == want_sig[i] &&
                  (i == 0 || si.ssi_int == want_val[i]),
              "signal %d: %u value %d, want %d value %d", i, si.ssi_signo,
              si.ssi_int, want_sig[i], want_val[i]);
  }
  struct signalfd_siginfo extra;
  E2E_CHECK(read(sfd, &extra, sizeof extra) < 0 && errno == EAGAIN,
            "a signal too many");
  E2E_CHECK((fcntl(sfd, F_GETFD) & FD_CLOEXEC) != 0 &&
                (fcntl(sfd, F_GETFL) & O_NONBLOCK) != 0,
            "signalfd flags");
  E2E_CHECK((fcntl(inner, F_GETFD) & FD_CLOEXEC) != 0, "inner lost CLOEXEC");
  printf("%d registrations, %d events\n", na, have);
  e2e_say("PASS");
  return 0;
}
