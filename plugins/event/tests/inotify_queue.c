/* inotify events queued and unread when the checkpoint comes are read
 * after the go -- after a resume and after a restart as natively --
 * in their order, once, with the wd, mask, cookie and name they had:
 *  - instance A (blocking fd), watches wd 1 and wd 2 on two directories:
 *    events on both, interleaved, among them a rename (IN_MOVED_FROM and
 *    IN_MOVED_TO sharing a cookie); after the go poll() must say it is
 *    readable, and it is read with a buffer that holds one event at a time
 *    (poll is asked again before each read);
 *  - instance B (O_NONBLOCK) in an epoll set: after the go a second thread
 *    waits in epoll_wait for it, which must wake, then reads until EAGAIN.
 * Then each instance has nothing more (B: EAGAIN and epoll_wait(0) empty),
 * and a new event after that is read exactly, alone. */
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "event_test.h"

#define kMask (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)

struct ev {
  int wd;
  uint32_t mask;
  int paired; /* 1: a rename half (cookie non-zero, shared with the other) */
  char name[32];
};

static char base[4096];
static struct ev want_a[64], want_b[64];
static int n_want_a, n_want_b;

static int watch(int fd, const char* name) {
  char p[4200];
  test_path(p, sizeof p, name);
  int wd = inotify_add_watch(fd, p, kMask);
  E2E_CHECK(wd > 0, "watch %s: %s", p, strerror(errno));
  return wd;
}

static void expect(struct ev* w, int* n, int wd, uint32_t mask, int paired,
                   const char* name) {
  w[*n].wd = wd;
  w[*n].mask = mask;
  w[*n].paired = paired;
  snprintf(w[*n].name, sizeof w[*n].name, "%s", name);
  ++*n;
}

/* Creates dir/name; expects IN_CREATE for it on `wd`. */
static void create(const char* dir, const char* name, int wd, struct ev* w,
                   int* n) {
  char p[4200];
  snprintf(p, sizeof p, "%s/%s/%s", base, dir, name);
  int f = open(p, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
  E2E_CHECK(f >= 0, "create %s: %s", p, strerror(errno));
  close(f);
  expect(w, n, wd, IN_CREATE, 0, name);
}

static void rename_in(const char* dir, const char* from, const char* to,
                      int wd, struct ev* w, int* n) {
  char a[4200], b[4200];
  snprintf(a, sizeof a, "%s/%s/%s", base, dir, from);
  snprintf(b, sizeof b, "%s/%s/%s", base, dir, to);
  E2E_CHECK(rename(a, b) == 0, "rename %s: %s", a, strerror(errno));
  expect(w, n, wd, IN_MOVED_FROM, 1, from);
  expect(w, n, wd, IN_MOVED_TO, 1, to);
}

static void remove_in(const char* dir, const char* name, int wd,
                      struct ev* w, int* n) {
  char p[4200];
  snprintf(p, sizeof p, "%s/%s/%s", base, dir, name);
  E2E_CHECK(unlink(p) == 0, "unlink %s: %s", p, strerror(errno));
  expect(w, n, wd, IN_DELETE, 0, name);
}

/* Checks the events in buf[0..len) against want[*i...]. */
static void check_events(const char* what, const char* buf, ssize_t len,
                         const struct ev* want, int n_want, int* i,
                         uint32_t* cookie) {
  for (ssize_t off = 0; off < len;) {
    const struct inotify_event* e = (const struct inotify_event*)(buf + off);
    E2E_CHECK(*i < n_want, "%s: event %d more than the %d made (wd %d mask "
              "%#x name %s)", what, *i, n_want, e->wd, e->mask,
              e->len > 0 ? e->name : "");
    const struct ev* w = &want[*i];
    const char* name = e->len > 0 ? e->name : "";
    E2E_CHECK(e->wd == w->wd && e->mask == w->mask &&
                  strcmp(name, w->name) == 0,
              "%s: event %d is wd %d mask %#x name '%s'; want wd %d mask "
              "%#x name '%s'",
              what, *i, e->wd, e->mask, name, w->wd, w->mask, w->name);
    if (w->paired) {
      E2E_CHECK(e->cookie != 0, "%s: event %d: no cookie", what, *i);
      if (w->mask == IN_MOVED_FROM) {
        *cookie = e->cookie;
      } else {
        E2E_CHECK(e->cookie == *cookie, "%s: cookies %u and %u differ", what,
                  *cookie, e->cookie);
      }
    } else {
      E2E_CHECK(e->cookie == 0, "%s: event %d: cookie %u", what, *i,
                e->cookie);
    }
    ++*i;
    off += (ssize_t)(sizeof *e + e->len);
  }
}

static int ino_a, ino_b, ep;
static int b_seen;
static const char* b_error;

/* Waits in epoll_wait for B, then reads it until EAGAIN. */
static void* b_reader(void* arg) {
  (void)arg;
  struct epoll_event e;
  int n = epoll_wait(ep, &e, 1, 20000);
  if (n != 1 || e.data.u64 != 0xb0b) {
    b_error = n == 0 ? "epoll_wait: B never became readable" : "epoll_wait";
    return NULL;
  }
  char buf[4096] __attribute__((aligned(8)));
  uint32_t cookie = 0;
  for (;;) {
    ssize_t r = read(ino_b, buf, sizeof buf);
    if (r < 0 && errno == EAGAIN) {
      break;
    }
    E2E_CHECK(r > 0, "read B: %s", r < 0 ? strerror(errno) : "eof");
    check_events("B", buf, r, want_b, n_want_b, &b_seen, &cookie);
  }
  return NULL;
}

/* After the queue was read: nothing more is there, and one new event
 * comes alone. */
static void check_only_new(int fd, const char* what, const char* dir,
                           int wd) {
  struct ev w[1];
  int n = 0, i = 0;
  create(dir, what[0] == 'A' ? "late-a" : "late-b", wd, w, &n);
  char buf[4096] __attribute__((aligned(8)));
  ssize_t r = read(fd, buf, sizeof buf);
  E2E_CHECK(r > 0, "%s: read of the late event: %s", what,
            r < 0 ? strerror(errno) : "eof");
  uint32_t cookie = 0;
  check_events(what, buf, r, w, 1, &i, &cookie);
  E2E_CHECK(i == 1, "%s: late event missing", what);
}

int main(void) {
  snprintf(base, sizeof base, "%s", test_dir());
  test_mkdir("a1");
  test_mkdir("a2");
  test_mkdir("b");
  ino_a = inotify_init1(IN_CLOEXEC);
  ino_b = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  E2E_CHECK(ino_a >= 0 && ino_b >= 0, "inotify_init1: %s", strerror(errno));
  int a1 = watch(ino_a, "a1"), a2 = watch(ino_a, "a2");
  int b = watch(ino_b, "b");
  E2E_CHECK(a1 == 1 && a2 == 2 && b == 1, "wds %d %d %d", a1, a2, b);
  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event reg = {.events = EPOLLIN, .data.u64 = 0xb0b};
  E2E_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ino_b, &reg) == 0, "epoll_ctl: %s",
            strerror(errno));

  /* The events, left unread through the checkpoint. */
  char name[32];
  for (int k = 0; k < 6; ++k) {
    snprintf(name, sizeof name, "f%d", k);
    create("a1", name, a1, want_a, &n_want_a);
    snprintf(name, sizeof name, "g%d", k);
    create("a2", name, a2, want_a, &n_want_a);
    snprintf(name, sizeof name, "a-rather-long-file-name-%d", k);
    create("b", name, b, want_b, &n_want_b);
  }
  rename_in("a1", "f0", "renamed", a1, want_a, &n_want_a);
  remove_in("a2", "g1", a2, want_a, &n_want_a);
  rename_in("b", "a-rather-long-file-name-0", "r", b, want_b, &n_want_b);
  remove_in("b", "a-rather-long-file-name-1", b, want_b, &n_want_b);
  int qa = 0, qb = 0;
  ioctl(ino_a, FIONREAD, &qa);
  ioctl(ino_b, FIONREAD, &qb);
  printf("queued: A %d bytes (%d events), B %d bytes (%d events)\n", qa,
         n_want_a, qb, n_want_b);

  e2e_say("READY");
  e2e_wait_for_go(NULL);

  pthread_t th;
  pthread_create(&th, NULL, b_reader, NULL);

  /* A: poll says readable, one event per read (32 bytes hold one event
   * with a name of up to 16 bytes). */
  int n = 0;
  ioctl(ino_a, FIONREAD, &n);
  E2E_CHECK(n == qa, "A: FIONREAD %d after the go, %d before", n, qa);
  int seen = 0;
  uint32_t cookie = 0;
  while (seen < n_want_a) {
    struct pollfd p = {.fd = ino_a, .events = POLLIN};
    int r = poll(&p, 1, 20000);
    E2E_CHECK(r == 1 && (p.revents & POLLIN),
              "A: poll says not readable with %d of %d events read (%d)",
              seen, n_want_a, r);
    char buf[32] __attribute__((aligned(8)));
    ssize_t got = read(ino_a, buf, sizeof buf);
    E2E_CHECK(got > 0, "A: read: %s", got < 0 ? strerror(errno) : "eof");
    check_events("A", buf, got, want_a, n_want_a, &seen, &cookie);
  }
  check_only_new(ino_a, "A", "a2", a2);

  pthread_join(th, NULL);
  E2E_CHECK(b_error == NULL, "B: %s", b_error);
  E2E_CHECK(b_seen == n_want_b, "B: %d of %d events", b_seen, n_want_b);
  struct epoll_event e;
  E2E_CHECK(epoll_wait(ep, &e, 1, 0) == 0, "B: still readable when read");
  check_only_new(ino_b, "B", "b", b);
  printf("A %d events, B %d events, in order, once\n", seen, b_seen);
  e2e_say("PASS");
  return 0;
}
