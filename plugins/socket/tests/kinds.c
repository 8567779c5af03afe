/* The other kinds: UDP over IPv4 and IPv6 (bound, and connected), a UNIX
 * datagram server at a path with a client connected to it (datagrams
 * queued at the server at the checkpoint), an abstract one, a netlink
 * route socket, a socket never bound, and options on each.  After the go
 * each works at its address: datagrams go both ways, the server gets its
 * queued datagrams once and in order, the netlink socket answers a dump
 * request, and the options are as they were. */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "socket_test.h"

static int get_int(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  getsockopt(fd, level, name, &v, &len);
  return v;
}

static int udp(int family, struct sockaddr_storage* a, socklen_t* len) {
  int fd = socket(family, SOCK_DGRAM, 0);
  memset(a, 0, sizeof *a);
  if (family == AF_INET6) {
    struct sockaddr_in6* s = (struct sockaddr_in6*)a;
    s->sin6_family = AF_INET6;
    s->sin6_addr = in6addr_loopback;
    *len = sizeof *s;
  } else {
    struct sockaddr_in* s = (struct sockaddr_in*)a;
    s->sin_family = AF_INET;
    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = sizeof *s;
  }
  E2E_CHECK(bind(fd, (struct sockaddr*)a, *len) == 0 &&
                getsockname(fd, (struct sockaddr*)a, len) == 0,
            "udp bind: %s", strerror(errno));
  return fd;
}

static int unix_dgram(const char* name, struct sockaddr_un* a, socklen_t* len) {
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  size_t n = strlen(name);
  memcpy(a->sun_path, name, n);
  if (name[0] == '@') {
    a->sun_path[0] = '\0';
  } else {
    unlink(name);
  }
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  E2E_CHECK(bind(fd, (struct sockaddr*)a, *len) == 0, "unix bind %s: %s", name,
            strerror(errno));
  return fd;
}

static void netlink_dump(int fd) {
  struct {
    struct nlmsghdr h;
    struct rtgenmsg g;
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 7;
  req.g.rtgen_family = AF_UNSPEC;
  E2E_CHECK(send(fd, &req, sizeof req, 0) == (ssize_t)sizeof req,
            "netlink send: %s", strerror(errno));
  char buf[65536];
  struct pollfd pf = {fd, POLLIN, 0};
  E2E_CHECK(poll(&pf, 1, 5000) == 1, "netlink: no answer");
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  struct nlmsghdr* h = (struct nlmsghdr*)buf;
  E2E_CHECK(n > 0 && NLMSG_OK(h, (size_t)n) && h->nlmsg_seq == 7 &&
                (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == NLMSG_DONE),
            "netlink: bad answer (%zd)", n);
  /* Read the rest of the dump. */
  while (h->nlmsg_type != NLMSG_DONE) {
    n = recv(fd, buf, sizeof buf, 0);
    E2E_CHECK(n > 0, "netlink recv: %s", strerror(errno));
    for (h = (struct nlmsghdr*)buf; NLMSG_OK(h, (size_t)n);
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) {
        break;
      }
    }
    if (!NLMSG_OK(h, (size_t)n)) {
      h = (struct nlmsghdr*)buf;
    }
  }
}

int main(void) {
  struct sockaddr_storage ua, ub, u6;
  socklen_t ual, ubl, u6l;
  int u1 = udp(AF_INET, &ua, &ual);
  int u2 = udp(AF_INET, &ub, &ubl);
  E2E_CHECK(connect(u2, (struct sockaddr*)&ua, ual) == 0, "udp connect: %s",
            strerror(errno));
  int u3 = udp(AF_INET6, &u6, &u6l);
  int big = 300000;
  setsockopt(u1, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  int rcvbuf = get_int(u1, SOL_SOCKET, SO_RCVBUF);

  char path[100], abs_name[100];
  snprintf(path, sizeof path, "/tmp/dmtcp-dgram-%d", getpid());
  snprintf(abs_name, sizeof abs_name, "@dmtcp-dgram-%d", getpid());
  struct sockaddr_un sa, aa;
  socklen_t sal, aal;
  int server = unix_dgram(path, &sa, &sal);
  int abstract = unix_dgram(abs_name, &aa, &aal);
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  int client = socket(AF_UNIX, SOCK_DGRAM, 0);
  E2E_CHECK(connect(client, (struct sockaddr*)&sa, sal) == 0,
            "unix dgram connect: %s", strerror(errno));
  send_msgs(client, 1, 4); /* queued at the server */
  send_msgs(client, 2, 2);

  int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  struct sockaddr_nl nla;
  memset(&nla, 0, sizeof nla);
  nla.nl_family = AF_NETLINK;
  E2E_CHECK(bind(nl, (struct sockaddr*)&nla, sizeof nla) == 0,
            "netlink bind: %s", strerror(errno));
  int fresh = socket(AF_INET6, SOCK_STREAM, 0);
  struct linger lg = {1, 7};
  setsockopt(fresh, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  int idle = 77;
  setsockopt(fresh, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);

  e2e_say("READY");
  e2e_wait_for_go(NULL);

  /* Queued datagrams: once, in order. */
  recv_msgs(server, 1, 4, "queued at the unix dgram server");
  recv_msgs(server, 2, 2, "queued at the unix dgram server");
  expect_empty(server, "unix dgram server");
  send_msgs(client, 3, 3);
  recv_msgs(server, 3, 3, "unix dgram client after the go");
  int c2 = socket(AF_UNIX, SOCK_DGRAM, 0);
  E2E_CHECK(sendto(c2, "z", 1, 0, (struct sockaddr*)&aa, aal) == 1,
            "sendto the abstract name: %s", strerror(errno));
  char z;
  E2E_CHECK(recv(abstract, &z, 1, 0) == 1 && z == 'z', "abstract dgram");
  E2E_CHECK(get_int(server, SOL_SOCKET, SO_PASSCRED) == 1, "SO_PASSCRED lost");

  /* UDP: at its port, connected as before. */
  send_msgs(u2, 5, 3);
  recv_msgs(u1, 5, 3, "udp connected -> bound");
  E2E_CHECK(sendto(u1, "y", 1, 0, (struct sockaddr*)&ub, ubl) == 1,
            "udp sendto: %s", strerror(errno));
  E2E_CHECK(recv(u2, &z, 1, 0) == 1 && z == 'y', "udp to the connected one");
  int probe = socket(AF_INET6, SOCK_DGRAM, 0);
  E2E_CHECK(sendto(probe, "v", 1, 0, (struct sockaddr*)&u6, u6l) == 1,
            "udp6 sendto: %s", strerror(errno));
  E2E_CHECK(recv(u3, &z, 1, 0) == 1 && z == 'v', "udp6");
  E2E_CHECK(get_int(u1, SOL_SOCKET, SO_RCVBUF) == rcvbuf,
            "SO_RCVBUF %d, was %d", get_int(u1, SOL_SOCKET, SO_RCVBUF), rcvbuf);

  netlink_dump(nl);
  E2E_CHECK(get_int(fresh, SOL_SOCKET, SO_TYPE) == SOCK_STREAM &&
                get_int(fresh, SOL_SOCKET, SO_DOMAIN) == AF_INET6,
            "the unbound socket is not what it was");
  E2E_CHECK(get_int(fresh, IPPROTO_TCP, TCP_KEEPIDLE) == 77,
            "TCP_KEEPIDLE lost");
  socklen_t ll = sizeof lg;
  memset(&lg, 0, sizeof lg);
  getsockopt(fresh, SOL_SOCKET, SO_LINGER, &lg, &ll);
  E2E_CHECK(lg.l_onoff == 1 && lg.l_linger == 7, "SO_LINGER lost");
  unlink(path);
  e2e_say("PASS");
  return 0;
}
