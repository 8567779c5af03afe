// epoll.cpp -- an epoll set's interest list.
//
// Save (DRAIN, leader): each "tfd: N events: X data: Y" line of
// /proc/self/fdinfo, in the kernel's order.  The events are the kernel's:
// EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE (and EPOLLWAKEUP when it was
// granted) show as they were given; a one-shot that fired shows only its
// flag bits (disarmed).  Which of our fds holds each target's file is
// checked with kcmp(KCMP_EPOLL_TFD): normally tfd itself; after
// `dup(t); close(t)` the registration lives on under the old number with
// the file held by the dup (then we re-register through the old number,
// if free at restart); when no fd of this process holds the file (another
// process does, or a placeholder stands there) the registration is named
// and dropped.
//
// Re-make (RESTART, leader): epoll_create1() at a parked fd.  Register
// (REFILL, leader): every target is at its number by then -- files and
// pipes, sockets, timerfds, other epoll sets are installed at
// SEND_QUERIES at the latest (dmtcp/fd_share.h, part 3), so no
// registration meets EBADF (upstream DMTCP's issue 405).  Disarmed
// one-shots go first, then one epoll_wait(0) on the set: the kernel adds
// EPOLLERR|EPOLLHUP to every registration, and a target already hung up
// fires at once and is disarmed again, before any other registration is
// in the set to lose an event to that wait.
#include <linux/kcmp.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "dmtcp/claims.h"
#include "dmtcp/plugin.h"
#include "event_table.h"

namespace dmtcp::event {
namespace {

constexpr uint32_t kFlagBits =
    EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP;

bool disarmed(const EpollTarget& t) {
  return (t.events & EPOLLONESHOT) != 0 && (t.events & ~kFlagBits) == 0;
}

// "tfd:        4 events: 80000019 data: 1122334455667788  pos:0 ..."
bool parse_target(const char* line, EpollTarget* t) {
  if (strncmp(line, "tfd:", 4) != 0) {
    return false;
  }
  char* end;
  t->tfd = static_cast<int>(strtol(line + 4, &end, 10));
  const char* ev = strstr(end, "events:");
  const char* data = strstr(end, "data:");
  if (ev == nullptr || data == nullptr) {
    return false;
  }
  t->events = static_cast<uint32_t>(strtoul(ev + 7, nullptr, 16));
  t->data = strtoull(data + 5, nullptr, 16);
  return true;
}

// Whether fd `cand` holds the file of the toff-th registration under tfd.
bool holds(int efd, const EpollTarget& t, uint32_t toff, int cand) {
  kcmp_epoll_slot slot{static_cast<uint32_t>(efd),
                       static_cast<uint32_t>(t.tfd), toff};
  pid_t self = share::raw_getpid();
  return syscall(SYS_kcmp, self, self, KCMP_EPOLL_TFD, cand, &slot) == 0;
}

int find_holder(int efd, const EpollTarget& t, uint32_t toff) {
  if (fcntl(t.tfd, F_GETFD) >= 0 && holds(efd, t, toff, t.tfd)) {
    return t.tfd;
  }
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return -1;
  }
  int found = -1;
  share::for_each_dir_entry(dir, [&](const char* name) {
    if (name[0] < '0' || name[0] > '9') {
      return true;
    }
    int fd = atoi(name);
    if (fd != dir && holds(efd, t, toff, fd)) {
      found = fd;
      return false;
    }
    return true;
  });
  close(dir);
  return found;
}

bool add(int efd, int tfd, uint32_t events, uint64_t data) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  return epoll_ctl(efd, EPOLL_CTL_ADD, tfd, &ev) == 0;
}

// One registration back under its old number t.tfd.
void register_one(int efd, const EpollTarget& t) {
  if (t.held_by < 0) {
    return;  // named at checkpoint
  }
  if (t.held_by == t.tfd) {
    if (dmtcp_is_placeholder_fd(t.tfd)) {
      dmtcp_log("event plugin: epoll fd %d: target fd %d was not restored "
                "(a placeholder holds it): registration dropped",
                efd, t.tfd);
      return;
    }
    if (!add(efd, t.tfd, t.events, t.data)) {
      dmtcp_log("event plugin: epoll fd %d: target fd %d: epoll_ctl: %s",
                efd, t.tfd, strerror(errno));
    }
    return;
  }
  // Closed under tfd, alive under held_by: register through tfd again.
  if (fcntl(t.tfd, F_GETFD) >= 0) {
    dmtcp_log("event plugin: epoll fd %d: target registered as fd %d (since "
              "closed, file held by fd %d) not re-registered: fd %d is in "
              "use",
              efd, t.tfd, t.held_by, t.tfd);
    return;
  }
  if (dup3(t.held_by, t.tfd, O_CLOEXEC) < 0) {
    dmtcp_log("event plugin: epoll fd %d: dup3(%d, %d): %s", efd, t.held_by,
              t.tfd, strerror(errno));
    return;
  }
  if (!add(efd, t.tfd, t.events, t.data)) {
    dmtcp_log("event plugin: epoll fd %d: target fd %d (via %d): epoll_ctl: "
              "%s",
              efd, t.tfd, t.held_by, strerror(errno));
  }
  close(t.tfd);
}

}  // namespace

void save_epoll(Desc* d) {
  d->targets.clear();
  bool ok = for_each_fdinfo_line(d->first_fd, [&](const char* line) {
    EpollTarget t;
    if (parse_target(line, &t)) {
      d->targets.push_back(t);
    }
  });
  if (!ok) {
    dmtcp_log("event plugin: epoll fd %d: no fdinfo; its interest list is "
              "lost",
              d->first_fd);
    return;
  }
  for (size_t i = 0; i < d->targets.size(); ++i) {
    EpollTarget& t = d->targets[i];
    uint32_t toff = 0;
    for (size_t j = 0; j < i; ++j) {
      toff += d->targets[j].tfd == t.tfd ? 1 : 0;
    }
    t.held_by = find_holder(d->first_fd, t, toff);
    if (t.held_by < 0) {
      dmtcp_log("event plugin: epoll fd %d: target registered as fd %d is "
                "held by no fd of this process (closed here, open "
                "elsewhere?): it will not be registered after a restart",
                d->first_fd, t.tfd);
    }
  }
}

int remake_epoll(const Desc& d, int park_floor) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    dmtcp_log("event plugin: epoll fd %d: epoll_create1: %s", d.first_fd,
              strerror(errno));
    return -1;
  }
  return share::park_fd(fd, park_floor);
}

void register_epoll_targets(const Desc& d) {
  int efd = d.first_fd;
  bool any_disarmed = false;
  for (const EpollTarget& t : d.targets) {
    if (disarmed(t)) {
      register_one(efd, t);
      any_disarmed = true;
    }
  }
  if (any_disarmed) {
    epoll_event ev[64];
    // The raw call: our own epoll_wait wrapper is for the program.
    while (syscall(SYS_epoll_pwait, efd, ev, 64, 0, nullptr, 8) == 64) {
    }
  }
  for (const EpollTarget& t : d.targets) {
    if (!disarmed(t)) {
      register_one(efd, t);
    }
  }
}

}  // namespace dmtcp::event
