/* Helpers for the socket plugin's test programs: channels with a keyed
 * byte pattern in flight, verified byte for byte (loss, duplication and
 * reordering all fail). */
#ifndef DMTCP_SOCKET_TEST_H
#define DMTCP_SOCKET_TEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

/* Byte i of the stream keyed `key`. */
static inline unsigned char pat(unsigned key, size_t i) {
  unsigned long long s = (key + 1) * 0x9e3779b97f4a7c15ull + (i / 8) + 1;
  unsigned long long v = e2e_next(&s);
  return (unsigned char)(v >> (8 * (i % 8)));
}

static inline void write_all(int fd, const void* buf, size_t len) {
  const char* p = (const char*)buf;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      struct pollfd pf = {fd, POLLOUT, 0};
      poll(&pf, 1, 100);
      continue;
    }
    E2E_CHECK(n > 0, "send on fd %d: %s", fd, strerror(errno));
    p += n;
    len -= (size_t)n;
  }
}

/* Writes bytes [start, start + len) of stream `key`. */
static inline void send_stream_from(int fd, unsigned key, size_t start,
                                    size_t len) {
  static unsigned char buf[65536];
  size_t off = start, end = start + len;
  while (off < end) {
    size_t n = end - off < sizeof buf ? end - off : sizeof buf;
    for (size_t i = 0; i < n; ++i) {
      buf[i] = pat(key, off + i);
    }
    write_all(fd, buf, n);
    off += n;
  }
}

/* Writes `len` bytes of stream `key` (from offset 0). */
static inline void send_stream(int fd, unsigned key, size_t len) {
  send_stream_from(fd, key, 0, len);
}

/* Writes stream `key` without blocking until the socket is full (20
 * refusals in a row, 5 ms apart, so loopback moves what it can); returns
 * how many bytes went in. */
static inline size_t fill_up(int fd, unsigned key) {
  static unsigned char buf[4096];
  size_t off = 0;
  int idle = 0;
  while (idle < 20) {
    for (size_t i = 0; i < sizeof buf; ++i) {
      buf[i] = pat(key, off + i);
    }
    ssize_t n = send(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      E2E_CHECK(errno == EAGAIN, "send: %s", strerror(errno));
      ++idle;
      usleep(5000);
      continue;
    }
    idle = 0;
    off += (size_t)n;
  }
  return off;
}

/* Reads exactly `len` bytes and checks them against stream `key` from
 * byte `start` on; waits at most 20 s for each part. */
static inline void recv_stream_from(int fd, unsigned key, size_t start,
                                    size_t len, const char* what) {
  static unsigned char buf[65536];
  size_t off = 0;
  while (off < len) {
    struct pollfd pf = {fd, POLLIN, 0};
    E2E_CHECK(poll(&pf, 1, 20000) == 1, "%s: only %zu of %zu bytes came", what,
              off, len);
    size_t want = len - off < sizeof buf ? len - off : sizeof buf;
    ssize_t n = recv(fd, buf, want, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      continue;
    }
    E2E_CHECK(n > 0, "%s: recv after %zu of %zu bytes: %s", what, off, len,
              n == 0 ? "end of file" : strerror(errno));
    for (ssize_t i = 0; i < n; ++i) {
      E2E_CHECK(buf[i] == pat(key, start + off + (size_t)i),
                "%s: byte %zu is wrong", what, start + off + (size_t)i);
    }
    off += (size_t)n;
  }
}

/* Reads exactly `len` bytes of stream `key` from its start. */
static inline void recv_stream(int fd, unsigned key, size_t len,
                               const char* what) {
  recv_stream_from(fd, key, 0, len, what);
}

/* Nothing more is waiting. */
static inline void expect_empty(int fd, const char* what) {
  char c;
  ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
  E2E_CHECK(n < 0 && errno == EAGAIN, "%s: more data than was sent (%zd)", what,
            n);
}

/* Message m of key k: length and contents keyed. */
static inline size_t msg_len(unsigned key, unsigned m) {
  return 1 + (key * 131 + m * 977) % 3000;
}

static inline void send_msgs(int fd, unsigned key, unsigned count) {
  unsigned char buf[4096];
  for (unsigned m = 0; m < count; ++m) {
    size_t len = msg_len(key, m);
    for (size_t i = 0; i < len; ++i) {
      buf[i] = pat(key * 1000 + m, i);
    }
    write_all(fd, buf, len);
  }
}

static inline void recv_msgs(int fd, unsigned key, unsigned count,
                             const char* what) {
  unsigned char buf[8192];
  for (unsigned m = 0; m < count; ++m) {
    struct pollfd pf = {fd, POLLIN, 0};
    E2E_CHECK(poll(&pf, 1, 20000) == 1, "%s: message %u did not come", what, m);
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    E2E_CHECK(n >= 0, "%s: message %u: %s", what, m, strerror(errno));
    E2E_CHECK((size_t)n == msg_len(key, m),
              "%s: message %u has %zd bytes, "
              "not %zu",
              what, m, n, msg_len(key, m));
    for (ssize_t i = 0; i < n; ++i) {
      E2E_CHECK(buf[i] == pat(key * 1000 + m, (size_t)i),
                "%s: message %u byte %zd is wrong", what, m, i);
    }
  }
}

/* A connected TCP pair over the loopback address of `family`. */
static inline void tcp_pair(int family, int out[2]) {
  int l = socket(family, SOCK_STREAM, 0);
  E2E_CHECK(l >= 0, "socket: %s", strerror(errno));
  struct sockaddr_storage a;
  memset(&a, 0, sizeof a);
  socklen_t len;
  if (family == AF_INET6) {
    struct sockaddr_in6* s = (struct sockaddr_in6*)&a;
    s->sin6_family = AF_INET6;
    s->sin6_addr = in6addr_loopback;
    len = sizeof *s;
  } else {
    struct sockaddr_in* s = (struct sockaddr_in*)&a;
    s->sin_family = AF_INET;
    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *s;
  }
  E2E_CHECK(bind(l, (struct sockaddr*)&a, len) == 0 && listen(l, 4) == 0 &&
                getsockname(l, (struct sockaddr*)&a, &len) == 0,
            "listen: %s", strerror(errno));
  out[0] = socket(family, SOCK_STREAM, 0);
  E2E_CHECK(connect(out[0], (struct sockaddr*)&a, len) == 0, "connect: %s",
            strerror(errno));
  out[1] = accept(l, NULL, NULL);
  E2E_CHECK(out[1] >= 0, "accept: %s", strerror(errno));
  close(l);
}

static inline void expect_child_ok(pid_t pid) {
  int status;
  E2E_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
  E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "child failed (status %#x)", status);
}

#endif
