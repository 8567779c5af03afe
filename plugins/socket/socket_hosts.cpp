// socket_hosts.cpp -- inside connections whose two ends restart on
// different hosts (docs/distributed.md).
//
// An inside pair is normally made whole by one process (its maker) and
// the other end handed over with SCM_RIGHTS (socket_remake.cpp).  That
// needs both processes on one host and in one network namespace: the fd
// exchange is an abstract UNIX socket.  When the restart puts them apart,
// a TCP pair is connected over the network instead:
//
// 1. RESTART (host_publish): every process with inside connections
//    publishes "sh" + its virtual pid -> HostInfo: its host key (boot id,
//    network namespace) and, if it makes any TCP pair, the address of a
//    listener of its own, bound to the local address of its connection to
//    the coordinator (the address the other hosts reach it at), port 0.
// 2. REGISTER_NAME_SERVICE_DATA (cross_hosts, after the RESTARTED barrier
//    made every publication visible, before the fd exchange asks): each
//    process looks up the host of every process it would ask for an fd,
//    and each maker the host of its TCP peers.  On another host:
//     - the maker drops the pair it made at RESTART and waits for the
//       peer's leader to connect;
//     - the peer's leader connects to the maker's listener and sends the
//       maker's end identity and the maker's drain marker (32 random bytes
//       from the checkpoint that only the two processes know), then
//       provides the fd to the processes sharing its end (fork), who ask
//       it instead of the maker;
//     - anything else whose provider is on another host (a UNIX pair, a
//       listener shared by processes restarted apart) cannot be handed
//       over: one line, and it reads as closed.
// 3. SEND_QUERIES (finish_cross_hosts, before the fd exchange serves):
//    makers accept (10 s at most; every connection served as its bytes
//    come, so a silent stranger delays no one), check identity and marker,
//    answer with the connector's own marker; then connectors read that
//    answer.  A
//    connection that fails a check is closed: the end reads as closed,
//    with one line.  Accepting before reading answers means no process
//    waits for one that waits for it.
// The bytes in flight come back at REFILL as for any inside pair.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/plugin.h"
#include "socket_table.h"

namespace dmtcp::sock {
namespace {

struct HostKey {
  char boot[40];  // /proc/sys/kernel/random/boot_id, as text
  uint64_t netns_dev;
  uint64_t netns_ino;
  bool operator==(const HostKey& o) const {
    return memcmp(this, &o, sizeof *this) == 0;
  }
};

struct HostInfo {
  HostKey host;
  sockaddr_storage listen;  // ss_family 0: no listener
  socklen_t listen_len;
};

// What a connector sends, and what the maker answers (the marker only).
struct Hello {
  SockId maker_end;
  unsigned char marker[32];
};

struct Known {
  pid_t vpid;
  bool found;
  HostInfo info;
};

HostKey g_host;
int g_listener = -1;
HostInfo g_info;
HookVector<Known> g_peers;

bool is_tcp(const Desc& d) {
  return (d.family == AF_INET || d.family == AF_INET6) && d.type == SOCK_STREAM;
}

bool inside_pair(const Desc& d) {
  return d.role == Role::kConnected && d.where == Peer::kInside;
}

// Read afresh at each restart: this may be another host than the one
// whose boot id the image remembers.
HostKey read_host_key() {
  HostKey k{};
  int f = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
  if (f >= 0) {
    ssize_t n = read(f, k.boot, sizeof k.boot - 1);
    (void)n;
    close(f);
  }
  struct stat st;
  if (stat("/proc/self/ns/net", &st) == 0) {
    k.netns_dev = st.st_dev;
    k.netns_ino = st.st_ino;
  }
  return k;
}

void publish_key(pid_t vpid, char out[8]) {
  out[0] = 's';
  out[1] = 'h';
  memcpy(out + 2, &vpid, sizeof vpid);
}

// The host of process vpid, asked once per restart; nullptr when it
// published nothing (it has no inside connections: then it is asked for
// nothing either).
const HostInfo* host_of(pid_t vpid) {
  for (const Known& p : g_peers) {
    if (p.vpid == vpid) {
      return p.found ? &p.info : nullptr;
    }
  }
  Known p{};
  p.vpid = vpid;
  char key[8];
  publish_key(vpid, key);
  size_t len = sizeof p.info;
  p.found = dmtcp_send_query_to_coordinator(key, 2 + sizeof vpid, &p.info,
                                            &len) == 1 &&
            len == sizeof p.info;
  g_peers.push_back(p);
  return p.found ? &g_peers.back().info : nullptr;
}

bool elsewhere(pid_t vpid) {
  const HostInfo* h = host_of(vpid);
  return h != nullptr && !(h->host == g_host);
}

int make_listener() {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (dmtcp_get_coordinator_local_addr(reinterpret_cast<sockaddr*>(&a), &len) !=
          0 ||
      (a.ss_family != AF_INET && a.ss_family != AF_INET6)) {
    return -1;
  }
  reinterpret_cast<sockaddr_in&>(a).sin_port = 0;  // same place in sin6
  int fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return -1;
  }
  g_info.listen_len = sizeof g_info.listen;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
      listen(fd, SOMAXCONN) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&g_info.listen),
                  &g_info.listen_len) != 0) {
    close(fd);
    g_info.listen = {};
    g_info.listen_len = 0;
    return -1;
  }
  return fd;
}

bool is_loopback(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) {
    return (ntohl(reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr) >>
            24) == 127;
  }
  if (a.ss_family == AF_INET6) {
    const in6_addr& s = reinterpret_cast<const sockaddr_in6&>(a).sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&s) ||
           (IN6_IS_ADDR_V4MAPPED(&s) && s.s6_addr[12] == 127);
  }
  return false;
}

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Sends or receives exactly n bytes on a nonblocking socket before the
// deadline.
bool transfer(int fd, void* buf, size_t n, bool out, int64_t deadline) {
  auto* p = static_cast<char*>(buf);
  size_t done = 0;
  while (done < n) {
    ssize_t r = out ? send(fd, p + done, n - done, MSG_NOSIGNAL)
                    : recv(fd, p + done, n - done, 0);
    if (r > 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
      return false;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    pollfd pf{fd, static_cast<short>(out ? POLLOUT : POLLIN), 0};
    poll(&pf, 1, static_cast<int>(left));
  }
  return true;
}

// The peer's leader: connects to the maker, says which end and proves it
// belongs to the computation.  The fd, or -1 (errno set).
int connect_to_maker(const Desc& d, const HostInfo& maker) {
  if (maker.listen.ss_family == 0) {
    errno = ENOTCONN;
    return -1;
  }
  if (is_loopback(maker.listen)) {
    errno = EADDRNOTAVAIL;  // its coordinator address is a loopback one
    return -1;
  }
  int fd = socket(maker.listen.ss_family,
                  SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return -1;
  }
  int64_t deadline = now_ms() + 10000;
  int r = connect(fd, reinterpret_cast<const sockaddr*>(&maker.listen),
                  maker.listen_len);
  if (r != 0 && errno == EINPROGRESS) {
    pollfd pf{fd, POLLOUT, 0};
    int err = ETIMEDOUT;
    socklen_t len = sizeof err;
    if (poll(&pf, 1, 10000) == 1) {
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    errno = err;
    r = err == 0 ? 0 : -1;
  }
  Hello h{};
  h.maker_end = d.peer_id;
  memcpy(h.marker, d.peer_marker, sizeof h.marker);
  if (r != 0 || !transfer(fd, &h, sizeof h, true, deadline)) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

// One line for an end that will read as closed; stand_in tells
// exchange_and_install() it was said (it makes the stand-in).
void say(Desc& d, const char* what, int err) {
  d.stand_in = true;
  char buf[400];
  dmtcp_log("socket plugin: fd %d (%s): %s%s%s; it reads as closed", d.first_fd,
            describe(d, buf, sizeof buf), what, err != 0 ? ": " : "",
            err != 0 ? strerror(err) : "");
}

}  // namespace

void host_publish(Table* t, pid_t me) {
  g_host = read_host_key();
  g_peers.clear();
  g_info = HostInfo{};
  g_info.host = g_host;
  if (g_listener >= 0) {
    close(g_listener);
    g_listener = -1;
  }
  bool makes_tcp = false;
  for (const Desc& d : t->descs) {
    makes_tcp = makes_tcp ||
                (inside_pair(d) && is_tcp(d) && is_maker_end(d) && d.el.leader);
  }
  if (t->descs.empty()) {
    return;  // nobody asks us for anything
  }
  if (makes_tcp) {
    g_listener = make_listener();
    if (g_listener >= 0) {
      g_listener = share::park_fd(g_listener, t->park_floor);
    }
  }
  char key[8];
  publish_key(me, key);
  if (dmtcp_send_key_val_pair_to_coordinator(key, 2 + sizeof me, &g_info,
                                             sizeof g_info) != 1) {
    dmtcp_log(
        "socket plugin: cannot publish this host; connections to processes "
        "restarted on other hosts will read as closed");
  }
}

void cross_hosts(Table* t, pid_t me) {
  for (Desc& d : t->descs) {
    d.remote = RemoteStep::kNone;
    if (d.provider == 0) {
      // Made here.  A TCP pair whose peer restarted on another host is
      // connected over the network instead.
      if (inside_pair(d) && is_tcp(d) && is_maker_end(d) && d.el.leader &&
          d.mate_fd >= 0 && d.peer_vpid != me && elsewhere(d.peer_vpid)) {
        close(d.new_fd);
        close(d.mate_fd);
        d.new_fd = -1;
        d.mate_fd = -1;
        d.remote = g_listener >= 0 ? RemoteStep::kAccept : RemoteStep::kNone;
        if (g_listener < 0) {
          say(d,
              "its peer restarted on another host and no listener could "
              "be made for it",
              0);
        }
      }
      continue;
    }
    if (!elsewhere(d.provider)) {
      continue;
    }
    if (inside_pair(d) && is_tcp(d) && !is_maker_end(d) &&
        d.provider == d.peer_vpid) {
      if (d.el.leader) {
        // We connect; our fork-sharers ask us.
        d.provider = 0;
        const HostInfo* maker = host_of(d.peer_vpid);
        int fd = connect_to_maker(d, *maker);
        if (fd < 0 && maker->listen.ss_family == 0) {
          say(d,
              "its peer restarted on another host, which could not listen "
              "for it",
              0);
          continue;
        }
        if (fd < 0 && is_loopback(maker->listen)) {
          say(d,
              "its peer restarted on another host but reaches the "
              "coordinator over loopback (give every host the "
              "coordinator's network address)",
              0);
          continue;
        }
        if (fd < 0) {
          say(d, "cannot connect to its peer on another host", errno);
          continue;
        }
        d.new_fd = share::park_fd(fd, t->park_floor);
        d.remote = RemoteStep::kAwaitAnswer;
        continue;
      }
      if (!elsewhere(d.el.leader_vpid)) {
        d.provider = d.el.leader_vpid;
        continue;
      }
    }
    char buf[400];
    dmtcp_log(
        "socket plugin: fd %d (%s): process %d, which holds it, restarted "
        "on another host; it reads as closed",
        d.first_fd, describe(d, buf, sizeof buf), d.provider);
    d.stand_in = true;
    d.provider = 0;  // nobody can hand it over: a stand-in
  }
}

namespace {

// A connection accepted by a maker, its hello not read whole yet.
struct Pending {
  int fd;
  size_t got;
  Hello h;
};

// The maker's side of a pending connection whose hello is complete: the
// end it names, with the right marker, gets it (and the answer);
// anything else is closed.  True when an end got it.
bool settle(Table* t, Pending* p) {
  for (Desc& d : t->descs) {
    if (d.remote == RemoteStep::kAccept && d.new_fd < 0 &&
        d.id == p->h.maker_end &&
        memcmp(d.marker, p->h.marker, sizeof p->h.marker) == 0) {
      // 32 bytes on a fresh connection: the send buffer has room.
      if (send(p->fd, d.peer_marker, sizeof d.peer_marker,
               MSG_NOSIGNAL | MSG_DONTWAIT) !=
          static_cast<ssize_t>(sizeof d.peer_marker)) {
        break;
      }
      int fl = fcntl(p->fd, F_GETFL);
      fcntl(p->fd, F_SETFL, fl & ~O_NONBLOCK);
      d.new_fd = share::park_fd(p->fd, t->park_floor);
      return true;
    }
  }
  close(p->fd);  // a stranger, or a second connection for one end
  return false;
}

}  // namespace

void finish_cross_hosts(Table* t) {
  size_t waiting = 0;
  for (const Desc& d : t->descs) {
    waiting += d.remote == RemoteStep::kAccept ? 1 : 0;
  }
  // Every connection is served as its bytes come, so a silent stranger on
  // the network delays no one; past 64 waiting, the oldest is dropped.
  constexpr size_t kMaxPending = 64;
  Pending pend[kMaxPending];
  size_t npend = 0;
  int64_t deadline = now_ms() + 10000;
  while (waiting > 0 && g_listener >= 0) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      break;
    }
    pollfd pfs[1 + kMaxPending];
    pfs[0] = {g_listener, POLLIN, 0};
    for (size_t i = 0; i < npend; ++i) {
      pfs[1 + i] = {pend[i].fd, POLLIN, 0};
    }
    if (poll(pfs, 1 + npend, static_cast<int>(left)) <= 0) {
      continue;
    }
    for (size_t i = npend; i-- > 0;) {
      if (pfs[1 + i].revents == 0) {
        continue;
      }
      Pending& p = pend[i];
      ssize_t r = recv(p.fd, reinterpret_cast<char*>(&p.h) + p.got,
                       sizeof p.h - p.got, 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
        continue;
      }
      if (r > 0) {
        p.got += static_cast<size_t>(r);
        if (p.got < sizeof p.h) {
          continue;
        }
        waiting -= settle(t, &p) ? 1 : 0;
      } else {
        close(p.fd);
      }
      pend[i] = pend[--npend];  // those after i were served already
    }
    if ((pfs[0].revents & POLLIN) != 0) {
      int fd =
          accept4(g_listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        if (npend == kMaxPending) {
          close(pend[0].fd);
          pend[0] = pend[--npend];
        }
        pend[npend++] = {fd, 0, {}};
      }
    }
  }
  for (size_t i = 0; i < npend; ++i) {
    close(pend[i].fd);
  }
  if (g_listener >= 0) {
    close(g_listener);
    g_listener = -1;
  }
  for (Desc& d : t->descs) {
    if (d.remote == RemoteStep::kAccept && d.new_fd < 0) {
      say(d, "its peer on another host did not connect within 10 s", 0);
    }
    if (d.remote != RemoteStep::kAwaitAnswer || d.new_fd < 0) {
      continue;
    }
    unsigned char answer[32];
    if (!transfer(d.new_fd, answer, sizeof answer, false, deadline) ||
        memcmp(answer, d.marker, sizeof answer) != 0) {
      int err = errno;
      close(d.new_fd);
      d.new_fd = -1;
      say(d, "its peer on another host did not accept the connection", err);
      continue;
    }
    int fl = fcntl(d.new_fd, F_GETFL);
    fcntl(d.new_fd, F_SETFL, fl & ~O_NONBLOCK);
  }
}

}  // namespace dmtcp::sock
