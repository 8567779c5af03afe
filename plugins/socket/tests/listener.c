/* Listeners and the connections they accepted, between a parent and its
 * child: TCP on 127.0.0.1, a dual-stack [::] listener reached over IPv4, a
 * UNIX listener at a path and one at an abstract name.  The child shares
 * every listener (fork) and connects to each; the parent accepts; bytes
 * are in flight both ways at the checkpoint.  Also DMTCP issue 489's
 * pattern: a socket the parent made and the child connected, held by
 * both.  After the go: every byte exactly once, the listeners listening at
 * the same port and path with their backlog and SO_REUSEADDR, and each
 * accepts a new connection from the child. */
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "socket_test.h"

enum { kL4, kL6, kLU, kLA, kN };

static struct sockaddr_storage addr[kN];
static socklen_t addr_len[kN];
static int lis[kN];

static void make_listener(int i, int family, const char* unix_name) {
  struct sockaddr_storage a;
  memset(&a, 0, sizeof a);
  socklen_t len;
  int one = 1, zero = 0;
  lis[i] = socket(family, SOCK_STREAM, 0);
  E2E_CHECK(lis[i] >= 0, "socket: %s", strerror(errno));
  if (family == AF_INET) {
    struct sockaddr_in* s = (struct sockaddr_in*)&a;
    s->sin_family = AF_INET;
    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *s;
    setsockopt(lis[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  } else if (family == AF_INET6) {
    struct sockaddr_in6* s = (struct sockaddr_in6*)&a;
    s->sin6_family = AF_INET6;
    s->sin6_addr = in6addr_any;
    len = sizeof *s;
    setsockopt(lis[i], IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  } else {
    struct sockaddr_un* s = (struct sockaddr_un*)&a;
    s->sun_family = AF_UNIX;
    size_t n = strlen(unix_name);
    memcpy(s->sun_path, unix_name, n);
    if (unix_name[0] == '@') {
      s->sun_path[0] = '\0';
    } else {
      unlink(unix_name);
    }
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  }
  E2E_CHECK(bind(lis[i], (struct sockaddr*)&a, len) == 0, "bind: %s",
            strerror(errno));
  E2E_CHECK(listen(lis[i], 7) == 0, "listen: %s", strerror(errno));
  addr_len[i] = sizeof addr[i];
  getsockname(lis[i], (struct sockaddr*)&addr[i], &addr_len[i]);
  if (family == AF_INET6) {
    /* Reach the dual-stack listener over IPv4. */
    int port = ((struct sockaddr_in6*)&addr[i])->sin6_port;
    struct sockaddr_in* s = (struct sockaddr_in*)&addr[i];
    memset(&addr[i], 0, sizeof addr[i]);
    s->sin_family = AF_INET;
    s->sin_port = (in_port_t)port;
    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr_len[i] = sizeof *s;
  }
}

static int dial(int i) {
  int fd = socket(addr[i].ss_family, SOCK_STREAM, 0);
  E2E_CHECK(fd >= 0, "socket: %s", strerror(errno));
  E2E_CHECK(connect(fd, (struct sockaddr*)&addr[i], addr_len[i]) == 0,
            "connect to listener %d: %s", i, strerror(errno));
  return fd;
}

static int get_int(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  getsockopt(fd, level, name, &v, &len);
  return v;
}

int main(void) {
  char path[100], abstract[100];
  snprintf(path, sizeof path, "/tmp/dmtcp-lis-%d", getpid());
  snprintf(abstract, sizeof abstract, "@dmtcp-lis-%d", getpid());
  make_listener(kL4, AF_INET, NULL);
  make_listener(kL6, AF_INET6, NULL);
  make_listener(kLU, AF_UNIX, path);
  make_listener(kLA, AF_UNIX, abstract);
  int made = socket(AF_INET, SOCK_STREAM, 0); /* issue 489 */
  int acc[kN + 1];
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork: %s", strerror(errno));
  if (child == 0) {
    int c[kN + 1];
    for (int i = 0; i < kN; ++i) {
      c[i] = dial(i);
    }
    E2E_CHECK(connect(made, (struct sockaddr*)&addr[kL4], addr_len[kL4]) == 0,
              "connect the parent's socket: %s", strerror(errno));
    c[kN] = made;
    for (int i = 0; i <= kN; ++i) {
      send_stream(c[i], 10 + (unsigned)i, 20000 + 1000 * (unsigned)i);
    }
    e2e_wait_for_go(NULL);
    for (int i = 0; i <= kN; ++i) {
      recv_stream(c[i], 20 + (unsigned)i, 15000, "parent->child");
    }
    for (int i = 0; i < kN; ++i) {
      int n = dial(i);
      send_stream(n, 30 + (unsigned)i, 3000);
      recv_stream(n, 40 + (unsigned)i, 3000, "new connection, parent->child");
      close(n);
    }
    for (int i = 0; i <= kN; ++i) {
      expect_empty(c[i], "parent->child");
    }
    exit(0);
  }
  for (int i = 0; i < kN; ++i) {
    acc[i] = accept(lis[i], NULL, NULL);
    E2E_CHECK(acc[i] >= 0, "accept: %s", strerror(errno));
  }
  acc[kN] = accept(lis[kL4], NULL, NULL);
  E2E_CHECK(acc[kN] >= 0, "accept: %s", strerror(errno));
  for (int i = 0; i <= kN; ++i) {
    send_stream(acc[i], 20 + (unsigned)i, 15000);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  for (int i = 0; i <= kN; ++i) {
    recv_stream(acc[i], 10 + (unsigned)i, 20000 + 1000 * (unsigned)i,
                "child->parent");
  }
  E2E_CHECK(get_int(lis[kL4], SOL_SOCKET, SO_REUSEADDR) == 1,
            "SO_REUSEADDR lost");
  E2E_CHECK(get_int(lis[kL6], IPPROTO_IPV6, IPV6_V6ONLY) == 0,
            "IPV6_V6ONLY appeared");
  struct tcp_info ti;
  socklen_t tl = sizeof ti;
  E2E_CHECK(getsockopt(lis[kL4], IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
                ti.tcpi_state == TCP_LISTEN && ti.tcpi_sacked == 7,
            "listener state %d backlog %u", ti.tcpi_state, ti.tcpi_sacked);
  for (int i = 0; i < kN; ++i) {
    int n = accept(lis[i], NULL, NULL);
    E2E_CHECK(n >= 0, "accept after the go: %s", strerror(errno));
    recv_stream(n, 30 + (unsigned)i, 3000, "new connection, child->parent");
    send_stream(n, 40 + (unsigned)i, 3000);
    close(n);
  }
  expect_child_ok(child);
  /* The parent still holds the socket it made (issue 489): no EOF. */
  expect_empty(acc[kN], "child->parent on the parent's socket");
  for (int i = 0; i < kN; ++i) {
    /* The child is gone: end of file, and not one byte more. */
    char x;
    ssize_t n = recv(acc[i], &x, 1, MSG_DONTWAIT);
    E2E_CHECK(n == 0, "child->parent %d: %zd more bytes (%s)", i, n,
              strerror(errno));
  }
  unlink(path);
  e2e_say("PASS");
  return 0;
}
