// posix_mq.cpp -- POSIX message queues: re-made by name with their
// attributes and messages by one elected process; every process opens
// its descriptors again at their numbers and makes its mq_notify
// registration again.
//
// Saved per queue (its saver, elected by publish/subscribe on the name):
//   name, mode, mq_maxmsg, mq_msgsize, every message with its priority
//   (taken off the queue in the order mq_receive gives them, highest
//   priority first and FIFO within one: sending them again in that order
//   gives the same queue), and whether the name was unlinked.
// Saved per descriptor (each process): fd number, access mode and
// O_NONBLOCK, close-on-exec, and the mq_notify registration the wrapper
// recorded if the kernel still holds it (NOTIFY_PID of the queue's
// status line is ours).
// Draining is destructive, so RESUME sends the messages back too.
// Limits: SIGEV_THREAD notifications are not made again (glibc's helper
// thread listens on a netlink socket nobody restores); a descriptor shared
// by fork is opened again in each process (O_NONBLOCK set later through
// one no longer shows through the other).
#include "posix_mq.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dmtcp/claims.h"
#include "sysvipc.h"

namespace dmtcp::sysvipc::posix_mq {
namespace {

constexpr int kMaxQueues = 64;
constexpr int kMaxFds = 128;
constexpr long kMqueueMagic = 0x19800202;

struct Queue {
  bool used = false;
  char name[NAME_MAX + 2] = {};  // with its leading '/'
  bool saver = false;
  bool unlinked = false;
  int mode = 0;
  long maxmsg = 0;
  long msgsize = 0;
  long count = 0;
  char* data = nullptr;  // {unsigned prio; size_t len; text} padded
  size_t data_len = 0;
};

struct Desc {
  bool used = false;
  int fd = -1;
  int queue = -1;  // index into g_queues
  int oflag = 0;
  bool cloexec = false;
  ino_t ino = 0;
  bool notify = false;  // registered by this process (wrapper)
  sigevent sev{};
};

// Protects: g_queues, g_descs (wrappers, inside a CkptGuard; hooks run
// when no thread is inside one).
SpinLock g_lock;
Queue g_queues[kMaxQueues];
Desc g_descs[kMaxFds];

struct MsgHeader {
  unsigned prio;
  size_t len;
};

size_t padded(size_t n) {
  return (n + 7) & ~size_t{7};
}

const char* bare(const char* name) {
  return name[0] == '/' ? name + 1 : name;  // the kernel wants no '/'
}

int find_queue_locked(const char* name) {
  for (int i = 0; i < kMaxQueues; ++i) {
    if (g_queues[i].used && strcmp(g_queues[i].name, name) == 0) {
      return i;
    }
  }
  return -1;
}

bool queue_in_use(int q) {
  for (const Desc& d : g_descs) {
    if (d.used && d.queue == q) {
      return true;
    }
  }
  return false;
}

long raw_open(const char* name, int oflag, int mode = 0,
              const mq_attr* attr = nullptr) {
  return sys(SYS_mq_open, reinterpret_cast<long>(bare(name)), oflag, mode,
             reinterpret_cast<long>(attr));
}

// A descriptor of ours that can receive, or a new one by name (-1).
int readable_fd(int q, bool* opened) {
  *opened = false;
  for (const Desc& d : g_descs) {
    if (d.used && d.queue == q && (d.oflag & O_ACCMODE) != O_WRONLY) {
      return d.fd;
    }
  }
  if (g_queues[q].unlinked) {
    return -1;
  }
  long fd = raw_open(g_queues[q].name, O_RDONLY | O_CLOEXEC);
  *opened = fd >= 0;
  return fd >= 0 ? static_cast<int>(fd) : -1;
}

// The kernel still holds our registration: the queue's status line (what
// read() on a new descriptor of it gives) names our pid.  Read through a
// descriptor of our own: reading moves the offset of the one read.
bool notify_active(int q) {
  if (g_queues[q].unlinked) {
    return true;  // cannot tell: keep it
  }
  long fd = raw_open(g_queues[q].name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return true;
  }
  char line[256] = {};
  long n = sys(SYS_read, fd, reinterpret_cast<long>(line), sizeof line - 1);
  sys(SYS_close, fd);
  if (n <= 0) {
    return true;
  }
  line[n] = '\0';
  const char* p = strstr(line, "NOTIFY_PID:");
  long pid = p != nullptr ? strtol(p + 11, nullptr, 10) : 0;
  return pid == sys(SYS_getpid);
}

void refill(Queue& qu, int fd) {
  size_t at = 0;
  timespec past{0, 0};
  for (long i = 0; i < qu.count; ++i) {
    MsgHeader h;
    memcpy(&h, qu.data + at, sizeof h);
    long r = sys(SYS_mq_timedsend, fd,
                 reinterpret_cast<long>(qu.data + at + sizeof h),
                 static_cast<long>(h.len), h.prio,
                 reinterpret_cast<long>(&past));
    if (r != 0) {
      dmtcp_log("sysvipc: POSIX queue %s: message %ld of %ld lost: %s",
                qu.name, i, qu.count, strerror(static_cast<int>(-r)));
    }
    at += sizeof h + padded(h.len);
  }
}

void release(Queue& qu) {
  unmap_buffer(qu.data, qu.data_len);
  qu.data = nullptr;
  qu.data_len = 0;
  qu.count = 0;
}

bool save_queue(int q) {
  Queue& qu = g_queues[q];
  bool opened = false;
  int fd = readable_fd(q, &opened);
  if (fd < 0) {
    dmtcp_log("sysvipc: POSIX queue %s: no descriptor to read it with",
              qu.name);
    return false;
  }
  mq_attr attr{};
  struct stat st {};
  sys(SYS_mq_getsetattr, fd, 0, reinterpret_cast<long>(&attr));
  sys(SYS_fstat, fd, reinterpret_cast<long>(&st));
  qu.mode = st.st_mode & 0777;
  qu.maxmsg = attr.mq_maxmsg;
  qu.msgsize = attr.mq_msgsize;
  qu.count = 0;
  size_t each = sizeof(MsgHeader) + padded(static_cast<size_t>(qu.msgsize));
  qu.data_len = each * static_cast<size_t>(attr.mq_curmsgs + 1);
  qu.data = static_cast<char*>(map_buffer(qu.data_len));
  if (qu.data == nullptr) {
    if (opened) {
      sys(SYS_close, fd);
    }
    return false;
  }
  size_t at = 0;
  timespec past{0, 0};
  while (at + each <= qu.data_len) {
    MsgHeader h{};
    long n = sys(SYS_mq_timedreceive, fd,
                 reinterpret_cast<long>(qu.data + at + sizeof h),
                 qu.msgsize, reinterpret_cast<long>(&h.prio),
                 reinterpret_cast<long>(&past));
    if (n < 0) {
      break;  // ETIMEDOUT: empty (EAGAIN on a non-blocking descriptor)
    }
    h.len = static_cast<size_t>(n);
    memcpy(qu.data + at, &h, sizeof h);
    at += sizeof h + padded(h.len);
    ++qu.count;
  }
  if (opened) {
    sys(SYS_close, fd);
  }
  return true;
}

}  // namespace

void opened(int fd, const char* name, int oflag) {
  if (name == nullptr || strlen(name) > NAME_MAX || fd < 0) {
    return;
  }
  SpinGuard g(g_lock);
  int q = find_queue_locked(name);
  if (q < 0) {
    for (int i = 0; i < kMaxQueues && q < 0; ++i) {
      if (!g_queues[i].used) {
        g_queues[i] = Queue{};
        g_queues[i].used = true;
        snprintf(g_queues[i].name, sizeof g_queues[i].name, "%s", name);
        q = i;
      }
    }
  }
  if (q < 0) {
    dmtcp_log("sysvipc: more than %d POSIX queues: %s is not saved",
              kMaxQueues, name);
    return;
  }
  for (Desc& d : g_descs) {
    if (!d.used || d.fd == fd) {
      d = Desc{};
      d.used = true;
      d.fd = fd;
      d.queue = q;
      d.oflag = oflag & (O_ACCMODE | O_NONBLOCK);
      return;
    }
  }
  dmtcp_log("sysvipc: more than %d POSIX queue descriptors: fd %d is not "
            "saved",
            kMaxFds, fd);
}

void closed(int fd) {
  SpinGuard g(g_lock);
  for (Desc& d : g_descs) {
    if (d.used && d.fd == fd) {
      d = Desc{};
    }
  }
}

void notify_set(int fd, const sigevent* sev) {
  SpinGuard g(g_lock);
  for (Desc& d : g_descs) {
    if (d.used && d.fd == fd) {
      d.notify = sev != nullptr && sev->sigev_notify != SIGEV_THREAD;
      if (sev != nullptr) {
        d.sev = *sev;
      }
      if (sev != nullptr && sev->sigev_notify == SIGEV_THREAD) {
        dmtcp_log("sysvipc: mq_notify with SIGEV_THREAD on fd %d will not "
                  "be made again after a restart",
                  fd);
      }
    }
  }
}

// Exec keeps the descriptors the program made inheritable (mq_open sets
// close-on-exec; step 1 forgets the ones exec closed).
void save_for_exec(int fd) {
  if (write(fd, g_queues, sizeof g_queues) != sizeof g_queues ||
      write(fd, g_descs, sizeof g_descs) != sizeof g_descs) {
    dmtcp_log("sysvipc: POSIX queues lost across exec");
  }
}

void restore_after_exec(int fd) {
  if (read(fd, g_queues, sizeof g_queues) != sizeof g_queues ||
      read(fd, g_descs, sizeof g_descs) != sizeof g_descs) {
    memset(static_cast<void*>(g_queues), 0, sizeof g_queues);
    memset(static_cast<void*>(g_descs), 0, sizeof g_descs);
  }
}

// Step 1: forget descriptors the program closed (by close(), not
// mq_close) or replaced; note the flags that may have changed.
void check_fds() {
  for (Desc& d : g_descs) {
    if (!d.used) {
      continue;
    }
    struct stat st {};
    struct statfs fs {};
    if (sys(SYS_fstat, d.fd, reinterpret_cast<long>(&st)) != 0 ||
        sys(SYS_fstatfs, d.fd, reinterpret_cast<long>(&fs)) != 0 ||
        fs.f_type != kMqueueMagic ||
        (d.ino != 0 && st.st_ino != d.ino)) {
      d = Desc{};
      continue;
    }
    d.ino = st.st_ino;
    long fl = sys(SYS_fcntl, d.fd, F_GETFL);
    long fdfl = sys(SYS_fcntl, d.fd, F_GETFD);
    if (fl >= 0) {
      d.oflag = static_cast<int>(fl) & (O_ACCMODE | O_NONBLOCK);
    }
    d.cloexec = fdfl >= 0 && (fdfl & FD_CLOEXEC) != 0;
  }
  for (int q = 0; q < kMaxQueues; ++q) {
    if (g_queues[q].used && !queue_in_use(q)) {
      g_queues[q] = Queue{};
    }
  }
}

// Step 2: stand for saving each queue; note whether its name still leads
// to it.
void stand() {
  // A registration goes when its process closes any descriptor of the
  // queue (as the looks below do), and the saver's drain and refill would
  // fire it: every process drops its own now and makes it again in
  // REFILL, when the queues are as they were.
  for (Desc& d : g_descs) {
    if (d.used && d.notify) {
      d.notify = notify_active(d.queue);
      sys(SYS_mq_notify, d.fd, 0);
    }
  }
  pid_t me = self_vpid();
  for (int q = 0; q < kMaxQueues; ++q) {
    Queue& qu = g_queues[q];
    if (!qu.used) {
      continue;
    }
    qu.saver = false;
    ino_t ino = 0;
    for (const Desc& d : g_descs) {
      if (d.used && d.queue == q) {
        ino = d.ino;
      }
    }
    long fd = raw_open(qu.name, O_RDONLY | O_CLOEXEC);
    struct stat st {};
    qu.unlinked = fd < 0 || sys(SYS_fstat, fd, reinterpret_cast<long>(&st)) !=
                                    0 ||
                  st.st_ino != ino;
    if (fd >= 0) {
      sys(SYS_close, fd);
    }
    char key[NAME_MAX + kDomainLen + 32];
    int n = snprintf(key, sizeof key, "sysvipc:mq:saver:%s:%s", g_ckpt_domain,
                     qu.name);
    int32_t v = me;
    dmtcp_send_key_val_pair_to_coordinator(key, static_cast<size_t>(n), &v,
                                           sizeof v);
  }
}

// Step 3.
void elect() {
  pid_t me = self_vpid();
  for (Queue& qu : g_queues) {
    if (!qu.used) {
      continue;
    }
    char key[NAME_MAX + kDomainLen + 32];
    int n = snprintf(key, sizeof key, "sysvipc:mq:saver:%s:%s", g_ckpt_domain,
                     qu.name);
    int32_t v = 0;
    size_t len = sizeof v;
    qu.saver = dmtcp_send_query_to_coordinator(key, static_cast<size_t>(n),
                                               &v, &len) == 1 &&
               v == me;
  }
}

// Step 4: the saver takes every message off its queue.
void save() {
  for (int q = 0; q < kMaxQueues; ++q) {
    if (g_queues[q].used && g_queues[q].saver && !save_queue(q)) {
      g_queues[q].saver = false;
    }
  }
}

// Step 5.
void claim() {
  for (const Desc& d : g_descs) {
    if (d.used) {
      dmtcp_claim_fd(d.fd);
    }
  }
}

// Step 6: the messages go back, in the order they came out.
void resume() {
  for (int q = 0; q < kMaxQueues; ++q) {
    Queue& qu = g_queues[q];
    if (!qu.used || !qu.saver) {
      continue;
    }
    int fd = -1;
    for (const Desc& d : g_descs) {
      if (d.used && d.queue == q && (d.oflag & O_ACCMODE) != O_RDONLY) {
        fd = d.fd;
      }
    }
    long own = -1;
    if (fd < 0 && !qu.unlinked) {
      own = raw_open(qu.name, O_WRONLY | O_CLOEXEC);
      fd = static_cast<int>(own);
    }
    if (fd >= 0) {
      refill(qu, fd);
    } else if (qu.count > 0) {
      dmtcp_log("sysvipc: POSIX queue %s: no descriptor to send its %ld "
                "messages back with",
                qu.name, qu.count);
    }
    if (own >= 0) {
      sys(SYS_close, own);
    }
    release(qu);
    qu.saver = false;
  }
}

// Step 7: the saver makes each queue again, with its messages.
void remake() {
  for (Queue& qu : g_queues) {
    if (!qu.used || !qu.saver) {
      continue;
    }
    mq_attr attr{};
    attr.mq_maxmsg = qu.maxmsg;
    attr.mq_msgsize = qu.msgsize;
    long fd = raw_open(qu.name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
                       qu.mode, &attr);
    if (fd == -EEXIST) {
      char what[NAME_MAX + 200];
      snprintf(what, sizeof what,
               "the POSIX message queue %s exists on this host outside the "
               "computation; remove it and restart again",
               qu.name);
      fatal_restart(what);
    }
    if (fd < 0) {
      dmtcp_log("sysvipc: cannot make POSIX queue %s again: %s", qu.name,
                strerror(static_cast<int>(-fd)));
      release(qu);
      continue;
    }
    refill(qu, static_cast<int>(fd));
    sys(SYS_close, fd);
    release(qu);
  }
}

// Step 9: every descriptor at its number, and the notifications.
void reopen() {
  for (Desc& d : g_descs) {
    if (!d.used) {
      continue;
    }
    const Queue& qu = g_queues[d.queue];
    long fd = raw_open(qu.name, d.oflag | O_CLOEXEC);
    if (fd < 0) {
      dmtcp_log("sysvipc: cannot open POSIX queue %s again for fd %d: %s",
                qu.name, d.fd, strerror(static_cast<int>(-fd)));
      continue;
    }
    if (fd != d.fd) {
      sys(SYS_dup3, fd, d.fd, d.cloexec ? O_CLOEXEC : 0);
      sys(SYS_close, fd);
    } else if (!d.cloexec) {
      sys(SYS_fcntl, d.fd, F_SETFD, 0);
    }
    struct stat st {};
    sys(SYS_fstat, d.fd, reinterpret_cast<long>(&st));
    d.ino = st.st_ino;
  }
}

// Step 10 (resume and restart): the registrations dropped in step 2.
void notify_again() {
  for (Desc& d : g_descs) {
    if (!d.used || !d.notify) {
      continue;
    }
    long r = sys(SYS_mq_notify, d.fd, reinterpret_cast<long>(&d.sev));
    if (r != 0) {
      dmtcp_log("sysvipc: cannot register mq_notify on %s again: %s",
                g_queues[d.queue].name, strerror(static_cast<int>(-r)));
    }
  }
}

// Step 10: a queue whose name was gone goes again, now that every
// process has opened it.
void finish_restart() {
  for (Queue& qu : g_queues) {
    if (qu.used && qu.saver && qu.unlinked) {
      sys(SYS_mq_unlink, reinterpret_cast<long>(bare(qu.name)));
    }
  }
}

}  // namespace dmtcp::sysvipc::posix_mq
