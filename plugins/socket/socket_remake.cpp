// socket_remake.cpp -- every socket made again at restart, at its fd
// number, shared between processes as before.
//
// Who makes what (RESTART):
//  - a connection inside the computation: the process leading its smaller
//    end (SockId order) makes both ends at once -- socketpair() for UNIX,
//    a loopback TCP connection through a throw-away listener for TCP --
//    and hands the other end to whoever holds it (share::FdExchange: the
//    peer's leader and every process sharing either end after fork ask
//    the maker by the end's SockId).  The bytes in flight come back at
//    REFILL (socket_drain.cpp).
//  - a listener: its leader binds it again at its address (a stale UNIX
//    socket file is replaced) and listens with its backlog; an address in
//    use is one line naming it.
//  - a bound datagram or netlink socket: bound again (and connected again
//    to its peer, UDP at once, a UNIX datagram server's path at REFILL,
//    when the server is back).
//  - a connection to the outside: a stand-in that reads the bytes that
//    were waiting, then end of file, and fails writes with EPIPE, with a
//    warning line; DMTCP_SOCKET_RECONNECT=1 (in dmtcp_restart's
//    environment) connects TCP to the same address instead.
// Non-leaders ask their leader.  A description that nobody could make (or
// hand over) becomes a stand-in that reads as closed: never a missing fd.
// SEND_QUERIES puts every fd at its number
// with its flags and options; THREADS_RESUME (after every REFILL write)
// shuts down again what was shut down.
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "dmtcp/plugin.h"
#include "socket_table.h"

namespace dmtcp::sock {
namespace {

share::FdExchange g_exchange("socket");
pid_t g_me = 0;

bool is_tcp(const Desc& d) {
  return (d.family == AF_INET || d.family == AF_INET6) && d.type == SOCK_STREAM;
}

bool inside_pair(const Desc& d) {
  return d.role == Role::kConnected && d.where == Peer::kInside;
}

// A UNIX datagram socket connected to a server socket (not a pair): made
// unconnected at RESTART, connected to the server's path at REFILL.
bool unix_dgram_client(const Desc& d) {
  return d.role == Role::kConnected && d.where != Peer::kInside &&
         d.family == AF_UNIX && d.type == SOCK_DGRAM &&
         d.peer_len > sizeof(sa_family_t) &&
         reinterpret_cast<const sockaddr_un&>(d.peer).sun_path[0] != '\0';
}

pid_t leader_of(const Desc& d) {
  return d.el.leader ? g_me : d.el.leader_vpid;
}

pid_t provider_of(const Desc& d) {
  if (inside_pair(d)) {
    return is_maker_end(d) ? leader_of(d) : d.peer_vpid;
  }
  return leader_of(d);
}

int new_socket(const Desc& d) {
  int fd = socket(d.family, d.type | SOCK_CLOEXEC, d.protocol);
  if (fd < 0) {
    char buf[400];
    dmtcp_log("socket plugin: fd %d (%s): socket(): %s", d.first_fd,
              describe(d, buf, sizeof buf), strerror(errno));
  }
  return fd;
}

// Before bind: options that only count then.
void pre_bind(const Desc& d, int fd) {
  if (d.family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &d.opts.v6only,
               sizeof d.opts.v6only);
  }
  apply_options(d, fd);
}

// A stale socket file at a UNIX path is the dead process's: replace it.
// Anything else at the path is left alone (bind then fails, said below).
void unlink_stale(const sockaddr_storage& a, socklen_t len) {
  const auto& s = reinterpret_cast<const sockaddr_un&>(a);
  if (a.ss_family != AF_UNIX || len <= sizeof(sa_family_t) ||
      s.sun_path[0] == '\0') {
    return;
  }
  struct stat st;
  if (lstat(s.sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
    unlink(s.sun_path);
  }
}

bool named(const Desc& d) {
  if (d.family == AF_UNIX) {
    return d.local_len > sizeof(sa_family_t);
  }
  if (d.family == AF_NETLINK) {
    return true;
  }
  const auto& sin = reinterpret_cast<const sockaddr_in&>(d.local);
  return d.local_len > 0 && sin.sin_port != 0;
}

bool bind_again(const Desc& d, int fd) {
  if (!named(d)) {
    return true;
  }
  unlink_stale(d.local, d.local_len);
  sockaddr_storage a = d.local;
  if (d.family == AF_NETLINK) {
    reinterpret_cast<sockaddr_nl&>(a).nl_pid = 0;  // the kernel picks
  }
  // The dead process's connections from this port may linger in
  // TIME_WAIT, which blocks a bind without SO_REUSEADDR: bind with it, then
  // give the program's value back (it matters only at bind time).
  int one = 1;
  bool inet = d.family == AF_INET || d.family == AF_INET6;
  if (inet) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  int r = bind(fd, reinterpret_cast<const sockaddr*>(&a), d.local_len);
  int err = errno;
  if (inet) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &d.opts.reuseaddr,
               sizeof d.opts.reuseaddr);
  }
  if (r == 0) {
    return true;
  }
  char buf[400];
  char at[200];
  if (d.family == AF_INET || d.family == AF_INET6) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(d.local);
    dmtcp_log("socket plugin: fd %d: cannot bind %s again: port %u: %s%s",
              d.first_fd, addr_str(d.local, d.local_len, at, sizeof at),
              ntohs(sin.sin_port), strerror(err),
              d.role == Role::kListener
                  ? " (it listens on a port no one knows; nothing will "
                    "connect)"
                  : "");
  } else {
    dmtcp_log("socket plugin: fd %d (%s): cannot bind it again: %s", d.first_fd,
              describe(d, buf, sizeof buf), strerror(err));
  }
  return false;
}

int remake_listener(const Desc& d) {
  int fd = new_socket(d);
  if (fd < 0) {
    return -1;
  }
  pre_bind(d, fd);
  if (!bind_again(d, fd)) {
    // The address is taken: listen somewhere no one will call (the same
    // address on a port the kernel picks, or an autobound abstract UNIX
    // name), so a program polling the fd waits quietly instead of being
    // woken by a socket that can never accept.
    sockaddr_storage a = d.local;
    socklen_t len = d.local_len;
    if (d.family == AF_UNIX) {
      len = sizeof(sa_family_t);
    } else {
      reinterpret_cast<sockaddr_in&>(a).sin_port = 0;  // same in sin6
    }
    bind(fd, reinterpret_cast<sockaddr*>(&a), len);
  }
  if (listen(fd, d.backlog > 0 ? d.backlog : SOMAXCONN) != 0) {
    char buf[400];
    dmtcp_log("socket plugin: fd %d (%s): listen: %s", d.first_fd,
              describe(d, buf, sizeof buf), strerror(errno));
  }
  return fd;
}

int remake_bound(const Desc& d) {
  int fd = new_socket(d);
  if (fd < 0) {
    return -1;
  }
  if (d.family != AF_NETLINK) {
    pre_bind(d, fd);
  }
  bind_again(d, fd);
  if (d.peer_len > 0 && d.family != AF_UNIX &&
      connect(fd, reinterpret_cast<const sockaddr*>(&d.peer), d.peer_len) !=
          0) {
    char buf[400];
    dmtcp_log("socket plugin: fd %d (%s): cannot connect it again: %s",
              d.first_fd, describe(d, buf, sizeof buf), strerror(errno));
  }
  return fd;
}

// A TCP connection to ourselves through a listener on the loopback
// address of the family; false when the kernel refuses.
bool tcp_pair(int family, int out[2]) {
  int lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) {
    return family == AF_INET6 && tcp_pair(AF_INET, out);
  }
  sockaddr_storage a{};
  socklen_t len;
  if (family == AF_INET6) {
    auto& s = reinterpret_cast<sockaddr_in6&>(a);
    s.sin6_family = AF_INET6;
    s.sin6_addr = in6addr_loopback;
    len = sizeof s;
  } else {
    auto& s = reinterpret_cast<sockaddr_in&>(a);
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof s;
  }
  bool ok = bind(lfd, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
            listen(lfd, 1) == 0 &&
            getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  out[0] = ok ? socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
  ok =
      out[0] >= 0 && connect(out[0], reinterpret_cast<sockaddr*>(&a), len) == 0;
  out[1] = ok ? accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC) : -1;
  close(lfd);
  if (out[1] < 0) {
    if (out[0] >= 0) {
      close(out[0]);
    }
    return family == AF_INET6 && tcp_pair(AF_INET, out);
  }
  return true;
}

bool make_pair(const Desc& d, int floor, int out[2]) {
  bool ok = d.family == AF_UNIX
                ? socketpair(AF_UNIX, d.type | SOCK_CLOEXEC, 0, out) == 0
                : tcp_pair(d.family, out);
  if (!ok) {
    char buf[400];
    dmtcp_log(
        "socket plugin: fd %d (%s): cannot make the connection again: "
        "%s",
        d.first_fd, describe(d, buf, sizeof buf), strerror(errno));
    return false;
  }
  out[0] = share::park_fd(out[0], floor);
  out[1] = share::park_fd(out[1], floor);
  return true;
}

bool reconnect_wanted() {
  char v[8] = {};
  return dmtcp_get_restart_env("DMTCP_SOCKET_RECONNECT", v, sizeof v) == 0 &&
         v[0] == '1';
}

// Connects a new TCP socket to the old peer's address, waiting at most 5 s.
int reconnect(const Desc& d) {
  int fd = new_socket(d);
  if (fd < 0) {
    return -1;
  }
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  int r = connect(fd, reinterpret_cast<const sockaddr*>(&d.peer), d.peer_len);
  if (r != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = ETIMEDOUT;
    socklen_t len = sizeof err;
    if (poll(&p, 1, 5000) == 1) {
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    errno = err;
    r = err == 0 ? 0 : -1;
  }
  if (r != 0) {
    char buf[400];
    dmtcp_log(
        "socket plugin: fd %d (%s): DMTCP_SOCKET_RECONNECT: cannot "
        "connect again: %s; it reads as closed",
        d.first_fd, describe(d, buf, sizeof buf), strerror(errno));
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fl);
  apply_options(d, fd);
  return fd;
}

// A socket whose peer is gone: it reads the bytes that were waiting, then
// end of file; writes fail with EPIPE.
int dead_stand_in(const Desc& d) {
  int type = d.family == AF_UNIX ? d.type : SOCK_STREAM;
  int s[2];
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, s) != 0) {
    return -1;
  }
  if (!d.data.empty()) {
    int fl = fcntl(s[1], F_GETFL);
    fcntl(s[1], F_SETFL, fl | O_NONBLOCK);
    size_t off = 0;
    while (off < d.data.size()) {
      ssize_t n = write(s[1], d.data.data() + off, d.data.size() - off);
      if (n <= 0) {
        break;
      }
      off += static_cast<size_t>(n);
    }
  }
  close(s[1]);
  return s[0];
}

int remake_outside(const Desc& d) {
  char buf[400];
  bool closed_already = (d.shut & 3) == 3;
  if (!closed_already && is_tcp(d) && reconnect_wanted()) {
    int fd = reconnect(d);
    if (fd >= 0) {
      dmtcp_log(
          "socket plugin: fd %d (%s): connected again to its outside "
          "peer",
          d.first_fd, describe(d, buf, sizeof buf));
      return fd;
    }
  } else if (closed_already) {
    dmtcp_log(
        "socket plugin: fd %d (%s): its peer had closed the "
        "connection; it reads as closed after this restart",
        d.first_fd, describe(d, buf, sizeof buf));
  } else {
    dmtcp_log(
        "socket plugin: fd %d (%s): its peer is outside the "
        "computation; it reads as closed by the peer after this "
        "restart (DMTCP_SOCKET_RECONNECT=1 connects TCP again)",
        d.first_fd, describe(d, buf, sizeof buf));
  }
  return dead_stand_in(d);
}

int remake_one(const Desc& d) {
  switch (d.role) {
    case Role::kListener:
      return remake_listener(d);
    case Role::kBound:
      return remake_bound(d);
    case Role::kFresh: {
      int fd = new_socket(d);
      if (fd >= 0) {
        pre_bind(d, fd);
      }
      return fd;
    }
    case Role::kConnected:
      if (unix_dgram_client(d)) {
        return remake_bound(d);
      }
      return remake_outside(d);
    case Role::kUnsupported:
      return -1;
  }
  return -1;
}

Desc* find_desc(Table* t, const SockId& id) {
  for (Desc& d : t->descs) {
    if (d.id == id) {
      return &d;
    }
  }
  return nullptr;
}

int provide(void* ctx, const share::FdKey& key, int) {
  Table* t = static_cast<Table*>(ctx);
  for (Desc& d : t->descs) {
    if (d.provider != 0) {
      continue;  // not made here
    }
    if (d.new_fd >= 0 && memcmp(d.id.key().bytes, key.bytes, 32) == 0) {
      return d.new_fd;
    }
    if (d.mate_fd >= 0 && memcmp(d.peer_id.key().bytes, key.bytes, 32) == 0) {
      return d.mate_fd;
    }
  }
  return -1;
}

void receive(void* ctx, pid_t provider, uint32_t index, int fd, bool alive) {
  Desc& d = static_cast<Table*>(ctx)->descs[index];
  if (fd < 0) {
    char buf[400];
    dmtcp_log("socket plugin: fd %d (%s): process %d %s", d.first_fd,
              describe(d, buf, sizeof buf), provider,
              alive ? "did not have it" : "did not answer");
    return;
  }
  d.new_fd = fd;
}

}  // namespace

void remake_all(Table* t) {
  g_me = dmtcp_real_to_virtual_pid(share::raw_getpid());
  for (Desc& d : t->descs) {
    d.new_fd = -1;
    d.mate_fd = -1;
    d.stand_in = false;
    pid_t p = provider_of(d);
    d.provider = p == g_me ? 0 : p;
  }
  // Pairs first: the maker's other end may be ours too.
  for (Desc& d : t->descs) {
    if (d.provider != 0 || !inside_pair(d) || !is_maker_end(d) ||
        !d.el.leader) {
      continue;
    }
    int s[2];
    if (make_pair(d, t->park_floor, s)) {
      d.new_fd = s[0];
      d.mate_fd = s[1];
    }
  }
  for (Desc& d : t->descs) {
    if (d.provider != 0 || d.new_fd >= 0) {
      continue;
    }
    if (inside_pair(d)) {
      // Made here with a pair whose other end is ours.
      const SockId& maker = is_maker_end(d) ? d.id : d.peer_id;
      Desc* m = find_desc(t, maker);
      int src = m == nullptr      ? -1
                : m == &d         ? m->new_fd
                : is_maker_end(d) ? m->new_fd
                                  : m->mate_fd;
      if (src >= 0) {
        d.new_fd =
            share::park_fd(fcntl(src, F_DUPFD_CLOEXEC, 0), t->park_floor);
      }
      continue;
    }
    if (d.el.leader) {
      int fd = remake_one(d);
      d.new_fd = fd >= 0 ? share::park_fd(fd, t->park_floor) : -1;
    }
  }
  g_exchange.listen(t->park_floor);
}

void ask_each_provider(share::FdExchange* ex, Table* t,
                       pid_t (*provider_of)(const Desc&)) {
  struct Asking {
    Table* t;
    pid_t (*provider_of)(const Desc&);
  } asking{t, provider_of};
  ex->ask_each(
      t->descs.size(),
      [](void* ctx, size_t i, share::FdRequest* out) -> pid_t {
        auto* a = static_cast<Asking*>(ctx);
        const Desc& d = a->t->descs[i];
        *out = {d.id.key(), -1, static_cast<uint32_t>(i)};
        return a->provider_of(d);
      },
      &asking, t->park_floor);
}

void ask_providers(Table* t) {
  ask_each_provider(&g_exchange, t,
                    [](const Desc& d) -> pid_t { return d.provider; });
}

namespace {

// Pumps `total` bytes from fd `from` to fd `to` (both ours, nonblocking
// sends and reads) and throws them away.
void pump(int from, int to, size_t total) {
  static char buf[65536];
  size_t sent = 0, got = 0;
  int idle = 0;
  while (got < total && idle < 1000) {
    bool moved = false;
    if (sent < total) {
      size_t n = total - sent < sizeof buf ? total - sent : sizeof buf;
      ssize_t w = send(from, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w > 0) {
        sent += static_cast<size_t>(w);
        moved = true;
      }
    }
    ssize_t r = recv(to, buf, sizeof buf, MSG_DONTWAIT);
    if (r > 0) {
      got += static_cast<size_t>(r);
      moved = true;
    }
    if (!moved) {
      pollfd p{to, POLLIN, 0};
      poll(&p, 1, 1);
      ++idle;
    }
  }
}

}  // namespace

void warm_up_pairs(Table* t) {
  // A fresh TCP connection holds less unread data than one whose buffers
  // autotuning grew: megabytes in flight at the checkpoint might not fit
  // back at REFILL, when no reader runs.  Traffic through the new
  // connection grows its buffers the same way (1 MiB each way: about
  // 1 ms, +0.5 MiB of room here), so the maker sends some before handing
  // the other end over -- only for connections that carry that much.
  constexpr size_t kBig = 1 << 20;
  for (Desc& d : t->descs) {
    if (d.provider != 0 || d.new_fd < 0 || d.mate_fd < 0 || !is_tcp(d)) {
      continue;
    }
    size_t toward_peer = d.incoming.size();  // we write it at REFILL
    size_t toward_us = d.data.size();        // the peer writes it
    if (toward_peer < kBig && toward_us < kBig) {
      continue;
    }
    pump(d.new_fd, d.mate_fd, kBig);
    pump(d.mate_fd, d.new_fd, kBig);
  }
}

void exchange_and_install(Table* t) {
  g_exchange.serve(provide, t);
  g_exchange.collect(t->park_floor, receive, t);
  for (Desc& d : t->descs) {
    if (d.new_fd < 0 && d.role != Role::kUnsupported) {
      // Its maker or leader did not come back (an image left out of the
      // restart) or failed: never EBADF, a socket that reads as closed.
      // (stand_in already: socket_hosts.cpp said why.)
      char buf[400];
      if (!d.stand_in) {
        dmtcp_log(
            "socket plugin: fd %d (%s) could not be made again; it "
            "reads as closed",
            d.first_fd, describe(d, buf, sizeof buf));
      }
      int fd = dead_stand_in(d);
      d.new_fd = fd >= 0 ? share::park_fd(fd, t->park_floor) : -1;
      d.stand_in = true;
    }
  }
  for (const FdSlot& slot : t->fds) {
    const Desc& d = t->descs[slot.desc];
    if (d.new_fd < 0) {
      continue;
    }
    int cloexec = (slot.fd_flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0;
    if (dup3(d.new_fd, slot.fd, cloexec) < 0) {
      dmtcp_log("socket plugin: fd %d: dup3: %s", slot.fd, strerror(errno));
    }
  }
  for (Desc& d : t->descs) {
    if (d.new_fd >= 0 && d.el.leader) {
      fcntl(d.first_fd, F_SETFL, d.fl_flags);
      if (inside_pair(d) && !d.stand_in) {
        apply_options(d, d.first_fd);
      }
      share::restore_owner_after_restart(d.el, d.first_fd);
    }
  }
  for (Desc& d : t->descs) {
    if (d.new_fd >= 0) {
      close(d.new_fd);
      d.new_fd = -1;
    }
    if (d.mate_fd >= 0) {
      close(d.mate_fd);
      d.mate_fd = -1;
    }
  }
}

void reconnect_clients(Table* t) {
  for (Desc& d : t->descs) {
    if (d.el.leader && unix_dgram_client(d) &&
        connect(d.first_fd, reinterpret_cast<const sockaddr*>(&d.peer),
                d.peer_len) != 0) {
      char buf[400];
      dmtcp_log("socket plugin: fd %d (%s): cannot connect it again: %s",
                d.first_fd, describe(d, buf, sizeof buf), strerror(errno));
    }
  }
}

void restore_shutdowns(Table* t) {
  for (Desc& d : t->descs) {
    if (!d.el.leader || !inside_pair(d)) {
      continue;
    }
    if ((d.shut & 2) != 0) {
      shutdown(d.first_fd, SHUT_WR);
    }
    if ((d.shut & 1) != 0 && (d.peer_shut & 2) == 0) {
      shutdown(d.first_fd, SHUT_RD);
    }
  }
}

}  // namespace dmtcp::sock
