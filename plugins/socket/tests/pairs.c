/* Connections whose two ends are both in the computation: socketpairs of
 * each UNIX type, TCP over IPv4 and IPv6, a UNIX stream through a named
 * listener, half-closed connections, all with bytes in flight in both
 * directions, in one process and across fork.  After the go every byte
 * must arrive exactly once, in order, messages whole, nothing more; then
 * each connection carries new data both ways; options, O_NONBLOCK,
 * FD_CLOEXEC and the shutdown state are as they were. */
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>

#include "socket_test.h"

enum { kStream, kMsgs };

struct Chan {
  const char* name;
  int fd[2];
  int kind;
  unsigned n[2]; /* bytes (stream) or messages, sent from fd[i] */
  int shut_a;    /* fd[0] shut its writing side after sending */
};

static struct Chan chans[16];
static int nchans;

static struct Chan* add(const char* name, int a, int b, int kind, unsigned na,
                        unsigned nb) {
  struct Chan* c = &chans[nchans++];
  c->name = name;
  c->fd[0] = a;
  c->fd[1] = b;
  c->kind = kind;
  c->n[0] = na;
  c->n[1] = nb;
  return c;
}

static unsigned key_of(int ch, int side) {
  return (unsigned)(ch * 2 + side + 1);
}

static void fill(int ch) {
  struct Chan* c = &chans[ch];
  for (int s = 0; s < 2; ++s) {
    if (c->kind == kStream) {
      send_stream(c->fd[s], key_of(ch, s), c->n[s]);
    } else {
      send_msgs(c->fd[s], key_of(ch, s), c->n[s]);
    }
  }
  if (c->shut_a) {
    E2E_CHECK(shutdown(c->fd[0], SHUT_WR) == 0, "shutdown: %s",
              strerror(errno));
  }
}

static void verify(int ch) {
  struct Chan* c = &chans[ch];
  char what[128];
  for (int s = 0; s < 2; ++s) {
    int to = c->fd[1 - s];
    snprintf(what, sizeof what, "%s, %s", c->name, s == 0 ? "a->b" : "b->a");
    if (c->kind == kStream) {
      recv_stream(to, key_of(ch, s), c->n[s], what);
    } else {
      recv_msgs(to, key_of(ch, s), c->n[s], what);
    }
    if (s == 0 && c->shut_a) {
      char x;
      ssize_t n = recv(to, &x, 1, MSG_DONTWAIT);
      E2E_CHECK(n == 0, "%s: no end of file after the shutdown (%zd, %s)", what,
                n, strerror(errno));
    } else {
      expect_empty(to, what);
    }
  }
  /* New data both ways (not from the shut side). */
  for (int s = c->shut_a ? 1 : 0; s < 2; ++s) {
    snprintf(what, sizeof what, "%s, new data %s", c->name,
             s == 0 ? "a->b" : "b->a");
    if (c->kind == kStream) {
      send_stream(c->fd[s], 500 + key_of(ch, s), 777);
      recv_stream(c->fd[1 - s], 500 + key_of(ch, s), 777, what);
    } else {
      send_msgs(c->fd[s], 500 + key_of(ch, s), 3);
      recv_msgs(c->fd[1 - s], 500 + key_of(ch, s), 3, what);
    }
  }
}

static int get_int(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  E2E_CHECK(getsockopt(fd, level, name, &v, &len) == 0, "getsockopt: %s",
            strerror(errno));
  return v;
}

int main(void) {
  int s[2];
  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0, "socketpair");
  add("unix stream pair", s[0], s[1], kStream, 50000, 30000);
  E2E_CHECK(fcntl(s[0], F_SETFD, FD_CLOEXEC) == 0, "cloexec");
  E2E_CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, s) == 0, "socketpair");
  add("unix dgram pair", s[0], s[1], kMsgs, 5, 4);
  E2E_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s) == 0, "socketpair");
  add("unix seqpacket pair", s[0], s[1], kMsgs, 20, 15);
  tcp_pair(AF_INET, s);
  int tcp_a = s[0], tcp_b = s[1];
  add("tcp v4", s[0], s[1], kStream, 100000, 60000);
  int one = 1;
  E2E_CHECK(
      setsockopt(tcp_b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 &&
          setsockopt(tcp_a, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) == 0,
      "setsockopt: %s", strerror(errno));
  E2E_CHECK(fcntl(tcp_a, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
  tcp_pair(AF_INET6, s);
  add("tcp v6", s[0], s[1], kStream, 40000, 40000);

  /* A UNIX stream through a listener at a path. */
  char path[100];
  snprintf(path, sizeof path, "/tmp/dmtcp-sock-%d", getpid());
  unlink(path);
  struct sockaddr_un un;
  memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
  int lis = socket(AF_UNIX, SOCK_STREAM, 0);
  E2E_CHECK(
      bind(lis, (struct sockaddr*)&un, sizeof un) == 0 && listen(lis, 3) == 0,
      "unix listen: %s", strerror(errno));
  s[0] = socket(AF_UNIX, SOCK_STREAM, 0);
  E2E_CHECK(connect(s[0], (struct sockaddr*)&un, sizeof un) == 0,
            "unix connect: %s", strerror(errno));
  s[1] = accept(lis, NULL, NULL);
  add("unix stream via path", s[0], s[1], kStream, 20000, 20000);

  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0, "socketpair");
  add("unix stream half-closed", s[0], s[1], kStream, 10000, 5000)->shut_a = 1;
  tcp_pair(AF_INET, s);
  add("tcp half-closed", s[0], s[1], kStream, 10000, 5000)->shut_a = 1;

  for (int i = 0; i < nchans; ++i) {
    fill(i);
  }

  /* Across fork: the child holds the b ends of two connections. */
  int f0[2], f1[2], sync[2];
  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, f0) == 0, "socketpair");
  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sync) == 0, "socketpair");
  tcp_pair(AF_INET, f1);
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork: %s", strerror(errno));
  if (child == 0) {
    close(f0[0]);
    close(f1[0]);
    close(sync[0]);
    send_stream(f0[1], 101, 30000);
    send_stream(f1[1], 103, 70000);
    write_all(sync[1], "k", 1);
    e2e_wait_for_go(NULL);
    recv_stream(f0[1], 100, 25000, "fork unix, parent->child");
    recv_stream(f1[1], 102, 50000, "fork tcp, parent->child");
    /* What follows must be exactly the new data: no byte twice. */
    send_stream(f0[1], 201, 999);
    send_stream(f1[1], 203, 999);
    recv_stream(f1[1], 202, 999, "fork tcp, new data");
    expect_empty(f0[1], "fork unix, parent->child");
    expect_empty(f1[1], "fork tcp, parent->child");
    exit(0);
  }
  close(f0[1]);
  close(f1[1]);
  close(sync[1]);
  send_stream(f0[0], 100, 25000);
  send_stream(f1[0], 102, 50000);
  char k;
  E2E_CHECK(read(sync[0], &k, 1) == 1, "child did not start");

  e2e_say("READY");
  e2e_wait_for_go(NULL);

  for (int i = 0; i < nchans; ++i) {
    verify(i);
  }
  E2E_CHECK((fcntl(tcp_a, F_GETFL) & O_NONBLOCK) != 0, "O_NONBLOCK lost");
  E2E_CHECK((fcntl(chans[0].fd[0], F_GETFD) & FD_CLOEXEC) != 0,
            "FD_CLOEXEC lost");
  E2E_CHECK((fcntl(chans[0].fd[1], F_GETFD) & FD_CLOEXEC) == 0,
            "FD_CLOEXEC appeared");
  E2E_CHECK(get_int(tcp_b, IPPROTO_TCP, TCP_NODELAY) == 1, "TCP_NODELAY lost");
  E2E_CHECK(get_int(tcp_a, IPPROTO_TCP, TCP_NODELAY) == 0,
            "TCP_NODELAY appeared");
  E2E_CHECK(get_int(tcp_a, SOL_SOCKET, SO_KEEPALIVE) == 1, "SO_KEEPALIVE lost");
  E2E_CHECK(get_int(lis, SOL_SOCKET, SO_ACCEPTCONN) == 1,
            "the listener is not listening");
  /* The listener at the path takes a new connection. */
  int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
  E2E_CHECK(connect(c2, (struct sockaddr*)&un, sizeof un) == 0,
            "connect to the path after the go: %s", strerror(errno));
  int a2 = accept(lis, NULL, NULL);
  E2E_CHECK(a2 >= 0, "accept: %s", strerror(errno));
  send_stream(c2, 300, 5000);
  recv_stream(a2, 300, 5000, "new unix connection");

  recv_stream(f0[0], 101, 30000, "fork unix, child->parent");
  recv_stream(f1[0], 103, 70000, "fork tcp, child->parent");
  recv_stream(f0[0], 201, 999, "fork unix, new data");
  recv_stream(f1[0], 203, 999, "fork tcp, new data");
  send_stream(f1[0], 202, 999);
  expect_child_ok(child);
  unlink(path);
  e2e_say("PASS");
  return 0;
}
