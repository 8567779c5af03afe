/* Threads blocked in epoll_wait, epoll_pwait2, poll, ppoll, select and
 * pselect with long timeouts while the checkpoint comes go on waiting
 * (after resume and after restart) and each sees the event the main
 * thread makes after the go, never a spurious EINTR or timeout; one more
 * poll with a 1.5 s timeout spanning the checkpoint times out with 0,
 * not sooner than 1.5 s after it began (a checkpoint does not cut the
 * time short; the round's and a restart's time count as waited by the
 * clock here, so there is no upper bound to check). */
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <time.h>

#include "event_test.h"

enum { kEpollWait, kEpollPwait2, kPoll, kPpoll, kSelect, kPselect, kShort,
       kN };
static const char* kNames[kN] = {"epoll_wait", "epoll_pwait2", "poll",
                                 "ppoll", "select", "pselect", "short poll"};
static int fds[kN];  /* one eventfd per waiter */
static int ep[kN];
static int result[kN];
static int error[kN];
static volatile int started;
static double short_took;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void* waiter(void* arg) {
  int k = (int)(intptr_t)arg;
  int fd = fds[k];
  struct epoll_event ev;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  struct timespec long_ts = {600, 0};
  struct timeval long_tv = {600, 0};
  fd_set set;
  FD_ZERO(&set);
  FD_SET(fd, &set);
  __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
  int r = -1;
  switch (k) {
    case kEpollWait:
      r = epoll_wait(ep[k], &ev, 1, 600000);
      break;
    case kEpollPwait2:
      r = epoll_pwait2(ep[k], &ev, 1, &long_ts, NULL);
      break;
    case kPoll:
      r = poll(&p, 1, 600000);
      break;
    case kPpoll:
      r = ppoll(&p, 1, &long_ts, NULL);
      break;
    case kSelect:
      r = select(fd + 1, &set, NULL, NULL, &long_tv);
      break;
    case kPselect:
      r = pselect(fd + 1, &set, NULL, NULL, &long_ts, NULL);
      break;
    case kShort: {
      double t0 = now_s();
      r = poll(&p, 1, 1500);
      short_took = now_s() - t0;
      break;
    }
  }
  result[k] = r;
  error[k] = errno;
  return NULL;
}

int main(void) {
  pthread_t t[kN];
  for (int k = 0; k < kN; ++k) {
    fds[k] = eventfd(0, EFD_NONBLOCK);
    ep[k] = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 100 + k};
    E2E_CHECK(epoll_ctl(ep[k], EPOLL_CTL_ADD, fds[k], &ev) == 0, "add");
    pthread_create(&t[k], NULL, waiter, (void*)(intptr_t)k);
  }
  while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < kN) {
    usleep(1000);
  }
  usleep(100000);  /* every waiter inside its call */
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  pthread_join(t[kShort], NULL);
  E2E_CHECK(result[kShort] == 0, "short poll returned %d (%s), want 0",
            result[kShort], strerror(error[kShort]));
  E2E_CHECK(short_took >= 1.49, "short poll returned after %.3f s, not 1.5",
            short_took);
  for (int k = 0; k < kShort; ++k) {
    efd_write(fds[k], 1);
    pthread_join(t[k], NULL);
    E2E_CHECK(result[k] == 1, "%s returned %d (%s), want 1", kNames[k],
              result[k], result[k] < 0 ? strerror(error[k]) : "timeout");
  }
  e2e_say("PASS");
  return 0;
}
