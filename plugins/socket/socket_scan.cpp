// socket_scan.cpp -- the checkpoint-time list of this process's sockets,
// grouped by description, each inspected where it stands.
//
// /proc/self/fd names a socket "socket:[inode]"; fds that share one
// description (dup, fork) are found with kcmp(KCMP_FILE).  Everything else
// comes from the socket itself: SO_DOMAIN/SO_TYPE/SO_PROTOCOL, SO_ACCEPTCONN,
// getsockname/getpeername, TCP_INFO (state, a listener's backlog) and, for
// UNIX sockets, sock_diag (peer inode, shutdown bits, backlog), which an
// unprivileged process may ask about its own network namespace.  No
// wrapper sees the program's socket calls.
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dmtcp/claims.h"
#include "dmtcp/plugin.h"
#include "socket_table.h"

namespace dmtcp::sock {
namespace {

bool same_description(int a, int b) {
  static bool refused = false;
  if (refused) {
    return false;
  }
  int r = share::same_description(a, b);
  if (r >= 0) {
    return r == 1;
  }
  refused = true;
  dmtcp_log(
      "socket plugin: kcmp refused (%s): dup()ed sockets come back as "
      "separate descriptions",
      strerror(errno));
  return false;
}

int int_opt(int fd, int level, int name) {
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, level, name, &v, &len) != 0) {
    return -1;
  }
  return v;
}

// sock_diag for one UNIX socket: its peer's inode, its shutdown bits and,
// for a listener, its backlog.  false: no answer (then the caller guesses).
struct UnixDiag {
  uint32_t peer = 0;
  uint8_t shut = 0;
  uint32_t backlog = 0;
};

bool unix_diag(uint64_t ino, UnixDiag* out) {
  int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) {
    return false;
  }
  struct {
    nlmsghdr nlh;
    unix_diag_req req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;
  msg.req.sdiag_family = AF_UNIX;
  msg.req.udiag_states = ~0u;
  msg.req.udiag_ino = static_cast<uint32_t>(ino);
  msg.req.udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN;
  msg.req.udiag_cookie[0] = INET_DIAG_NOCOOKIE;
  msg.req.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
  bool ok = false;
  if (send(nl, &msg, sizeof msg, 0) == static_cast<ssize_t>(sizeof msg)) {
    alignas(nlmsghdr) char buf[4096];
    ssize_t n = recv(nl, buf, sizeof buf, 0);
    auto* h = reinterpret_cast<nlmsghdr*>(buf);
    if (n > 0 && NLMSG_OK(h, static_cast<size_t>(n)) &&
        h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
      auto* m = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
      int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
      auto* a = reinterpret_cast<nlattr*>(m + 1);
      while (len >= static_cast<int>(sizeof(nlattr)) &&
             a->nla_len >= sizeof(nlattr) &&
             a->nla_len <= static_cast<unsigned>(len)) {
        void* v = reinterpret_cast<char*>(a) + NLA_HDRLEN;
        switch (a->nla_type) {
          case UNIX_DIAG_PEER:
            memcpy(&out->peer, v, sizeof out->peer);
            break;
          case UNIX_DIAG_SHUTDOWN:
            memcpy(&out->shut, v, 1);
            break;
          case UNIX_DIAG_RQLEN: {
            unix_diag_rqlen rq;
            memcpy(&rq, v, sizeof rq);
            out->backlog = rq.udiag_wqueue;
            break;
          }
          default:
            break;
        }
        int step = static_cast<int>(NLA_ALIGN(a->nla_len));
        len -= step;
        a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(a) + step);
      }
      ok = true;
    }
  }
  close(nl);
  return ok;
}

// TCP's state (TCP_INFO) as shutdown bits: FIN sent means we shut our
// writing side, FIN received means the peer shut its side.
uint8_t tcp_shut(int fd, int* backlog) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
    return 0;
  }
  switch (ti.tcpi_state) {
    case TCP_LISTEN:
      *backlog = static_cast<int>(ti.tcpi_sacked);  // sk_max_ack_backlog
      return 0;
    case TCP_FIN_WAIT1:
    case TCP_FIN_WAIT2:
      return 2;
    case TCP_CLOSE_WAIT:
      return 1;
    case TCP_CLOSING:
    case TCP_LAST_ACK:
    case TCP_TIME_WAIT:
      return 3;
    default:
      return 0;
  }
}

void inspect(Desc* d, uint64_t ino) {
  int fd = d->first_fd;
  d->family = int_opt(fd, SOL_SOCKET, SO_DOMAIN);
  d->type = int_opt(fd, SOL_SOCKET, SO_TYPE);
  d->protocol = int_opt(fd, SOL_SOCKET, SO_PROTOCOL);
  memcpy(d->id.boot, boot_id(), sizeof d->id.boot);
  d->id.ino = ino;
  d->local_len = sizeof d->local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&d->local), &d->local_len) !=
      0) {
    d->local_len = 0;
  }
  d->peer_len = sizeof d->peer;
  bool connected =
      getpeername(fd, reinterpret_cast<sockaddr*>(&d->peer), &d->peer_len) == 0;
  if (!connected) {
    d->peer_len = 0;
  }
  bool listening = int_opt(fd, SOL_SOCKET, SO_ACCEPTCONN) == 1;
  switch (d->family) {
    case AF_UNIX: {
      UnixDiag ud;
      if (unix_diag(ino, &ud)) {
        d->unix_peer = ud.peer;
        d->shut = ud.shut;
        d->backlog = static_cast<int>(ud.backlog);
      }
      if (listening) {
        d->role = Role::kListener;
      } else if (connected || d->unix_peer != 0) {
        d->role = Role::kConnected;
      } else if (d->local_len > sizeof(sa_family_t)) {
        d->role = Role::kBound;
      } else {
        d->role = Role::kFresh;
      }
      break;
    }
    case AF_INET:
    case AF_INET6: {
      bool bound = false;
      if (d->local_len > 0) {
        const auto& sin = reinterpret_cast<const sockaddr_in&>(d->local);
        bound = sin.sin_port != 0;  // same offset in sockaddr_in6
      }
      if (d->type == SOCK_STREAM && d->protocol == IPPROTO_TCP) {
        d->shut = tcp_shut(fd, &d->backlog);
      }
      if (listening) {
        d->role = Role::kListener;
      } else if (connected) {
        d->role = d->type == SOCK_DGRAM ? Role::kBound : Role::kConnected;
      } else if (bound || d->type == SOCK_DGRAM) {
        d->role = Role::kBound;
      } else {
        d->role = Role::kFresh;
      }
      break;
    }
    case AF_NETLINK:
      d->role = Role::kBound;
      break;
    default: {
      d->role = Role::kUnsupported;
      dmtcp_log(
          "socket plugin: fd %d: socket family %d is not supported; it "
          "will not come back after a restart",
          fd, d->family);
      break;
    }
  }
  if (d->type == SOCK_STREAM && d->role == Role::kConnected &&
      d->family != AF_UNIX && d->protocol != IPPROTO_TCP) {
    d->role = Role::kUnsupported;  // SCTP, MPTCP...
    dmtcp_log("socket plugin: fd %d: stream protocol %d is not supported", fd,
              d->protocol);
  }
}

void add_fd(Table* t, int fd, uint64_t ino) {
  int fl_flags = fcntl(fd, F_GETFL);
  int fd_flags = fcntl(fd, F_GETFD);
  if (fl_flags < 0 || fd_flags < 0) {
    return;  // closed meanwhile
  }
  uint32_t found = static_cast<uint32_t>(t->descs.size());
  for (uint32_t i = 0; i < t->descs.size(); ++i) {
    if (t->descs[i].id.ino == ino &&
        same_description(t->descs[i].first_fd, fd)) {
      found = i;
      break;
    }
  }
  if (found == t->descs.size()) {
    Desc d;
    d.first_fd = fd;
    d.fl_flags = fl_flags;
    inspect(&d, ino);
    t->descs.push_back(std::move(d));
  } else if (fd < t->descs[found].first_fd) {
    t->descs[found].first_fd = fd;
  }
  if (t->descs[found].role != Role::kUnsupported) {
    t->fds.push_back(FdSlot{fd, fd_flags, found});
    dmtcp_claim_fd(fd);
  }
}

}  // namespace

bool SockId::operator==(const SockId& o) const {
  return memcmp(this, &o, sizeof o) == 0;
}

bool SockId::operator<(const SockId& o) const {
  return memcmp(this, &o, sizeof o) < 0;
}

share::FdKey SockId::key() const {
  share::FdKey k{};
  memcpy(k.bytes, this, sizeof k.bytes);
  return k;
}

Table& table() {
  static Table t;
  return t;
}

namespace {
// Read again at every scan: after a restart on another machine the value
// the image remembers is the old machine's.
bool g_boot_read = false;
}  // namespace

const unsigned char* boot_id() {
  static unsigned char id[16];
  if (g_boot_read) {
    return id;
  }
  g_boot_read = true;
  memset(id, 0, sizeof id);
  char text[64] = {};
  int f = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
  if (f >= 0) {
    ssize_t n = read(f, text, sizeof text - 1);
    close(f);
    int j = 0;
    for (ssize_t i = 0; i < n && j < 32; ++i) {
      char c = text[i];
      int v = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                     : -1;
      if (v < 0) {
        continue;
      }
      id[j / 2] =
          static_cast<unsigned char>(id[j / 2] | (v << (j % 2 ? 0 : 4)));
      ++j;
    }
  }
  return id;
}

const char* addr_str(const sockaddr_storage& a, socklen_t len, char* buf,
                     size_t cap) {
  if (len == 0) {
    snprintf(buf, cap, "-");
    return buf;
  }
  switch (a.ss_family) {
    case AF_INET: {
      const auto& s = reinterpret_cast<const sockaddr_in&>(a);
      const auto* b = reinterpret_cast<const unsigned char*>(&s.sin_addr);
      snprintf(buf, cap, "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3],
               ntohs(s.sin_port));
      return buf;
    }
    case AF_INET6: {
      const auto& s = reinterpret_cast<const sockaddr_in6&>(a);
      const auto* b = s.sin6_addr.s6_addr;
      size_t n = 0;
      n += static_cast<size_t>(snprintf(buf, cap, "["));
      for (int i = 0; i < 16 && n < cap; i += 2) {
        n += static_cast<size_t>(snprintf(
            buf + n, cap - n, "%s%x", i ? ":" : "", (b[i] << 8) | b[i + 1]));
      }
      if (n < cap) {
        snprintf(buf + n, cap - n, "]:%u", ntohs(s.sin6_port));
      }
      return buf;
    }
    case AF_UNIX: {
      const auto& s = reinterpret_cast<const sockaddr_un&>(a);
      size_t plen = len > sizeof(sa_family_t) ? len - sizeof(sa_family_t) : 0;
      if (plen == 0) {
        snprintf(buf, cap, "unnamed");
      } else if (s.sun_path[0] == '\0') {
        snprintf(buf, cap, "@%.*s", static_cast<int>(plen - 1), s.sun_path + 1);
      } else {
        snprintf(buf, cap, "%.*s", static_cast<int>(strnlen(s.sun_path, plen)),
                 s.sun_path);
      }
      return buf;
    }
    default:
      snprintf(buf, cap, "family %d", a.ss_family);
      return buf;
  }
}

const char* describe(const Desc& d, char* buf, size_t cap) {
  char l[160], p[160];
  const char* kind = d.family == AF_UNIX      ? "unix"
                     : d.type == SOCK_STREAM  ? "tcp"
                     : d.family == AF_NETLINK ? "netlink"
                                              : "udp";
  snprintf(buf, cap, "%s %s -> %s", kind,
           addr_str(d.local, d.local_len, l, sizeof l),
           addr_str(d.peer, d.peer_len, p, sizeof p));
  return buf;
}

void scan(Table* t) {
  t->clear();
  g_boot_read = false;
  int high = share::highest_fd();
  t->park_floor = high + 1 > 3 ? high + 1 : 3;
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    dmtcp_log("socket plugin: /proc/self/fd: %s; no socket is saved",
              strerror(errno));
    return;
  }
  share::for_each_dir_entry(dir, [&](const char* name) {
    if (name[0] < '0' || name[0] > '9') {
      return true;
    }
    int fd = atoi(name);
    if (fd == dir || dmtcp_is_protected_fd(fd) || dmtcp_is_placeholder_fd(fd)) {
      return true;
    }
    char link[64];
    if (!share::read_fd_link(fd, link, sizeof link) ||
        strncmp(link, "socket:[", 8) != 0) {
      return true;
    }
    add_fd(t, fd, strtoull(link + 8, nullptr, 10));
    return true;
  });
  close(dir);
}

}  // namespace dmtcp::sock
