// inotify_queue.cpp -- see inotify_queue.h; design in docs/event.md,
// "Unread inotify events".
//
// The kernel can neither show an inotify queue without consuming it nor
// take an event back.  So at DRAIN the leader reads the queue empty into
// a saved queue (our memory: it is in the image).  On resume and on
// restart the instance is made readable again by a "doorbell": a watch on
// a fresh empty directory of ours, removed at once, which queues one
// IN_IGNORED for a wd the program never had.  poll, select and epoll
// (level or edge) then wake as they would have for the unread events.
// The program's read() of that fd gets the saved events first, whole
// events as many as fit, as the kernel gives them; once they are all
// read, reads go to the kernel again and the doorbell's event is taken
// out of what they return.  When both are done the fd is ordinary again
// and read() is back to one flag test.
#include "inotify_queue.h"

#include <linux/kcmp.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "dmtcp/plugin.h"
#include "dmtcp/raw_syscall.h"

namespace dmtcp::event {

std::atomic<int> g_serving{0};

namespace {

struct SavedQueue {
  bool used = false;
  bool taken = false;       // claimed by a description at this DRAIN
  HookVector<char> events;  // whole struct inotify_event records, in order
  size_t head = 0;          // bytes of `events` already read
  int doorbell_wd = -1;     // its IN_IGNORED is still in the kernel queue
  HookVector<int> fds;      // the program's fds that serve it
  int ref_fd = -1;          // ours, on the instance: is fd still it?
};

// Protects: every SavedQueue and the vector.
std::atomic_flag g_qlock = ATOMIC_FLAG_INIT;
HookVector<SavedQueue>& queues() {
  static HookVector<SavedQueue> q;
  return q;
}

struct QLocked : SpinLocked {
  QLocked() : SpinLocked(g_qlock) {}
};

constexpr size_t kEventHeader = sizeof(inotify_event);

long raw(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  return dmtcp::raw::syscall6(n, a, b, c, d, e, 0);
}

bool same_file(int a, int b) {
  long me = raw(SYS_getpid);
  return raw(SYS_kcmp, me, me, KCMP_FILE, a, b) == 0;
}

void release(SavedQueue* q) {
  if (q->ref_fd >= 0) {
    raw(SYS_close, q->ref_fd);
  }
  *q = SavedQueue{};
  g_serving.fetch_sub(1);
}

bool serves(const SavedQueue& q, int fd) {
  for (int f : q.fds) {
    if (f == fd) {
      return true;
    }
  }
  return false;
}

// The used queue whose instance `fd` is (kcmp against our reference fd:
// dup()s made after the checkpoint serve too).  A number that served and
// now names another file stops serving; a queue left without any is
// dropped (the program closed the instance).  None before queue_serve()
// gave a queue its reference fd: from THREADS_SUSPEND until then the
// number may be anything (at a restart, another plugin's file until
// SEND_QUERIES).  Under g_qlock.
SavedQueue* find(int fd) {
  for (SavedQueue& q : queues()) {
    if (!q.used || q.ref_fd < 0) {
      continue;
    }
    if (same_file(fd, q.ref_fd)) {
      return &q;
    }
    for (size_t i = 0; i < q.fds.size(); ++i) {
      if (q.fds[i] == fd) {
        q.fds.erase(q.fds.begin() + static_cast<long>(i));
        if (q.fds.empty()) {
          release(&q);
        }
        break;
      }
    }
  }
  return nullptr;
}

void fds_of(const Desc& d, const Table& t, HookVector<int>* out) {
  out->clear();
  for (const FdSlot& s : t.fds) {
    if (&t.descs[s.desc] == &d) {
      out->push_back(s.fd);
    }
  }
}

}  // namespace

void queue_before_scan() {
  QLocked l;
  for (SavedQueue& q : queues()) {
    if (!q.used) {
      continue;
    }
    q.taken = false;
    if (q.ref_fd >= 0) {
      for (size_t i = 0; i < q.fds.size();) {
        if (same_file(q.fds[i], q.ref_fd)) {
          ++i;
        } else {
          q.fds.erase(q.fds.begin() + static_cast<long>(i));
        }
      }
      raw(SYS_close, q.ref_fd);  // not ours to save
      q.ref_fd = -1;
    }
    if (q.fds.empty()) {
      release(&q);
    }
  }
}

void queue_take(Desc* d, const Table& t) {
  d->queue = -1;
  HookVector<int> mine;
  fds_of(*d, t, &mine);
  QLocked l;
  auto& all = queues();
  SavedQueue* q = nullptr;
  for (SavedQueue& s : all) {
    for (int f : mine) {
      if (s.used && !s.taken && serves(s, f)) {
        q = &s;
      }
    }
  }
  auto ensure = [&]() {
    if (q != nullptr) {
      return;
    }
    for (SavedQueue& s : all) {
      if (!s.used) {
        q = &s;
        break;
      }
    }
    if (q == nullptr) {
      all.emplace_back();
      q = &all.back();
    }
    q->used = true;
    g_serving.fetch_add(1);
  };
  if (q != nullptr && q->head > 0) {
    q->events.erase(q->events.begin(),
                    q->events.begin() + static_cast<long>(q->head));
    q->head = 0;
  }
  // FIONREAD > 0: a read does not block, even on a blocking fd.  Raw
  // calls: our own read/ioctl wrappers would take g_qlock again.
  alignas(inotify_event) char buf[16384];
  for (;;) {
    int n = 0;
    if (raw(SYS_ioctl, d->first_fd, FIONREAD, reinterpret_cast<long>(&n)) !=
            0 ||
        n <= 0) {
      break;
    }
    long got =
        raw(SYS_read, d->first_fd, reinterpret_cast<long>(buf), sizeof buf);
    if (got <= 0) {
      dmtcp_log(
          "event plugin: inotify fd %d: reading its unread events: "
          "error %ld; those left are lost",
          d->first_fd, -got);
      break;
    }
    for (long off = 0; off < got;) {
      auto* e = reinterpret_cast<inotify_event*>(buf + off);
      size_t size = kEventHeader + e->len;
      if (q != nullptr && e->wd == q->doorbell_wd &&
          (e->mask & IN_IGNORED) != 0) {
        q->doorbell_wd = -1;
      } else {
        ensure();
        q->events.insert(q->events.end(), buf + off, buf + off + size);
      }
      off += static_cast<long>(size);
    }
  }
  if (q == nullptr) {
    return;
  }
  // A doorbell not found was read past us (docs/event.md, limits).
  q->doorbell_wd = -1;
  if (q->events.empty()) {
    release(q);
    return;
  }
  q->taken = true;
  q->fds = mine;
  d->queue = static_cast<int>(q - all.data());
  d->unread_bytes = static_cast<int>(q->events.size());
}

void queue_drop_untaken() {
  QLocked l;
  for (SavedQueue& q : queues()) {
    if (q.used && !q.taken) {
      release(&q);
    }
  }
}

void queue_ring(const Desc& d, int fd) {
  if (d.queue < 0) {
    return;
  }
  char dir[PATH_MAX];
  int wd = -1;
  if (make_dummy_dir(dir, sizeof dir)) {
    wd = static_cast<int>(raw(SYS_inotify_add_watch, fd,
                              reinterpret_cast<long>(dir), IN_UNMOUNT));
    if (wd >= 0) {
      raw(SYS_inotify_rm_watch, fd, wd);
    }
    rmdir(dir);
  }
  if (wd < 0) {
    dmtcp_log(
        "event plugin: inotify fd %d: no doorbell (%s): a program "
        "waiting in poll/epoll for its unread events waits on",
        d.first_fd, strerror(errno));
  }
  QLocked l;
  queues()[static_cast<size_t>(d.queue)].doorbell_wd = wd;
}

void queue_serve(const Desc& d, const Table& t) {
  if (d.queue < 0) {
    return;
  }
  int doorbell;
  {
    QLocked l;
    SavedQueue& q = queues()[static_cast<size_t>(d.queue)];
    fds_of(d, t, &q.fds);
    q.ref_fd = static_cast<int>(
        raw(SYS_fcntl, d.first_fd, F_DUPFD_CLOEXEC, t.park_floor));
    if (q.ref_fd < 0) {
      dmtcp_log(
          "event plugin: inotify fd %d: no fd to serve its %zu bytes "
          "of unread events from (error %d): they are lost",
          d.first_fd, q.events.size() - q.head, -q.ref_fd);
      q.ref_fd = -1;
      release(&q);
      return;
    }
    doorbell = q.doorbell_wd;
  }
  // The doorbell took a wd: the program's next one is after it, on a
  // resume and on a restart alike.
  for (const FdSlot& s : t.fds) {
    if (&t.descs[s.desc] == &d && doorbell > 0) {
      note_last_wd(s.fd, doorbell);
    }
  }
}

void queue_forget_after_fork() {
  g_qlock.clear();
  for (SavedQueue& q : queues()) {
    if (q.ref_fd >= 0) {
      raw(SYS_close, q.ref_fd);
    }
  }
  queues().clear();
  g_serving.store(0);
}

Served queue_read(int fd, void* buf, size_t len, ssize_t* result) {
  DMTCP_PLUGIN_DISABLE_CKPT();
  Served s = Served::kNo;
  {
    QLocked l;
    SavedQueue* q = find(fd);
    if (q != nullptr && q->head < q->events.size()) {
      size_t n = 0;
      while (q->head + n < q->events.size()) {
        auto* e = reinterpret_cast<const inotify_event*>(q->events.data() +
                                                         q->head + n);
        size_t size = kEventHeader + e->len;
        if (n + size > len) {
          break;
        }
        n += size;
      }
      if (n == 0) {
        *result = -1;  // the kernel's answer to a buffer too small
        errno = EINVAL;
      } else {
        memcpy(buf, q->events.data() + q->head, n);
        q->head += n;
        *result = static_cast<ssize_t>(n);
      }
      if (q->head == q->events.size() && q->doorbell_wd < 0) {
        release(q);
      }
      s = Served::kDone;
    } else if (q != nullptr) {
      s = Served::kKernel;
    }
  }
  int saved = errno;
  DMTCP_PLUGIN_ENABLE_CKPT();
  errno = saved;
  return s;
}

ssize_t queue_filter(int fd, void* buf, ssize_t got) {
  int saved = errno;
  DMTCP_PLUGIN_DISABLE_CKPT();
  {
    QLocked l;
    SavedQueue* q = find(fd);
    if (q != nullptr && q->doorbell_wd >= 0) {
      char* p = static_cast<char*>(buf);
      ssize_t out = 0;
      for (ssize_t off = 0; off < got;) {
        auto* e = reinterpret_cast<inotify_event*>(p + off);
        ssize_t size = static_cast<ssize_t>(kEventHeader + e->len);
        if (e->wd == q->doorbell_wd && (e->mask & IN_IGNORED) != 0) {
          q->doorbell_wd = -1;
        } else {
          memmove(p + out, p + off, static_cast<size_t>(size));
          out += size;
        }
        off += size;
      }
      got = out;
      if (q->doorbell_wd < 0 && q->head == q->events.size()) {
        release(q);
      }
    }
  }
  DMTCP_PLUGIN_ENABLE_CKPT();
  errno = saved;
  return got;
}

bool queue_fionread(int fd, int* bytes) {
  DMTCP_PLUGIN_DISABLE_CKPT();
  bool ours = false;
  {
    QLocked l;
    SavedQueue* q = find(fd);
    int kernel = 0;
    if (q != nullptr &&
        raw(SYS_ioctl, fd, FIONREAD, reinterpret_cast<long>(&kernel)) == 0) {
      long n = static_cast<long>(q->events.size() - q->head) + kernel -
               (q->doorbell_wd >= 0 ? static_cast<long>(kEventHeader) : 0);
      *bytes = n > 0 ? static_cast<int>(n) : 0;
      ours = true;
    }
  }
  DMTCP_PLUGIN_ENABLE_CKPT();
  return ours;
}

}  // namespace dmtcp::event
