// socket_held.cpp -- bytes in flight that did not fit back into a stream
// connection at REFILL, kept in the receiver's memory and given to the
// program's reads first (docs/socket.md, "More in flight than fits").
//
// Why the receiver: at REFILL the writer writes all of it while the
// receiving end reads the head back out (socket_drain.cpp, refill), so
// the kernel ends holding the tail and this process the head.  The
// program's reads take the head here, then the tail from the kernel, then
// whatever the peer writes after the threads resume: order is kept with
// no gate on the writer, no thread of ours, and the kernel queue is never
// empty while bytes are held, so poll/epoll/select report the socket
// readable as they should.
//
// Purpose: the held bytes of each receiving end, and the read wrappers
// that serve them.  An end other processes hold too keeps its bytes in a
// region all of them map (socket_held_shared.cpp); the wrappers serve
// both kinds alike.
// Refuses nothing silently: bytes a fork child or an exec cannot have are
// named with one line.
// Thread safety: user threads serve reads under g_lock inside a
// DMTCP_PLUGIN_DISABLE_CKPT pair (no checkpoint meets a half-served
// read); the checkpoint thread's hooks (hold, take_back_holds) run while
// user threads are suspended.  The fast path reads one atomic counter.
// Allocation: dmtcp_alloc() only (the holds come back with the image).
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "dmtcp/plugin.h"
#include "socket_table.h"

#define DMTCP_SOCKET_EXPORT extern "C" __attribute__((visibility("default")))

namespace dmtcp::sock {
namespace {

// An end holding bytes: every fd of this process for it, its inode (an fd
// closed and reused for another socket is told apart), the bytes: its
// own, or a region every process holding the end maps
// (socket_held_shared.cpp).
struct Hold {
  uint64_t ino = 0;
  HookVector<int> fds;
  Bytes bytes;
  size_t off = 0;  // taken so far
  HoldRegion* region = nullptr;
  size_t region_len = 0;
};

// Fds below this can be marked; an end at a higher fd keeps no bytes
// (refill() says so).
constexpr int kMarkFds = 1 << 16;

// Protects: g_holds, g_marks (user threads; the hooks run alone).
std::atomic_flag g_lock = ATOMIC_FLAG_INIT;
HookVector<Hold> g_holds;
// The fast path: no hold in this process.
std::atomic<uint32_t> g_count{0};
// 1 for an fd of some hold (read without the lock: a stale 1 only takes
// the slow path).
std::atomic<uint8_t>* g_marks = nullptr;

class Locked {
 public:
  Locked() {
    DMTCP_PLUGIN_DISABLE_CKPT();
    while (g_lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~Locked() {
    g_lock.clear(std::memory_order_release);
    DMTCP_PLUGIN_ENABLE_CKPT();
  }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;
};

inline bool maybe_held(int fd) {
  return __builtin_expect(g_count.load(std::memory_order_relaxed) != 0, 0) &&
         fd >= 0 && fd < kMarkFds &&
         g_marks[fd].load(std::memory_order_relaxed) != 0;
}

bool in_some_hold(int fd) {
  for (const Hold& h : g_holds) {
    for (int f : h.fds) {
      if (f == fd) {
        return true;
      }
    }
  }
  return false;
}

// Marks are set before a hold is visible and cleared only for fds no hold
// has any more: a thread reading another holding fd never misses its
// mark.
void unmark_unused(const HookVector<int>& fds) {
  for (int fd : fds) {
    if (!in_some_hold(fd)) {
      g_marks[fd].store(0, std::memory_order_relaxed);
    }
  }
}

void mark(int fd) {
  g_marks[fd].store(1, std::memory_order_relaxed);
}

void count() {
  g_count.store(static_cast<uint32_t>(g_holds.size()),
                std::memory_order_release);
}

void drop(size_t i) {
  HookVector<int> fds;
  fds.swap(g_holds[i].fds);
  if (g_holds[i].region != nullptr) {
    munmap(g_holds[i].region, g_holds[i].region_len);
  }
  g_holds.erase(g_holds.begin() + static_cast<ptrdiff_t>(i));
  unmark_unused(fds);
  count();
}

void drop_fd(Hold* h, size_t k) {
  int fd = h->fds[k];
  h->fds.erase(h->fds.begin() + static_cast<ptrdiff_t>(k));
  HookVector<int> one;
  one.push_back(fd);
  unmark_unused(one);
}

uint64_t socket_ino(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return 0;
  }
  return st.st_ino;
}

// The hold whose end fd is now, or -1 (fds that left it are forgotten).
// Under the lock.
ptrdiff_t find(int fd) {
  for (size_t i = 0; i < g_holds.size(); ++i) {
    Hold& h = g_holds[i];
    for (size_t k = 0; k < h.fds.size(); ++k) {
      if (h.fds[k] != fd) {
        continue;
      }
      if (socket_ino(fd) == h.ino) {
        return static_cast<ptrdiff_t>(i);
      }
      drop_fd(&h, k);
      return -1;
    }
  }
  return -1;
}

// Copies up to `left` bytes from `from` into iov (into nothing when
// `discard`); how many.
size_t copy_out(const char* from, size_t left, const iovec* iov, size_t iovcnt,
                bool discard, size_t discard_len) {
  size_t n = 0;
  if (discard) {
    return discard_len < left ? discard_len : left;
  }
  for (size_t k = 0; k < iovcnt && n < left; ++k) {
    size_t m = iov[k].iov_len < left - n ? iov[k].iov_len : left - n;
    memcpy(iov[k].iov_base, from + n, m);
    n += m;
  }
  return n;
}

// Copies held bytes of fd into iov (into nothing when `discard`), taking
// them unless `peek`.  -1: fd holds none, the caller reads the kernel.
ssize_t take(int fd, const iovec* iov, size_t iovcnt, bool peek,
             bool discard, size_t discard_len) {
  Locked lock;
  ptrdiff_t i = find(fd);
  if (i < 0) {
    return -1;
  }
  Hold& h = g_holds[static_cast<size_t>(i)];
  if (h.region != nullptr) {
    // Another process may have taken them all: then the kernel's queue
    // is next (never a 0 that would read as end of file).
    HoldRegion* r = h.region;
    lock_region(r);
    size_t left = r->len - r->off;
    size_t n =
        copy_out(r->bytes() + r->off, left, iov, iovcnt, discard, discard_len);
    if (!peek) {
      r->off += n;
    }
    bool empty = r->off == r->len;
    unlock_region(r);
    if (empty && (!peek || left == 0)) {
      drop(static_cast<size_t>(i));
    }
    return left == 0 ? -1 : static_cast<ssize_t>(n);
  }
  size_t left = h.bytes.size() - h.off;
  size_t n =
      copy_out(h.bytes.data() + h.off, left, iov, iovcnt, discard, discard_len);
  if (!peek) {
    h.off += n;
    if (h.off == h.bytes.size()) {
      drop(static_cast<size_t>(i));
    }
  }
  return static_cast<ssize_t>(n);
}

size_t iov_total(const iovec* iov, size_t n) {
  size_t t = 0;
  for (size_t k = 0; k < n; ++k) {
    t += iov[k].iov_len;
  }
  return t;
}

// recv-style flags: MSG_PEEK keeps the bytes, MSG_TRUNC (TCP) discards
// them, MSG_WAITALL reads the rest from the kernel; MSG_OOB and
// MSG_ERRQUEUE are not the stream's bytes.
bool for_us(int flags) {
  return (flags & (MSG_OOB | MSG_ERRQUEUE)) == 0;
}

}  // namespace

namespace {

// Hooks only (no user thread runs): the holds with (or without) a region.
void clear(bool regions) {
  for (size_t i = g_holds.size(); i-- > 0;) {
    if ((g_holds[i].region != nullptr) == regions) {
      drop(i);
    }
  }
}

void make_marks() {
  if (g_marks == nullptr) {
    g_marks = static_cast<std::atomic<uint8_t>*>(
        dmtcp_alloc(kMarkFds * sizeof(std::atomic<uint8_t>)));
    for (int fd = 0; fd < kMarkFds; ++fd) {
      new (&g_marks[fd]) std::atomic<uint8_t>(0);
    }
  }
}

// Hold h for every fd of this process for t.descs[desc].
void add(const Table& t, uint32_t desc, Hold* h) {
  make_marks();
  h->ino = socket_ino(t.descs[desc].first_fd);
  for (const FdSlot& s : t.fds) {
    if (s.desc == desc && s.fd < kMarkFds) {
      h->fds.push_back(s.fd);
    }
  }
  for (int fd : h->fds) {
    mark(fd);
  }
  g_holds.push_back(std::move(*h));
  count();
}

}  // namespace

void hold(Table& t, uint32_t desc, Bytes* head) {
  Desc& d = t.descs[desc];
  if (head->empty()) {
    return;
  }
  if (d.region != nullptr &&
      sizeof(HoldRegion) + head->size() <= d.region_len) {
    // A shared end: the head goes where every holder reads it (the
    // region was made for all the bytes in flight: the head fits).
    HoldRegion* r = d.region;
    memcpy(r->bytes(), head->data(), head->size());
    r->off = 0;
    r->len = head->size();
    head->clear();
    hold_region(t, desc, r, d.region_len);
    d.region = nullptr;
    return;
  }
  Hold h;
  h.bytes.swap(*head);
  add(t, desc, &h);
}

void hold_region(const Table& t, uint32_t desc, HoldRegion* r, size_t len) {
  Hold h;
  h.region = r;
  h.region_len = len;
  add(t, desc, &h);
}

bool can_hold(const Desc& d) {
  return d.first_fd < kMarkFds && (!d.shared || d.region != nullptr);
}

namespace {

// Ends with less in flight always fit back (a fresh loopback TCP
// connection takes about 4.8 MiB, a UNIX stream its sender's SO_SNDBUF,
// which comes back with the options): no need to ask.
constexpr size_t kShareCheck = 1 << 16;

struct SharerKey {
  char tag[2];
  unsigned char id[sizeof(SockId)];
} __attribute__((packed));

// 'sx': a non-leader holds it too; 'sh': its leader keeps a region.
SharerKey sharer_key(const SockId& id, char what) {
  SharerKey k{};
  k.tag[0] = 's';
  k.tag[1] = what;
  memcpy(k.id, &id, sizeof k.id);
  return k;
}

// Publishes key (id, what); said() asks whether someone did.
void say(const SockId& id, char what) {
  SharerKey k = sharer_key(id, what);
  char one = 1;
  dmtcp_send_key_val_pair_to_coordinator(&k, sizeof k, &one, 1);
}

bool said(const SockId& id, char what) {
  SharerKey k = sharer_key(id, what);
  char v[8];
  size_t len = sizeof v;
  return dmtcp_send_query_to_coordinator(&k, sizeof k, v, &len) == 1;
}

}  // namespace

void publish_sharers(const Table& t) {
  for (const Desc& d : t.descs) {
    if (d.el.leader || d.role != Role::kConnected || d.type != SOCK_STREAM) {
      continue;
    }
    say(d.id, 'x');
  }
}

void find_sharers(Table* t) {
  for (Desc& d : t->descs) {
    d.shared = false;
    if (!d.el.leader || d.where != Peer::kInside || d.type != SOCK_STREAM ||
        d.data.size() < kShareCheck) {
      continue;
    }
    d.shared = said(d.id, 'x');
    if (d.shared && d.first_fd < kMarkFds) {
      say(d.id, 'h');
    }
  }
}

void learn_shared_holds(Table* t) {
  for (Desc& d : t->descs) {
    d.hold_shared = false;
    if (d.el.leader || d.role != Role::kConnected || d.type != SOCK_STREAM ||
        d.first_fd >= kMarkFds) {
      continue;
    }
    d.hold_shared = said(d.id, 'h');
  }
}

namespace {

Desc* find_owner(Table* t, const Hold& h) {
  for (Desc& d : t->descs) {
    if (d.id.ino == h.ino) {
      return &d;
    }
  }
  return nullptr;
}

}  // namespace

void take_back_holds(Table* t) {
  for (Desc& d : t->descs) {
    d.held.clear();
  }
  for (Hold& h : g_holds) {
    Desc* owner = find_owner(t, h);
    if (owner == nullptr || h.region != nullptr) {
      // Closed unread, as the program may; or a shared end's region, taken
      // back at DRAIN once every holder has stopped reading it.
      continue;
    }
    owner->held.assign(h.bytes.begin() + static_cast<ptrdiff_t>(h.off),
                       h.bytes.end());
  }
  clear(false);
}

void take_back_shared_holds(Table* t) {
  for (Hold& h : g_holds) {
    Desc* owner = find_owner(t, h);
    if (h.region == nullptr || owner == nullptr || !owner->el.leader) {
      continue;  // the leader (another process) takes them
    }
    HoldRegion* r = h.region;
    lock_region(r);
    owner->held.assign(r->bytes() + r->off, r->bytes() + r->len);
    unlock_region(r);
  }
  clear(true);
}

void forget_holds(const char* why) {
  // A region's bytes stay with the other processes holding the end.
  size_t n = 0;
  for (const Hold& h : g_holds) {
    n += h.bytes.size() - h.off;
  }
  if (n != 0) {
    dmtcp_log(
        "socket plugin: %zu bytes in flight at the last checkpoint, kept "
        "for reads in process %d, are lost %s",
        n, static_cast<int>(dmtcp_real_to_virtual_pid(getpid())), why);
  }
  clear(false);
  clear(true);
}

void share_holds_before_fork() {
  if (g_count.load(std::memory_order_acquire) == 0) {
    return;
  }
  // The child may read the end as well as we: one copy both map, with one
  // offset (taken back by whichever process leads the end next).  On
  // failure the bytes stay ours; a child reading the end first would get
  // the kernel's later bytes first (one line).
  Locked lock;
  for (Hold& h : g_holds) {
    if (h.region != nullptr) {
      continue;
    }
    size_t left = h.bytes.size() - h.off;
    size_t len = 0;
    int fd = -1;
    HoldRegion* r = new_region(left, 0, &len, &fd);
    if (fd >= 0) {
      close(fd);
    }
    if (r == nullptr) {
      dmtcp_log(
          "socket plugin: %zu bytes held for fd %d stay with process %d "
          "across a fork (%s)",
          left, h.fds.empty() ? -1 : h.fds[0],
          static_cast<int>(dmtcp_real_to_virtual_pid(getpid())),
          strerror(errno));
      continue;
    }
    memcpy(r->bytes(), h.bytes.data() + h.off, left);
    r->len = left;
    h.region = r;
    h.region_len = len;
    h.bytes.clear();
    h.bytes.shrink_to_fit();
    h.off = 0;
  }
}

void forget_holds_in_child() {
  // The parent keeps serving its own held bytes (those
  // share_holds_before_fork() could not move); a second copy would
  // duplicate them.  A region is the child's as much as the parent's
  // (fork shares the mapping; its offset is one for all).  The forking
  // thread is the child's only one: a lock another parent thread held is
  // nobody's here.
  g_lock.clear(std::memory_order_release);
  clear(false);
}

}  // namespace dmtcp::sock

namespace sk = dmtcp::sock;

// --- the read wrappers ------------------------------------------------------
// Each: one counter test when no end holds bytes (every call but the
// first few after a restart that overflowed); else held bytes first.

DMTCP_SOCKET_EXPORT ssize_t read(int fd, void* buf, size_t n) {
  if (sk::maybe_held(fd)) {
    iovec v{buf, n};
    ssize_t r = sk::take(fd, &v, 1, false, false, 0);
    if (r >= 0) {
      return r;
    }
  }
  return NEXT_FNC(read)(fd, buf, n);
}

DMTCP_SOCKET_EXPORT ssize_t __read_chk(int fd, void* buf, size_t n,
                                       size_t buflen) {
  if (n <= buflen && sk::maybe_held(fd)) {
    iovec v{buf, n};
    ssize_t r = sk::take(fd, &v, 1, false, false, 0);
    if (r >= 0) {
      return r;
    }
  }
  return NEXT_FNC(__read_chk)(fd, buf, n, buflen);
}

DMTCP_SOCKET_EXPORT ssize_t readv(int fd, const iovec* iov, int cnt) {
  if (cnt > 0 && sk::maybe_held(fd)) {
    ssize_t r = sk::take(fd, iov, static_cast<size_t>(cnt), false, false, 0);
    if (r >= 0) {
      return r;
    }
  }
  return NEXT_FNC(readv)(fd, iov, cnt);
}

namespace {

// recv and recvfrom: held bytes, then with MSG_WAITALL the rest from the
// kernel.  *served false: fd holds none, the caller reads the kernel.
ssize_t recv_held(int fd, void* buf, size_t len, int flags, bool* served) {
  *served = false;
  if (!sk::for_us(flags) || !sk::maybe_held(fd)) {
    return 0;
  }
  iovec v{buf, len};
  bool trunc = (flags & MSG_TRUNC) != 0;
  ssize_t r = sk::take(fd, &v, 1, (flags & MSG_PEEK) != 0, trunc, len);
  if (r < 0) {
    return 0;
  }
  *served = true;
  size_t got = static_cast<size_t>(r);
  if ((flags & MSG_WAITALL) != 0 && (flags & MSG_PEEK) == 0 && got < len) {
    int saved = errno;
    char* rest = trunc ? static_cast<char*>(buf) : static_cast<char*>(buf) + got;
    ssize_t more = NEXT_FNC(recv)(fd, rest, len - got, flags);
    if (more > 0) {
      got += static_cast<size_t>(more);
    }
    errno = saved;
  }
  return static_cast<ssize_t>(got);
}

}  // namespace

DMTCP_SOCKET_EXPORT ssize_t recv(int fd, void* buf, size_t len, int flags) {
  bool served;
  ssize_t r = recv_held(fd, buf, len, flags, &served);
  return served ? r : NEXT_FNC(recv)(fd, buf, len, flags);
}

DMTCP_SOCKET_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t len,
                                       size_t buflen, int flags) {
  if (len > buflen) {
    return NEXT_FNC(__recv_chk)(fd, buf, len, buflen, flags);
  }
  return recv(fd, buf, len, flags);
}

DMTCP_SOCKET_EXPORT ssize_t recvfrom(int fd, void* buf, size_t len, int flags,
                                     sockaddr* addr, socklen_t* alen) {
  bool served;
  ssize_t r = recv_held(fd, buf, len, flags, &served);
  if (!served) {
    return NEXT_FNC(recvfrom)(fd, buf, len, flags, addr, alen);
  }
  if (alen != nullptr) {
    *alen = 0;  // a stream's bytes: no sender address
  }
  return r;
}

DMTCP_SOCKET_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t len,
                                           size_t buflen, int flags,
                                           sockaddr* addr, socklen_t* alen) {
  if (len > buflen) {
    return NEXT_FNC(__recvfrom_chk)(fd, buf, len, buflen, flags, addr, alen);
  }
  return recvfrom(fd, buf, len, flags, addr, alen);
}

DMTCP_SOCKET_EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  if (!sk::for_us(flags) || !sk::maybe_held(fd)) {
    return NEXT_FNC(recvmsg)(fd, msg, flags);
  }
  ssize_t r = sk::take(fd, msg->msg_iov, msg->msg_iovlen,
                       (flags & MSG_PEEK) != 0, (flags & MSG_TRUNC) != 0,
                       sk::iov_total(msg->msg_iov, msg->msg_iovlen));
  if (r < 0) {
    return NEXT_FNC(recvmsg)(fd, msg, flags);
  }
  msg->msg_namelen = 0;
  msg->msg_controllen = 0;
  msg->msg_flags = 0;
  return r;
}

DMTCP_SOCKET_EXPORT int recvmmsg(int fd, mmsghdr* v, unsigned int n, int flags,
                                 timespec* timeout) {
  if (n == 0 || !sk::for_us(flags) || !sk::maybe_held(fd)) {
    return NEXT_FNC(recvmmsg)(fd, v, n, flags, timeout);
  }
  // One message of held bytes; the kernel's come with the next call.
  ssize_t r = recvmsg(fd, &v[0].msg_hdr, flags & ~MSG_WAITFORONE);
  if (r < 0) {
    return -1;
  }
  v[0].msg_len = static_cast<unsigned int>(r);
  return 1;
}

DMTCP_SOCKET_EXPORT ssize_t splice(int in, loff_t* in_off, int out,
                                   loff_t* out_off, size_t len,
                                   unsigned int flags) {
  if (in_off == nullptr && sk::maybe_held(in)) {
    // Held bytes go out with write(); peeked first, taken as written.
    char buf[65536];
    iovec v{buf, len < sizeof buf ? len : sizeof buf};
    ssize_t r = sk::take(in, &v, 1, true, false, 0);
    if (r >= 0) {
      ssize_t w =
          out_off == nullptr
              ? NEXT_FNC(write)(out, buf, static_cast<size_t>(r))
              : NEXT_FNC(pwrite)(out, buf, static_cast<size_t>(r), *out_off);
      if (w > 0) {
        sk::take(in, nullptr, 0, false, true, static_cast<size_t>(w));
        if (out_off != nullptr) {
          *out_off += w;
        }
      }
      return w;
    }
  }
  return NEXT_FNC(splice)(in, in_off, out, out_off, len, flags);
}

// dup, dup2, dup3: a copy of a holding fd holds too.
namespace {

int also_holds(int oldfd, int newfd) {
  if (newfd < 0 || newfd >= sk::kMarkFds ||
      (!sk::maybe_held(oldfd) && !sk::maybe_held(newfd))) {
    return newfd;
  }
  int saved = errno;
  {
    sk::Locked lock;
    for (sk::Hold& h : sk::g_holds) {
      for (size_t k = 0; k < h.fds.size(); ++k) {
        if (h.fds[k] == newfd) {
          sk::drop_fd(&h, k);
          break;
        }
      }
    }
    ptrdiff_t i = sk::find(oldfd);
    if (i >= 0) {
      sk::mark(newfd);
      sk::g_holds[static_cast<size_t>(i)].fds.push_back(newfd);
    }
  }
  errno = saved;
  return newfd;
}

}  // namespace

DMTCP_SOCKET_EXPORT int dup(int fd) {
  return also_holds(fd, NEXT_FNC(dup)(fd));
}

DMTCP_SOCKET_EXPORT int dup2(int fd, int newfd) {
  int r = NEXT_FNC(dup2)(fd, newfd);
  return r == fd ? r : also_holds(fd, r);
}

DMTCP_SOCKET_EXPORT int dup3(int fd, int newfd, int flags) {
  return also_holds(fd, NEXT_FNC(dup3)(fd, newfd, flags));
}
