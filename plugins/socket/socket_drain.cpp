// socket_drain.cpp -- the bytes in flight between two ends of a connection
// inside the computation: drained at DRAIN, written back at REFILL (resume
// and restart alike), exactly once and in order.
//
// Where in-flight bytes sit decides how they are taken:
//  - UNIX stream: a sender's bytes go straight onto the receiver's queue,
//    so everything in flight towards an end is in its own queue.  It is
//    read with MSG_PEEK (nothing consumed): resume has nothing to put back.
//  - UNIX datagram and seqpacket: the same, but a peek sees one message at
//    a time, so the queue is read empty (each message with its length) and
//    written back at REFILL.
//  - TCP: bytes may still sit in the sender's queue (the receiver's window
//    closed, Nagle, TCP_CORK).  Each end sends a 32-byte random marker its
//    peer learnt at LEADER_ELECTION (after TCP_NODELAY on, TCP_CORK off, to
//    push everything out) and reads until its stream ends with the peer's
//    marker: then nothing of the peer's is in flight any more.  An end whose
//    peer shut its writing side cannot get a marker; it waits for the FIN
//    and peeks instead.  All TCP ends of the process are served by one poll
//    loop, so two ends in one process, or a full window in both directions,
//    cannot deadlock.
// Writing back: bytes towards end E are written into E's peer, by the
// process leading the peer.  When that is another process, E's leader
// publishes them (REGISTER_NAME_SERVICE_DATA, chunks of at most 1 MiB) and
// the writer fetches them (SEND_QUERIES) before writing (REFILL).
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/plugin.h"
#include "socket_table.h"

namespace dmtcp::sock {
namespace {

constexpr size_t kChunk = 1 << 20;
constexpr int kDrainTimeoutMs = 30000;
constexpr int kRefillTimeoutMs = 10000;

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Waits at most cap_ms for any of pfds; false once the deadline passed.
bool poll_until(HookVector<pollfd>* pfds, int64_t deadline, int cap_ms) {
  int64_t left = deadline - now_ms();
  if (left <= 0) {
    return false;
  }
  poll(pfds->data(), pfds->size(),
       left < cap_ms ? static_cast<int>(left) : cap_ms);
  return true;
}

bool is_tcp(const Desc& d) {
  return (d.family == AF_INET || d.family == AF_INET6) && d.type == SOCK_STREAM;
}

bool is_stream(const Desc& d) {
  return d.type == SOCK_STREAM;
}

// Room for `more` bytes at the end of b (doubling, so reads stay linear).
char* grow(Bytes* b, size_t more) {
  size_t old = b->size();
  if (b->capacity() < old + more) {
    size_t cap = b->capacity() < 4096 ? 4096 : b->capacity();
    while (cap < old + more) {
      cap *= 2;
    }
    b->reserve(cap);
  }
  b->resize(old + more);
  return b->data() + old;
}

void peek_queue(Desc* d) {
  int avail = 0;
  if (ioctl(d->first_fd, FIONREAD, &avail) != 0 || avail <= 0) {
    return;
  }
  char* p = grow(&d->data, static_cast<size_t>(avail));
  ssize_t n =
      recv(d->first_fd, p, static_cast<size_t>(avail), MSG_PEEK | MSG_DONTWAIT);
  d->data.resize(n > 0 ? static_cast<size_t>(n) : 0);
  d->consumed = false;
}

// Datagrams (and seqpacket records): read the queue empty, each message
// stored after its 4-byte length.
void drain_messages(Desc* d) {
  static char* buf = nullptr;
  constexpr size_t kMax = 1 << 20;
  if (buf == nullptr) {
    buf = static_cast<char*>(dmtcp_alloc(kMax));
  }
  for (;;) {
    ssize_t n = recv(d->first_fd, buf, kMax, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      break;  // EAGAIN: empty
    }
    if (n == 0 && d->type == SOCK_SEQPACKET) {
      break;  // end of file
    }
    uint32_t len = static_cast<uint32_t>(
        n > static_cast<ssize_t>(kMax) ? kMax : static_cast<size_t>(n));
    char* p = grow(&d->data, sizeof len + len);
    memcpy(p, &len, sizeof len);
    memcpy(p + sizeof len, buf, len);
    d->consumed = true;
  }
}

bool fin_received(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
    return true;
  }
  switch (ti.tcpi_state) {
    case TCP_CLOSE_WAIT:
    case TCP_LAST_ACK:
    case TCP_CLOSING:
    case TCP_TIME_WAIT:
    case TCP_CLOSE:
      return true;
    default:
      return false;
  }
}

struct TcpDrain {
  uint32_t desc;
  size_t marker_sent;  // 32: sent, or not to be sent (we shut writing)
  bool done;
};

void drain_tcp(Table* t) {
  HookVector<TcpDrain> ends;
  for (uint32_t i = 0; i < t->descs.size(); ++i) {
    Desc& d = t->descs[i];
    if (d.el.leader && d.where == Peer::kInside && is_tcp(d)) {
      int one = 1, zero = 0;
      setsockopt(d.first_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt(d.first_fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero);
      ends.push_back({i, (d.shut & 2) != 0 ? sizeof d.marker : 0, false});
    }
  }
  HookVector<pollfd> pfds;
  int64_t deadline = now_ms() + kDrainTimeoutMs;
  for (;;) {
    pfds.clear();
    for (TcpDrain& e : ends) {
      Desc& d = t->descs[e.desc];
      if (e.marker_sent < sizeof d.marker) {
        ssize_t n =
            send(d.first_fd, d.marker + e.marker_sent,
                 sizeof d.marker - e.marker_sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
          e.marker_sent += static_cast<size_t>(n);
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          e.marker_sent = sizeof d.marker;  // EPIPE...: peer reads to EOF
        }
      }
      if (!e.done && (d.peer_shut & 2) != 0) {
        // The peer shut its side: everything before its FIN is ours once
        // the FIN is in; peek it (resume then has nothing to put back).
        if (fin_received(d.first_fd)) {
          peek_queue(&d);
          e.done = true;
        }
      } else {
        while (!e.done) {
          char* p = grow(&d.data, 65536);
          ssize_t n = recv(d.first_fd, p, 65536, MSG_DONTWAIT);
          d.data.resize(d.data.size() - 65536 + (n > 0 ? n : 0));
          if (n > 0) {
            d.consumed = true;
            size_t m = sizeof d.peer_marker;
            if (d.data.size() >= m && memcmp(d.data.data() + d.data.size() - m,
                                             d.peer_marker, m) == 0) {
              d.data.resize(d.data.size() - m);
              e.done = true;
            }
            continue;
          }
          if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            e.done = true;  // end of file or reset: nothing more will come
          }
          break;
        }
      }
      bool more_out = e.marker_sent < sizeof d.marker;
      if (!e.done || more_out) {
        pollfd p{};
        p.fd = d.first_fd;
        p.events = static_cast<short>((e.done ? 0 : POLLIN) |
                                      (more_out ? POLLOUT : 0));
        pfds.push_back(p);
      }
    }
    if (pfds.empty()) {
      return;
    }
    if (!poll_until(&pfds, deadline, 20)) {
      break;
    }
  }
  for (TcpDrain& e : ends) {
    Desc& d = t->descs[e.desc];
    if (!e.done) {
      char buf[400];
      d.drain_failed = true;
      dmtcp_log(
          "socket plugin: fd %d (%s): its peer's data did not all "
          "arrive in %d s; %zu bytes saved, the rest is lost",
          d.first_fd, describe(d, buf, sizeof buf), kDrainTimeoutMs / 1000,
          d.data.size());
    }
  }
}

// A UNIX datagram socket bound to a name and connected to no one (a
// server): its queue is read at DRAIN and sent back to its own name at
// REFILL (the senders' addresses are not kept).
bool self_refilled(const Desc& d) {
  return d.role == Role::kBound && d.family == AF_UNIX &&
         d.type == SOCK_DGRAM && d.local_len > sizeof(sa_family_t);
}

void send_to_self(const Desc& d) {
  size_t off = 0;
  while (off + sizeof(uint32_t) <= d.data.size()) {
    uint32_t m;
    memcpy(&m, d.data.data() + off, sizeof m);
    off += sizeof m;
    ssize_t n =
        sendto(d.first_fd, d.data.data() + off, m, MSG_DONTWAIT | MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&d.local), d.local_len);
    if (n < 0) {
      char buf[400];
      dmtcp_log(
          "socket plugin: fd %d (%s): queued datagrams not put back: "
          "%s",
          d.first_fd, describe(d, buf, sizeof buf), strerror(errno));
      return;
    }
    off += m;
  }
}

bool needs_refill(const Desc& d, bool restart) {
  return d.el.leader && d.where == Peer::kInside && !d.data.empty() &&
         (restart || d.consumed);
}

struct DataKey {
  char tag[2];
  unsigned char id[sizeof(SockId)];
  uint32_t chunk;
} __attribute__((packed));

DataKey data_key(const SockId& id, uint32_t chunk) {
  DataKey k{};
  k.tag[0] = 's';
  k.tag[1] = 'd';
  memcpy(k.id, &id, sizeof k.id);
  k.chunk = chunk;
  return k;
}

// Writes b into fd whole (a stream) or message by message, never blocking
// for more than the refill timeout overall.
bool write_all(int fd, const Desc& d, const Bytes& b) {
  int64_t deadline = now_ms() + kRefillTimeoutMs;
  size_t off = 0;
  while (off < b.size()) {
    const char* p = b.data() + off;
    size_t len = b.size() - off;
    size_t skip = 0;
    if (!is_stream(d)) {
      uint32_t m;
      memcpy(&m, p, sizeof m);
      p += sizeof m;
      len = m;
      skip = sizeof m;
    }
    ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      off += is_stream(d) ? static_cast<size_t>(n) : skip + len;
      continue;
    }
    if ((errno != EAGAIN && errno != EINTR) || now_ms() > deadline) {
      char buf[400];
      dmtcp_log(
          "socket plugin: fd %d (%s): %zu of %zu bytes in flight not "
          "written back: %s",
          d.first_fd, describe(d, buf, sizeof buf), b.size() - off, b.size(),
          strerror(errno));
      return false;
    }
    pollfd pf{fd, POLLOUT, 0};
    poll(&pf, 1, 20);
  }
  return true;
}

// Bytes the program had not read yet of an earlier refill come before
// what was drained now.  A drained stream (TCP) is refilled whole; a
// peeked one (UNIX stream) keeps its queue at resume and keeps these
// bytes held again (refill, below), and at restart all of data goes back.
void put_held_first(Table* t) {
  for (Desc& d : t->descs) {
    if (d.held.empty()) {
      continue;
    }
    if (!d.el.leader) {
      // A fork child chosen as leader of an end its parent held bytes
      // for: the bytes cannot reach the leader's drain.
      char buf[400];
      dmtcp_log(
          "socket plugin: fd %d (%s): %zu bytes in flight kept in this "
          "process since the last restart are lost (another process "
          "leads the socket now)",
          d.first_fd, describe(d, buf, sizeof buf), d.held.size());
      d.held.clear();
      continue;
    }
    d.held_len = d.held.size();
    d.held.insert(d.held.end(), d.data.begin(), d.data.end());
    d.data.swap(d.held);
    d.held.clear();
    d.held.shrink_to_fit();
  }
}

// An end whose bytes in flight its peer's writer writes back at this
// REFILL, into a stream: it reads the head of them back out as they
// come, so that however little a fresh connection holds, all of them are
// written; the head stays in memory for the program's reads
// (socket_held.cpp), the tail in the kernel.
bool receives_refill(const Desc& d, bool restart) {
  return is_stream(d) && needs_refill(d, restart) && !d.stand_in &&
         can_hold(d);
}

struct Flow {
  uint32_t desc;
  bool writer;    // writes d.incoming into d; else reads towards d
  bool finished;
  size_t done;    // written, or read back out
  // Receivers: the queue as last seen and since when; full once it
  // stopped growing short of the total (then read back out at once).
  size_t last_queued;
  int64_t since;
  bool full;
};

// A receiver's queue that has not grown for this long, short of all the
// bytes, means the connection is full: only then is any byte read back
// out (an end whose bytes all fit keeps none in memory).
constexpr int64_t kStallMs = 20;

// Writers push their bytes; receivers read back out what arrives while
// the rest has not all arrived (done + queued < total), never the last
// byte: the kernel keeps the tail, and the socket polls readable while
// the head is held.  One poll loop for both roles: the two ends of a
// connection may both be in this process.
void refill_streams(Table* t, bool restart) {
  HookVector<Flow> flows;
  for (uint32_t i = 0; i < t->descs.size(); ++i) {
    const Desc& d = t->descs[i];
    if (is_stream(d) && !d.incoming.empty()) {
      flows.push_back({i, true, false, 0, 0, 0, false});
    }
    if (receives_refill(d, restart)) {
      flows.push_back({i, false, false, 0, 0, now_ms(), false});
    }
  }
  if (flows.empty()) {
    return;
  }
  static char* scratch = nullptr;
  constexpr size_t kScratch = 1 << 16;
  if (scratch == nullptr) {
    scratch = static_cast<char*>(dmtcp_alloc(kScratch));
  }
  HookVector<pollfd> pfds;
  int64_t deadline = now_ms() + kRefillTimeoutMs;
  for (;;) {
    pfds.clear();
    bool moved = false, busy = false;
    for (Flow& f : flows) {
      if (f.finished) {
        continue;
      }
      Desc& d = t->descs[f.desc];
      int fd = d.first_fd;
      if (f.writer) {
        ssize_t n = send(fd, d.incoming.data() + f.done,
                         d.incoming.size() - f.done,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
          f.done += static_cast<size_t>(n);
          f.finished = f.done == d.incoming.size();
          moved = true;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          char buf[400];
          dmtcp_log(
              "socket plugin: fd %d (%s): %zu of %zu bytes in flight not "
              "written back: %s",
              fd, describe(d, buf, sizeof buf), d.incoming.size() - f.done,
              d.incoming.size(), strerror(errno));
          f.finished = true;
          f.done = d.incoming.size();
        } else {
          pfds.push_back(pollfd{fd, POLLOUT, 0});
        }
      } else {
        int queued = 0;
        if (ioctl(fd, FIONREAD, &queued) != 0 || queued < 0) {
          queued = 0;
        }
        if (f.done + static_cast<size_t>(queued) >= d.data.size()) {
          f.finished = true;  // all arrived: the rest stays queued
          continue;
        }
        size_t q = static_cast<size_t>(queued);
        if (!f.full) {
          if (q != f.last_queued || q == 0) {
            f.last_queued = q;
            f.since = now_ms();
          } else {
            f.full = now_ms() - f.since >= kStallMs;
          }
        }
        if (queued == 0) {
          pfds.push_back(pollfd{fd, POLLIN, 0});
        } else if (f.full) {
          size_t want = static_cast<size_t>(queued);
          ssize_t n = recv(fd, scratch, want < kScratch ? want : kScratch,
                           MSG_DONTWAIT);
          if (n > 0) {
            if (memcmp(scratch, d.data.data() + f.done,
                       static_cast<size_t>(n)) != 0) {
              char buf[400];
              dmtcp_log(
                  "socket plugin: fd %d (%s): bytes written back differ "
                  "from those drained at byte %zu",
                  fd, describe(d, buf, sizeof buf), f.done);
            }
            f.done += static_cast<size_t>(n);
            moved = true;
          }
        }
      }
      busy = busy || !f.finished;
    }
    if (!busy) {
      break;
    }
    if (!moved && !poll_until(&pfds, deadline, kStallMs)) {
      break;
    }
  }
  for (Flow& f : flows) {
    Desc& d = t->descs[f.desc];
    char buf[400];
    if (!f.finished && f.writer) {
      dmtcp_log(
          "socket plugin: fd %d (%s): %zu of %zu bytes in flight not "
          "written back in %d s",
          d.first_fd, describe(d, buf, sizeof buf),
          d.incoming.size() - f.done, d.incoming.size(),
          kRefillTimeoutMs / 1000);
    }
    if (f.writer) {
      continue;
    }
    if (!f.finished) {
      dmtcp_log(
          "socket plugin: fd %d (%s): only part of the %zu bytes in flight "
          "towards it came back in %d s",
          d.first_fd, describe(d, buf, sizeof buf), d.data.size(),
          kRefillTimeoutMs / 1000);
    }
    d.held_len = 0;  // the head read back now replaces any older hold
    d.data.resize(f.done);
    hold(*t, f.desc, &d.data);
  }
}

}  // namespace

void drain(Table* t) {
  for (Desc& d : t->descs) {
    d.data.clear();
    d.incoming.clear();
    d.consumed = false;
    d.drain_failed = false;
    d.held_len = 0;
    if (d.el.leader) {
      save_options(&d);
    }
  }
  for (Desc& d : t->descs) {
    if (d.el.leader && self_refilled(d)) {
      drain_messages(&d);
      continue;
    }
    if (!d.el.leader || d.role != Role::kConnected) {
      continue;
    }
    if (d.where != Peer::kInside) {
      if (is_stream(d)) {
        peek_queue(&d);  // given to the program before EOF after a restart
      }
      continue;
    }
    if (is_tcp(d)) {
      continue;  // below, all together
    }
    if (is_stream(d)) {
      peek_queue(&d);
    } else {
      drain_messages(&d);
    }
  }
  drain_tcp(t);
  put_held_first(t);
}

void restore_drain_options(Table* t) {
  for (Desc& d : t->descs) {
    if (d.el.leader && d.where == Peer::kInside && is_tcp(d)) {
      setsockopt(d.first_fd, IPPROTO_TCP, TCP_NODELAY, &d.opts.nodelay,
                 sizeof d.opts.nodelay);
      setsockopt(d.first_fd, IPPROTO_TCP, TCP_CORK, &d.opts.cork,
                 sizeof d.opts.cork);
    }
  }
}

void publish_data(Table* t, bool restart) {
  pid_t me = dmtcp_real_to_virtual_pid(share::raw_getpid());
  for (Desc& d : t->descs) {
    if (!needs_refill(d, restart) || d.peer_vpid == me) {
      continue;
    }
    // Chunk 0 starts with the total length.
    uint64_t total = d.data.size();
    size_t off = 0;
    for (uint32_t c = 0; off < total || c == 0; ++c) {
      size_t head = c == 0 ? sizeof total : 0;
      size_t n = total - off < kChunk - head ? total - off : kChunk - head;
      char* v = static_cast<char*>(dmtcp_alloc(head + n));
      if (head != 0) {
        memcpy(v, &total, sizeof total);
      }
      memcpy(v + head, d.data.data() + off, n);
      DataKey k = data_key(d.id, c);
      int r = dmtcp_send_key_val_pair_to_coordinator(&k, sizeof k, v, head + n);
      dmtcp_free(v);
      if (r != 1) {
        char buf[400];
        dmtcp_log(
            "socket plugin: fd %d (%s): cannot publish its %llu bytes "
            "in flight: they are lost",
            d.first_fd, describe(d, buf, sizeof buf),
            static_cast<unsigned long long>(total));
        break;
      }
      off += n;
    }
  }
}

void fetch_data(Table* t, bool restart) {
  pid_t me = dmtcp_real_to_virtual_pid(share::raw_getpid());
  for (Desc& d : t->descs) {
    d.incoming.clear();
    if (!d.el.leader || d.where != Peer::kInside) {
      continue;
    }
    if (d.peer_vpid == me) {
      for (const Desc& p : t->descs) {
        if (p.id == d.peer_id && needs_refill(p, restart)) {
          d.incoming = p.data;
        }
      }
      continue;
    }
    uint64_t total = 0;
    size_t got = 0;
    for (uint32_t c = 0; c == 0 || got < total; ++c) {
      DataKey k = data_key(d.peer_id, c);
      size_t head = c == 0 ? sizeof total : 0;
      size_t want = kChunk;
      char* v = static_cast<char*>(dmtcp_alloc(want));
      int r = dmtcp_send_query_to_coordinator(&k, sizeof k, v, &want);
      if (r != 1 || want < head || want > kChunk) {
        dmtcp_free(v);
        if (c != 0) {
          char buf[400];
          dmtcp_log(
              "socket plugin: fd %d (%s): part of the bytes in flight "
              "towards it is missing",
              d.first_fd, describe(d, buf, sizeof buf));
        }
        break;
      }
      if (c == 0) {
        memcpy(&total, v, sizeof total);
        d.incoming.reserve(total);
      }
      size_t n = want - head;
      char* p = grow(&d.incoming, n);
      memcpy(p, v + head, n);
      got += n;
      dmtcp_free(v);
    }
  }
}

void refill(Table* t, bool restart) {
  for (Desc& d : t->descs) {
    if (d.el.leader && self_refilled(d) && !d.data.empty()) {
      send_to_self(d);
    }
  }
  for (Desc& d : t->descs) {
    if (!d.incoming.empty() && !is_stream(d)) {
      write_all(d.first_fd, d, d.incoming);
    }
  }
  refill_streams(t, restart);
  for (uint32_t i = 0; i < t->descs.size(); ++i) {
    Desc& d = t->descs[i];
    if (d.held_len != 0 && !restart && !d.consumed) {
      // A peeked queue at resume (UNIX stream, TCP after the peer's FIN,
      // an outside peer): nothing was written back, the kernel still has
      // the rest; the program reads the kept head first, as before.
      // (At restart all of data went into the new socket or stand-in.)
      d.data.resize(d.held_len);
      d.held_len = 0;
      hold(*t, i, &d.data);
    }
  }
  for (Desc& d : t->descs) {
    d.incoming.clear();
    d.incoming.shrink_to_fit();
    d.data.clear();  // the next checkpoint drains afresh
    d.data.shrink_to_fit();
  }
}

}  // namespace dmtcp::sock
