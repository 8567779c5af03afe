// timerfd.cpp -- see timerfd.h.
#include "timerfd.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cpu_clock.h"
#include "dmtcp/claims.h"
#include "dmtcp/fd_share.h"
#include "dmtcp/plugin.h"
#include "timer_common.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

namespace dmtcp::timer {
namespace {

constexpr size_t kMaxDescs = 256;
constexpr size_t kMaxFds = 1024;

// One open file description of a timerfd.
struct TimerFd {
  share::Election election;  // election.fd: our lowest fd for it
  // Saved by the leader at DRAIN, from /proc/self/fdinfo and a read:
  int clock = CLOCK_MONOTONIC;
  int settime_flags = 0;  // TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET
  int status_flags = 0;   // O_NONBLOCK
  itimerspec left{};      // time left (relative) and interval
  timespec expiry{};      // absolute first expiry, wall clocks + ABSTIME
  uint64_t ticks = 0;     // expirations not yet read by the program
  bool saved = false;
  // Rebuilt at restart:
  int temp_fd = -1;  // the re-made (or received) description, parked
};

// One fd number of ours.
struct FdSlot {
  int fd;
  int desc;     // index into g_descs
  bool cloexec;
};

TimerFd g_descs[kMaxDescs];
size_t g_ndescs = 0;
FdSlot g_fds[kMaxFds];
size_t g_nfds = 0;
int g_park_floor = 0;  // highest fd at checkpoint + 1
share::FdExchange g_exchange("timer");

bool same_description(int a, int b) {
  pid_t me = share::raw_getpid();
  return raw_syscall(SYS_kcmp, me, me, KCMP_FILE, a, b) == 0;
}

// "key:\t(sec, nsec)" or "key: value" lines of fdinfo.
bool parse_fdinfo(int fd, TimerFd* t) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    return false;
  }
  char buf[1024];
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  if (n <= 0) {
    return false;
  }
  buf[n] = '\0';
  int found = 0;
  for (char* line = buf; line != nullptr && *line != '\0';) {
    char* next = strchr(line, '\n');
    if (next != nullptr) {
      *next++ = '\0';
    }
    long long a = 0, b = 0;
    unsigned long long u = 0;
    unsigned o = 0;
    if (sscanf(line, "flags: %o", &o) == 1) {
      t->status_flags = static_cast<int>(o) & O_NONBLOCK;
    } else if (sscanf(line, "clockid: %lld", &a) == 1) {
      t->clock = static_cast<int>(a);
      ++found;
    } else if (sscanf(line, "ticks: %llu", &u) == 1) {
      t->ticks = u;
      ++found;
    } else if (sscanf(line, "settime flags: %llo", &a) == 1) {
      t->settime_flags = static_cast<int>(a);
      ++found;
    } else if (sscanf(line, "it_value: (%lld, %lld)", &a, &b) == 2) {
      t->left.it_value = {static_cast<time_t>(a), static_cast<long>(b)};
      ++found;
    } else if (sscanf(line, "it_interval: (%lld, %lld)", &a, &b) == 2) {
      t->left.it_interval = {static_cast<time_t>(a), static_cast<long>(b)};
      ++found;
    }
    line = next;
  }
  return found == 5;
}

bool is_zero(const timespec& t) { return t.tv_sec == 0 && t.tv_nsec == 0; }

// The expirations counted so far, taken without blocking (only when the
// kernel says there are some: the description may be blocking).
uint64_t take_ticks(int fd) {
  TimerFd probe;
  if (!parse_fdinfo(fd, &probe) || probe.ticks == 0) {
    return 0;
  }
  uint64_t n = 0;
  return read(fd, &n, sizeof n) == static_cast<ssize_t>(sizeof n) ? n : 0;
}

void put_ticks(int fd, uint64_t n) {
  if (n != 0 && ioctl(fd, TFD_IOC_SET_TICKS, &n) != 0) {
    dmtcp_log("timer: timerfd %d: %llu unread expirations lost "
              "(TFD_IOC_SET_TICKS refused)",
              fd, static_cast<unsigned long long>(n));
  }
}

int provide(void*, const share::FdKey&, int leader_fd) {
  for (size_t i = 0; i < g_nfds; ++i) {
    if (g_fds[i].fd == leader_fd) {
      return g_descs[g_fds[i].desc].temp_fd;
    }
  }
  return -1;
}

void receive(void*, pid_t provider, uint32_t cookie, int fd, bool alive) {
  if (cookie >= g_ndescs) {
    return;
  }
  if (fd < 0) {
    dmtcp_log("timer: timerfd %d: process %d %s; fd left closed",
              g_descs[cookie].election.fd, provider,
              alive ? "did not have it" : "did not answer");
    return;
  }
  g_descs[cookie].temp_fd = fd;
}

}  // namespace

void timerfd_scan() {
  g_ndescs = 0;
  g_nfds = 0;
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return;
  }
  g_park_floor = share::highest_fd() + 1;
  share::for_each_dir_entry(dir, [&](const char* name) {
    if (name[0] < '0' || name[0] > '9') {
      return true;
    }
    int fd = atoi(name);
    char link[64];
    if (fd == dir || dmtcp_is_protected_fd(fd) || dmtcp_is_placeholder_fd(fd) ||
        !share::read_fd_link(fd, link, sizeof link) ||
        strcmp(link, "anon_inode:[timerfd]") != 0) {
      return true;
    }
    if (g_nfds == kMaxFds) {
      dmtcp_log("timer: more than %zu timerfds; fd %d not saved", kMaxFds, fd);
      return true;
    }
    size_t d = 0;
    for (; d < g_ndescs; ++d) {
      if (same_description(g_descs[d].election.fd, fd)) {
        break;
      }
    }
    if (d == g_ndescs) {
      if (g_ndescs == kMaxDescs) {
        dmtcp_log("timer: more than %zu timerfds; fd %d not saved", kMaxDescs,
                  fd);
        return true;
      }
      g_descs[d] = TimerFd{};
      g_descs[d].election.fd = fd;
      ++g_ndescs;
    } else if (fd < g_descs[d].election.fd) {
      g_descs[d].election.fd = fd;
    }
    int fdflags = fcntl(fd, F_GETFD);
    g_fds[g_nfds++] = {fd, static_cast<int>(d),
                       fdflags >= 0 && (fdflags & FD_CLOEXEC) != 0};
    return true;
  });
  close(dir);
  for (size_t d = 0; d < g_ndescs; ++d) {
    share::save_owner(&g_descs[d].election);
  }
}

void timerfd_claim() {
  for (size_t d = 0; d < g_ndescs; ++d) {
    share::claim(&g_descs[d].election);
  }
}

void timerfd_read_leaders() {
  for (size_t d = 0; d < g_ndescs; ++d) {
    share::read_leader(&g_descs[d].election);
  }
}

void timerfd_drain() {
  for (size_t d = 0; d < g_ndescs; ++d) {
    TimerFd& t = g_descs[d];
    share::restore_owner(&t.election);
    if (!t.election.leader) {
      share::find_leader_fd(&t.election);
      continue;
    }
    int fd = t.election.fd;
    t.saved = parse_fdinfo(fd, &t);
    if (!t.saved) {
      dmtcp_log("timer: timerfd %d: /proc/self/fdinfo unreadable; not saved",
                fd);
      continue;
    }
    // Periodic and expired: the kernel counts the later expirations only
    // when the count is read, and shows 0 left until then.
    uint64_t ticks = take_ticks(fd);
    if (!parse_fdinfo(fd, &t)) {  // time left, now that it runs again
      t.saved = false;
      continue;
    }
    t.ticks = ticks;
    t.expiry = {};
    if ((t.settime_flags & TFD_TIMER_ABSTIME) != 0 && is_wall_clock(t.clock) &&
        !is_zero(t.left.it_value)) {
      timespec now;
      clock_gettime(t.clock, &now);
      t.expiry.tv_sec = now.tv_sec + t.left.it_value.tv_sec;
      t.expiry.tv_nsec = now.tv_nsec + t.left.it_value.tv_nsec;
      if (t.expiry.tv_nsec >= 1000000000L) {
        t.expiry.tv_nsec -= 1000000000L;
        ++t.expiry.tv_sec;
      }
    }
  }
}

void timerfd_save() {
  for (size_t i = 0; i < g_nfds; ++i) {
    const TimerFd& t = g_descs[g_fds[i].desc];
    if (!t.election.leader || t.saved) {
      dmtcp_claim_fd(g_fds[i].fd);
    }
  }
}

void timerfd_resume() {
  for (size_t d = 0; d < g_ndescs; ++d) {
    TimerFd& t = g_descs[d];
    if (t.election.leader && t.saved) {
      // Expirations since we took the count are in the kernel's count.
      put_ticks(t.election.fd, t.ticks + take_ticks(t.election.fd));
    }
  }
}

void timerfd_restart() {
  for (size_t d = 0; d < g_ndescs; ++d) {
    TimerFd& t = g_descs[d];
    t.temp_fd = -1;
    if (!t.election.leader || !t.saved) {
      continue;
    }
    int fd = timerfd_create(t.clock, t.status_flags | TFD_CLOEXEC);
    if (fd < 0) {
      dmtcp_log("timer: timerfd %d: timerfd_create(%d): %s; fd left closed",
                t.election.fd, t.clock, strerror(errno));
      continue;
    }
    fd = share::park_fd(fd, g_park_floor);
    itimerspec its = t.left;
    int flags = 0;
    if (!is_zero(its.it_value)) {
      if ((t.settime_flags & TFD_TIMER_ABSTIME) != 0 &&
          is_wall_clock(t.clock)) {
        its.it_value = t.expiry;
        flags = t.settime_flags;
      }
      if (timerfd_settime(fd, flags, &its, nullptr) != 0) {
        dmtcp_log("timer: timerfd %d not re-armed: %s", t.election.fd,
                  strerror(errno));
      }
    }
    put_ticks(fd, t.ticks);
    t.temp_fd = fd;
  }
  g_exchange.listen(g_park_floor);
}

void timerfd_ask() {
  // One ask() per provider: each leader's descriptions in one request.
  g_exchange.ask_each(
      g_ndescs,
      [](void*, size_t d, share::FdRequest* out) -> pid_t {
        const TimerFd& t = g_descs[d];
        if (t.election.leader) {
          return 0;
        }
        *out = {};
        memcpy(out->key.bytes, "timerfd", 7);
        out->leader_fd = t.election.leader_fd;
        out->cookie = static_cast<uint32_t>(d);
        return t.election.leader_vpid;
      },
      nullptr, g_park_floor);
}

void timerfd_install() {
  g_exchange.serve(provide, nullptr);
  g_exchange.collect(g_park_floor, receive, nullptr);
  for (size_t i = 0; i < g_nfds; ++i) {
    const FdSlot& s = g_fds[i];
    int temp = g_descs[s.desc].temp_fd;
    if (temp < 0) {
      continue;
    }
    if (dup3(temp, s.fd, s.cloexec ? O_CLOEXEC : 0) < 0) {
      dmtcp_log("timer: timerfd %d not put back: %s", s.fd, strerror(errno));
    }
  }
  for (size_t d = 0; d < g_ndescs; ++d) {
    TimerFd& t = g_descs[d];
    if (t.temp_fd >= 0) {
      close(t.temp_fd);
      t.temp_fd = -1;
    }
    if (t.election.leader && t.saved) {
      share::restore_owner_after_restart(t.election, t.election.fd);
    }
  }
}

}  // namespace dmtcp::timer
