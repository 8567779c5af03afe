// socket_options.cpp -- the socket options that come back after a re-make.
//
// Saved at DRAIN with getsockopt; after a re-make each one is set only
// when it differs from what a fresh socket of the same kind has.  That
// keeps autotuning: setting SO_RCVBUF/SO_SNDBUF locks the size, so a
// socket whose buffers the program never set must not get them set.
// The kernel reports buffer sizes doubled; they are set back halved.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/plugin.h"
#include "socket_table.h"

namespace dmtcp::sock {
namespace {

bool is_tcp(const Desc& d) {
  return (d.family == AF_INET || d.family == AF_INET6) && d.type == SOCK_STREAM;
}

int get(int fd, int level, int name) {
  int v = 0;
  socklen_t len = sizeof v;
  return getsockopt(fd, level, name, &v, &len) == 0 ? v : 0;
}

void read_options(const Desc& d, int fd, Options* o) {
  o->reuseaddr = get(fd, SOL_SOCKET, SO_REUSEADDR);
  o->reuseport = get(fd, SOL_SOCKET, SO_REUSEPORT);
  o->keepalive = get(fd, SOL_SOCKET, SO_KEEPALIVE);
  o->passcred = get(fd, SOL_SOCKET, SO_PASSCRED);
  o->rcvbuf = get(fd, SOL_SOCKET, SO_RCVBUF);
  o->sndbuf = get(fd, SOL_SOCKET, SO_SNDBUF);
  socklen_t len = sizeof o->linger;
  if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &o->linger, &len) != 0) {
    o->linger = {};
  }
  if (is_tcp(d)) {
    o->nodelay = get(fd, IPPROTO_TCP, TCP_NODELAY);
    o->cork = get(fd, IPPROTO_TCP, TCP_CORK);
    o->keepidle = get(fd, IPPROTO_TCP, TCP_KEEPIDLE);
    o->keepintvl = get(fd, IPPROTO_TCP, TCP_KEEPINTVL);
    o->keepcnt = get(fd, IPPROTO_TCP, TCP_KEEPCNT);
  }
  if (d.family == AF_INET6) {
    o->v6only = get(fd, IPPROTO_IPV6, IPV6_V6ONLY);
  }
}

void set_if(int fd, int level, int name, int want, int fresh, const Desc& d,
            const char* what) {
  if (want == fresh) {
    return;
  }
  if (setsockopt(fd, level, name, &want, sizeof want) != 0) {
    char buf[400];
    dmtcp_log("socket plugin: fd %d (%s): %s = %d not set again: %s",
              d.first_fd, describe(d, buf, sizeof buf), what, want,
              strerror(errno));
  }
}

}  // namespace

void save_options(Desc* d) {
  read_options(*d, d->first_fd, &d->opts);
}

void apply_options(const Desc& d, int fd) {
  Options fresh;
  int probe = socket(d.family, d.type | SOCK_CLOEXEC, d.protocol);
  if (probe >= 0) {
    read_options(d, probe, &fresh);
    close(probe);
  }
  const Options& o = d.opts;
  set_if(fd, SOL_SOCKET, SO_REUSEADDR, o.reuseaddr, fresh.reuseaddr, d,
         "SO_REUSEADDR");
  set_if(fd, SOL_SOCKET, SO_REUSEPORT, o.reuseport, fresh.reuseport, d,
         "SO_REUSEPORT");
  set_if(fd, SOL_SOCKET, SO_KEEPALIVE, o.keepalive, fresh.keepalive, d,
         "SO_KEEPALIVE");
  set_if(fd, SOL_SOCKET, SO_PASSCRED, o.passcred, fresh.passcred, d,
         "SO_PASSCRED");
  if (o.rcvbuf != fresh.rcvbuf) {
    set_if(fd, SOL_SOCKET, SO_RCVBUF, o.rcvbuf / 2, -1, d, "SO_RCVBUF");
  }
  if (o.sndbuf != fresh.sndbuf) {
    set_if(fd, SOL_SOCKET, SO_SNDBUF, o.sndbuf / 2, -1, d, "SO_SNDBUF");
  }
  if (o.linger.l_onoff != fresh.linger.l_onoff ||
      o.linger.l_linger != fresh.linger.l_linger) {
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &o.linger, sizeof o.linger);
  }
  if (is_tcp(d)) {
    set_if(fd, IPPROTO_TCP, TCP_NODELAY, o.nodelay, fresh.nodelay, d,
           "TCP_NODELAY");
    set_if(fd, IPPROTO_TCP, TCP_CORK, o.cork, fresh.cork, d, "TCP_CORK");
    set_if(fd, IPPROTO_TCP, TCP_KEEPIDLE, o.keepidle, fresh.keepidle, d,
           "TCP_KEEPIDLE");
    set_if(fd, IPPROTO_TCP, TCP_KEEPINTVL, o.keepintvl, fresh.keepintvl, d,
           "TCP_KEEPINTVL");
    set_if(fd, IPPROTO_TCP, TCP_KEEPCNT, o.keepcnt, fresh.keepcnt, d,
           "TCP_KEEPCNT");
  }
}

}  // namespace dmtcp::sock
