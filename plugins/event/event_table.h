// event_table.h -- what the event plugin knows about a process's epoll
// sets, eventfds, signalfds and inotify instances.
//
// Purpose: the checkpoint-time picture of every such description of this
// process (one Desc per open file description, several fds may point at
// it), filled from /proc/self/fd and /proc/self/fdinfo, and what restart
// needs to re-make it.
// Refuses nothing silently: what cannot be saved is named with one
// dmtcp_log() line (fanotify, an epoll target whose file is not held by
// any fd of this process, an inotify watch whose path is unknown).
// Thread safety: built and used only by the checkpoint thread's hooks.
// Allocation: dmtcp_alloc() memory only (HookAllocator), so the table may
// grow at checkpoint time and comes back with the image.
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <atomic>
#include <boost/container/string.hpp>
#include <boost/container/vector.hpp>
#include <cstdint>

#include "dmtcp/fd_share.h"
#include "dmtcp/hook_allocator.h"

namespace dmtcp::event {

template <class T>
using HookVector = boost::container::vector<T, HookAllocator<T>>;
using HookString = boost::container::basic_string<char, std::char_traits<char>,
                                                  HookAllocator<char>>;

// Holds a spin lock while it lives: holders never sleep, and a pthread
// mutex's owner tid would be stale after a restart.
class SpinLocked {
 public:
  explicit SpinLocked(std::atomic_flag& f) : f_(f) {
    while (f_.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~SpinLocked() { f_.clear(std::memory_order_release); }
  SpinLocked(const SpinLocked&) = delete;
  SpinLocked& operator=(const SpinLocked&) = delete;

 private:
  std::atomic_flag& f_;
};

enum class Kind : uint8_t { kEpoll, kEventfd, kSignalfd, kInotify };

const char* kind_name(Kind k);

// One registration of an epoll set, as /proc/self/fdinfo shows it.
struct EpollTarget {
  int tfd = -1;         // the fd number it was registered under
  uint32_t events = 0;  // as the kernel holds them (a fired one-shot: only
                        // EPOLLONESHOT and the other flag bits)
  uint64_t data = 0;
  // Checkpoint: which fd of this process holds the target's file now.
  // tfd itself normally; another fd when tfd was closed (or reused) but
  // the file lives on through a dup; -1 when no fd of ours holds it.
  int held_by = -1;
};

// One inotify watch: its wd, the mask given and the path it was added
// with (recorded by the inotify_add_watch wrapper, inotify.cpp).
struct InotifyWatch {
  int wd = 0;
  uint32_t mask = 0;  // the program's mask, IN_MASK_ADD folded in
  HookString path;    // absolute
};

struct Desc {
  Kind kind = Kind::kEventfd;
  int first_fd = -1;  // lowest fd of this process for it
  int flags = 0;      // F_GETFL (O_NONBLOCK is the one re-made)
  share::Election el;

  // Saved by the leader in DRAIN, per kind.
  uint64_t count = 0;      // eventfd: the counter
  bool semaphore = false;  // eventfd: EFD_SEMAPHORE
  uint64_t sigmask = 0;    // signalfd: bit n-1 = signal n
  HookVector<EpollTarget> targets;  // epoll, fdinfo order
  HookVector<InotifyWatch> watches;  // inotify, by wd
  int last_wd = 0;                   // inotify: highest wd ever handed out
  int unread_bytes = 0;  // inotify: bytes of events saved (inotify_queue.h)
  int queue = -1;        // inotify: its saved queue, -1 none

  // Restart only.
  int new_fd = -1;     // the re-made (or handed over) description
  pid_t provider = 0;  // who hands it to us (0: we make it)
};

struct FdSlot {
  int fd;
  int fd_flags;  // F_GETFD
  uint32_t desc;
};

struct Table {
  HookVector<Desc> descs;
  HookVector<FdSlot> fds;
  int park_floor = 3;  // share::highest_fd() + 1 at checkpoint
  void clear() {
    descs.clear();
    fds.clear();
  }
};

Table& table();

// event_scan.cpp: list /proc/self/fd, one Desc per description of ours,
// claim each fd; name fanotify fds as not supported.
void scan(Table* t);

// fdinfo.cpp: the "key: value" fields of /proc/self/fdinfo/<fd>.
// Reads the whole text into buf (NUL-terminated); false on error.
bool read_fdinfo(int fd, char* buf, size_t cap);
// The hex number after `key` in text (first occurrence), or `dflt`.
uint64_t fdinfo_hex(const char* text, const char* key, uint64_t dflt);
// Calls f(line) for each line of /proc/self/fdinfo/<fd> (NUL-terminated,
// newline cut; lines longer than 1 KiB are cut short), however long the
// text (an epoll set of thousands of targets).  false: no fdinfo.
template <class F>
bool for_each_fdinfo_line(int fd, F&& f) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  int in = open(path, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    return false;
  }
  char buf[4096 + 1];
  size_t have = 0;
  for (;;) {
    ssize_t n = read(in, buf + have, sizeof buf - 1 - have);
    if (n > 0) {
      have += static_cast<size_t>(n);
    }
    size_t start = 0;
    for (size_t i = 0; i < have; ++i) {
      if (buf[i] == '\n') {
        buf[i] = '\0';
        f(static_cast<const char*>(buf + start));
        start = i + 1;
      }
    }
    if (n <= 0) {
      if (start < have) {
        buf[have] = '\0';
        f(static_cast<const char*>(buf + start));
      }
      break;
    }
    if (start == 0 && have > 1024) {
      buf[have] = '\0';  // an over-long line: cut short
      f(static_cast<const char*>(buf));
      start = have;
    }
    memmove(buf, buf + start, have - start);
    have -= start;
  }
  close(in);
  return true;
}

// Per kind (eventfd.cpp, signalfd.cpp, epoll.cpp, inotify.cpp): save at
// DRAIN (leader), re-make at RESTART (leader, at a parked fd).
void save_eventfd(Desc* d);
int remake_eventfd(const Desc& d, int park_floor);
void save_signalfd(Desc* d);
int remake_signalfd(const Desc& d, int park_floor);
void save_epoll(Desc* d);
int remake_epoll(const Desc& d, int park_floor);
// REFILL (leader): every registration back, the targets being at their
// numbers by now (every plugin installs at SEND_QUERIES at the latest).
void register_epoll_targets(const Desc& d);
void save_inotify(Desc* d, const Table& t);
int remake_inotify(const Desc& d, int park_floor);

}  // namespace dmtcp::event
