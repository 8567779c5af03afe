// wait_wrappers.cpp -- poll, ppoll, select, pselect, epoll_wait,
// epoll_pwait and epoll_pwait2 go on waiting across a checkpoint.
//
// In the core, not in the event plugin: a program run with
// --disable-event-plugin (or DMTCP_EVENT_PLUGIN=0) still must not see the
// checkpoint's EINTR (upstream's poll-disable-event-plugin tests).
//
// The kernel never restarts these after a signal handler: the checkpoint
// signal would end them with EINTR, which the program did not ask for.
// Each wrapper:
//  1. with no timeout, or a timeout of zero (nothing to interrupt), calls
//     the next definition straight away -- the hot path of a loop with
//     ready events;
//  2. otherwise notes the round counter and the time (dmtcp_wait_begin,
//     a coarse clock: a few ns), calls the next definition, and on EINTR
//     asks the core whether only a checkpoint ended it
//     (dmtcp_wait_interrupted_by_checkpoint): then it waits again for
//     what remains of the timeout (the time frozen in the round, and a
//     restart, not counted); a signal of the program's own is its EINTR.
// A wait cut short by a checkpoint goes on after resume and after restart
// alike (the EINTR comes when the thread leaves the checkpoint handler),
// and sees events that arrive after the restart: the epoll sets and fds
// are back by then.
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <cerrno>
#include <cstdint>

#include "dmtcp/checkpoint_eintr.h"
#include "runtime/real_fns.h"

#define DMTCP_WAIT_EXPORT extern "C" __attribute__((visibility("default")))

using dmtcp::real::fns;

namespace {

constexpr int64_t kNsPerMs = 1000000;

// The rest of a relative timeout of `total` ns after `waited` ns; false
// when nothing is left.
bool remains(int64_t total, int64_t waited, int64_t* left) {
  *left = total - waited;
  return *left > 0;
}

// Runs wait(timeout_ns_left) until it ends for a reason other than the
// checkpoint.  total_ns < 0: no timeout.  `expired` is what the call
// returns when the timeout ran out meanwhile (0, as the kernel would).
template <class Wait>
int wait_through(int64_t total_ns, Wait wait) {
  int64_t left = total_ns;
  for (;;) {
    DmtcpWait w;
    dmtcp_wait_begin(&w);
    int r = wait(left);
    if (r >= 0 || errno != EINTR) {
      return r;
    }
    int64_t waited = 0;
    if (!dmtcp_wait_interrupted_by_checkpoint(&w, EINTR, &waited)) {
      errno = EINTR;
      return -1;
    }
    if (total_ns >= 0 && !remains(left, waited, &left)) {
      return 0;
    }
  }
}

int to_ms(int64_t ns) {
  int64_t ms = (ns + kNsPerMs - 1) / kNsPerMs;
  return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

timespec to_ts(int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1000000000),
                  static_cast<long>(ns % 1000000000)};
}

int64_t ns_of(const timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

}  // namespace

DMTCP_WAIT_EXPORT int epoll_wait(int epfd, epoll_event* events, int max,
                                 int timeout) {
  if (timeout == 0) {
    return fns().epoll_wait(epfd, events, max, timeout);
  }
  auto next = fns().epoll_wait;
  return wait_through(timeout < 0 ? -1 : timeout * kNsPerMs, [&](int64_t l) {
    return next(epfd, events, max, l < 0 ? -1 : to_ms(l));
  });
}

DMTCP_WAIT_EXPORT int epoll_pwait(int epfd, epoll_event* events, int max,
                                  int timeout, const sigset_t* mask) {
  if (timeout == 0) {
    return fns().epoll_pwait(epfd, events, max, timeout, mask);
  }
  auto next = fns().epoll_pwait;
  return wait_through(timeout < 0 ? -1 : timeout * kNsPerMs, [&](int64_t l) {
    return next(epfd, events, max, l < 0 ? -1 : to_ms(l), mask);
  });
}

DMTCP_WAIT_EXPORT int epoll_pwait2(int epfd, epoll_event* events, int max,
                                   const timespec* timeout,
                                   const sigset_t* mask) {
  if (timeout != nullptr && timeout->tv_sec == 0 && timeout->tv_nsec == 0) {
    return fns().epoll_pwait2(epfd, events, max, timeout, mask);
  }
  auto next = fns().epoll_pwait2;
  return wait_through(
      timeout == nullptr ? -1 : ns_of(*timeout), [&](int64_t l) {
        timespec ts = to_ts(l);
        return next(epfd, events, max, l < 0 ? nullptr : &ts, mask);
      });
}

DMTCP_WAIT_EXPORT int poll(pollfd* fds, nfds_t n, int timeout) {
  if (timeout == 0) {
    return fns().poll(fds, n, timeout);
  }
  auto next = fns().poll;
  return wait_through(timeout < 0 ? -1 : timeout * kNsPerMs, [&](int64_t l) {
    return next(fds, n, l < 0 ? -1 : to_ms(l));
  });
}

DMTCP_WAIT_EXPORT int ppoll(pollfd* fds, nfds_t n, const timespec* timeout,
                            const sigset_t* mask) {
  if (timeout != nullptr && timeout->tv_sec == 0 && timeout->tv_nsec == 0) {
    return fns().ppoll(fds, n, timeout, mask);
  }
  auto next = fns().ppoll;
  return wait_through(timeout == nullptr ? -1 : ns_of(*timeout),
                      [&](int64_t l) {
                        timespec ts = to_ts(l);
                        return next(fds, n, l < 0 ? nullptr : &ts, mask);
                      });
}

// select: an EINTR leaves the sets as they were (the kernel writes them
// only on success), so the same sets wait again.  Linux's select writes
// the time left into *timeout: so do we, from the last call.
DMTCP_WAIT_EXPORT int select(int n, fd_set* r, fd_set* w, fd_set* e,
                             timeval* timeout) {
  if (timeout != nullptr && timeout->tv_sec == 0 && timeout->tv_usec == 0) {
    return fns().select(n, r, w, e, timeout);
  }
  auto next = fns().select;
  int64_t total = timeout == nullptr
                      ? -1
                      : static_cast<int64_t>(timeout->tv_sec) * 1000000000 +
                            static_cast<int64_t>(timeout->tv_usec) * 1000;
  int rc = wait_through(total, [&](int64_t l) {
    if (l < 0) {
      return next(n, r, w, e, nullptr);
    }
    *timeout = timeval{static_cast<time_t>(l / 1000000000),
                       static_cast<suseconds_t>((l % 1000000000) / 1000)};
    return next(n, r, w, e, timeout);
  });
  if (rc == 0 && timeout != nullptr) {
    *timeout = timeval{0, 0};
  }
  return rc;
}

DMTCP_WAIT_EXPORT int pselect(int n, fd_set* r, fd_set* w, fd_set* e,
                              const timespec* timeout, const sigset_t* mask) {
  if (timeout != nullptr && timeout->tv_sec == 0 && timeout->tv_nsec == 0) {
    return fns().pselect(n, r, w, e, timeout, mask);
  }
  auto next = fns().pselect;
  return wait_through(timeout == nullptr ? -1 : ns_of(*timeout),
                      [&](int64_t l) {
                        timespec ts = to_ts(l);
                        return next(n, r, w, e, l < 0 ? nullptr : &ts, mask);
                      });
}
