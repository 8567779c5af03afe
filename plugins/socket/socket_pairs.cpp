// socket_pairs.cpp -- which connected sockets have their peer inside the
// computation, found by publish/subscribe during the checkpoint.
//
// Every leader of a connected end publishes, at LEADER_ELECTION, under a
// key naming the connection as seen from its side; at DRAIN (a barrier
// later) every holder asks for the key its peer would have published:
//   UNIX:  "su" boot-id inode            (the peer asks with its
//                                         sock_diag peer inode)
//   TCP:   "st" local-address peer-address (the peer has them swapped;
//                                         IPv4-mapped IPv6 taken as IPv4)
// The answer (EndInfo) gives the peer's identity, its leader's virtual
// pid, its shutdown bits and the marker it will end its stream with.  A
// UNIX answer counts only when it names us back (a datagram socket
// connected to a server socket is not a pair).  No answer: the peer is
// outside the computation.
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "dmtcp/plugin.h"
#include "socket_table.h"

namespace dmtcp::sock {
namespace {

struct EndInfo {
  SockId id;
  pid_t vpid;
  uint32_t unix_peer;
  uint8_t shut;
  unsigned char marker[32];
};

struct NAddr {
  uint8_t family;  // 4 or 6
  uint8_t pad;
  uint16_t port;
  unsigned char addr[16];
};

NAddr norm(const sockaddr_storage& a) {
  NAddr n{};
  if (a.ss_family == AF_INET) {
    const auto& s = reinterpret_cast<const sockaddr_in&>(a);
    n.family = 4;
    n.port = s.sin_port;
    memcpy(n.addr, &s.sin_addr, 4);
  } else if (a.ss_family == AF_INET6) {
    const auto& s = reinterpret_cast<const sockaddr_in6&>(a);
    n.port = s.sin6_port;
    if (IN6_IS_ADDR_V4MAPPED(&s.sin6_addr)) {
      n.family = 4;
      memcpy(n.addr, s.sin6_addr.s6_addr + 12, 4);
    } else {
      n.family = 6;
      memcpy(n.addr, s.sin6_addr.s6_addr, 16);
    }
  }
  return n;
}

struct Key {
  char bytes[2 + 2 * sizeof(NAddr) + 16 + 8];
  size_t len;
};

bool loopback(const NAddr& a) {
  static const unsigned char v6[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 0, 0, 1};
  return a.family == 4 ? a.addr[0] == 127 : memcmp(a.addr, v6, 16) == 0;
}

// A loopback address names a connection only within one network namespace
// of one machine: two simulated or real hosts may both have
// 127.0.0.1:5000 -> 127.0.0.1:40000.  The namespace's inode read now.
uint64_t netns_ino() {
  struct stat st;
  return stat("/proc/self/ns/net", &st) == 0 ? st.st_ino : 0;
}

bool is_tcp(const Desc& d) {
  return (d.family == AF_INET || d.family == AF_INET6) && d.type == SOCK_STREAM;
}

bool pairable(const Desc& d) {
  return d.role == Role::kConnected && (d.family == AF_UNIX || is_tcp(d));
}

// The key this end publishes under (mine) or asks with (the peer's).
Key key_of(const Desc& d, bool peers) {
  Key k{};
  if (d.family == AF_UNIX) {
    k.bytes[0] = 's';
    k.bytes[1] = 'u';
    uint64_t ino = peers ? d.unix_peer : d.id.ino;
    memcpy(k.bytes + 2, d.id.boot, 16);
    memcpy(k.bytes + 18, &ino, sizeof ino);
    k.len = 26;
    return k;
  }
  k.bytes[0] = 's';
  k.bytes[1] = 't';
  NAddr a = norm(peers ? d.peer : d.local);
  NAddr b = norm(peers ? d.local : d.peer);
  memcpy(k.bytes + 2, &a, sizeof a);
  memcpy(k.bytes + 2 + sizeof a, &b, sizeof b);
  k.len = 2 + sizeof a + sizeof b;
  if (loopback(a) || loopback(b)) {
    uint64_t ns = netns_ino();
    memcpy(k.bytes + k.len, d.id.boot, 16);
    memcpy(k.bytes + k.len + 16, &ns, sizeof ns);
    k.len += 16 + sizeof ns;
  }
  return k;
}

}  // namespace

void publish_ends(Table* t) {
  pid_t me = dmtcp_real_to_virtual_pid(share::raw_getpid());
  for (Desc& d : t->descs) {
    d.where = Peer::kUnknown;
    if (!pairable(d) || !d.el.leader) {
      continue;
    }
    if (getrandom(d.marker, sizeof d.marker, 0) !=
        static_cast<ssize_t>(sizeof d.marker)) {
      memset(d.marker, 0x5a, sizeof d.marker);
      memcpy(d.marker, &d.id.ino, sizeof d.id.ino);
    }
    EndInfo info{};
    info.id = d.id;
    info.vpid = me;
    info.unix_peer = d.unix_peer;
    info.shut = d.shut;
    memcpy(info.marker, d.marker, sizeof info.marker);
    Key k = key_of(d, false);
    if (dmtcp_send_key_val_pair_to_coordinator(k.bytes, k.len, &info,
                                               sizeof info) != 1) {
      char buf[400];
      dmtcp_log(
          "socket plugin: fd %d (%s): cannot publish it; its peer will "
          "take it for an outside socket",
          d.first_fd, describe(d, buf, sizeof buf));
    }
  }
}

void find_peers(Table* t) {
  for (Desc& d : t->descs) {
    if (!pairable(d)) {
      continue;
    }
    d.where = Peer::kOutside;
    if (d.family == AF_UNIX && d.unix_peer == 0) {
      continue;
    }
    Key k = key_of(d, true);
    EndInfo info{};
    size_t len = sizeof info;
    if (dmtcp_send_query_to_coordinator(k.bytes, k.len, &info, &len) != 1 ||
        len != sizeof info) {
      continue;
    }
    if (d.family == AF_UNIX && info.unix_peer != d.id.ino) {
      continue;  // connected to a server socket that is not connected to us
    }
    if (info.id == d.id) {
      continue;  // a TCP socket connected to itself: not a pair
    }
    d.where = Peer::kInside;
    d.peer_id = info.id;
    d.peer_vpid = info.vpid;
    d.peer_shut = info.shut;
    memcpy(d.peer_marker, info.marker, sizeof d.peer_marker);
  }
}

}  // namespace dmtcp::sock
