/* More in flight than a fresh connection holds: two TCP connections (both
 * ends in this process; parent and child) first carry BULK_WARM_MIB each
 * way, read as it comes, so autotuning grows their buffers far past what
 * a new connection has (tens of MiB here), then each end writes a keyed
 * stream until it would block and stops reading.  After the go every
 * byte of each direction arrives once, in order, and bytes written after
 * the go come after them.
 *
 * `bulk_big shared`: one connection, filled both ways, then a fork: the
 * receiving end of one direction is held by parent and child.  After the
 * go the child reads the first half of what was in flight towards it, the
 * parent the rest, then what is written after the go: whichever process
 * leads the end, the bytes it keeps back must reach the one reading.
 * `bulk_big fork_after`: the same, with the fork after the go (after a
 * restart: while the bytes that did not fit back are held). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socket_test.h"

#ifndef BULK_WARM_MIB
#define BULK_WARM_MIB 256
#endif

/* Each end of fds[] sends `total` bytes and reads `total` bytes, as
 * they come, all ends served by one poll loop. */
static void warm(const int* fds, int n, size_t total) {
  static unsigned char zeros[1 << 18], sink[1 << 18];
  size_t sent[2] = {0, 0}, got[2] = {0, 0};
  for (;;) {
    struct pollfd pf[2];
    int busy = 0;
    for (int i = 0; i < n; ++i) {
      pf[i].fd = fds[i];
      pf[i].events = 0;
      pf[i].revents = 0;
      if (sent[i] < total) {
        size_t len =
            total - sent[i] < sizeof zeros ? total - sent[i] : sizeof zeros;
        ssize_t w = send(fds[i], zeros, len, MSG_DONTWAIT);
        E2E_CHECK(w > 0 || errno == EAGAIN, "warm send: %s", strerror(errno));
        if (w > 0) {
          sent[i] += (size_t)w;
        }
      }
      if (got[i] < total) {
        size_t want =
            total - got[i] < sizeof sink ? total - got[i] : sizeof sink;
        ssize_t r = recv(fds[i], sink, want, MSG_DONTWAIT);
        E2E_CHECK(r > 0 || (r < 0 && errno == EAGAIN), "warm recv: %s",
                  r == 0 ? "end of file" : strerror(errno));
        if (r > 0) {
          for (ssize_t k = 0; k < r; ++k) {
            E2E_CHECK(sink[k] == 0, "warm: byte %zu is not zero",
                      got[i] + (size_t)k);
          }
          got[i] += (size_t)r;
        }
      }
      pf[i].events = (short)((sent[i] < total ? POLLOUT : 0) |
                             (got[i] < total ? POLLIN : 0));
      busy |= pf[i].events != 0;
    }
    if (!busy) {
      return;
    }
    E2E_CHECK(poll(pf, (nfds_t)n, 20000) > 0, "warm: stuck");
  }
}

enum { kExtra = 1 << 20 };

/* A child holding t[1] reads the first half of the tn bytes that were in
 * flight towards it, then waits for the parent to finish. */
static void child_reads_half(const int* t, int sync_fd, size_t tn,
                             int wait_for_go) {
  char c = 'x';
  close(t[0]);
  if (wait_for_go) {
    e2e_wait_for_go(NULL);
  }
  recv_stream_from(t[1], 1, 0, tn / 2, "shared a->b, the child's half");
  E2E_CHECK(write(sync_fd, &c, 1) == 1, "sync");
  E2E_CHECK(read(sync_fd, &c, 1) == 1, "sync");
  exit(0);
}

/* fork_after_go: the child is forked after the restart, while the bytes
 * that did not fit back are held. */
static int shared_end(size_t warm_bytes, int fork_after_go) {
  int t[2], sync[2];
  char c = 'x';
  tcp_pair(AF_INET, t);
  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sync) == 0, "socketpair");
  warm(t, 2, warm_bytes);
  size_t tn = fill_up(t[0], 1);
  size_t tb = fill_up(t[1], 2);
  pid_t child = -1;
  if (!fork_after_go) {
    child = fork();
    E2E_CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
      child_reads_half(t, sync[1], tn, 1);
    }
  }
  printf("in flight: %zu bytes towards the shared end, %zu back\n", tn, tb);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  if (fork_after_go) {
    child = fork();
    E2E_CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
      child_reads_half(t, sync[1], tn, 0);
    }
  }
  close(sync[1]); /* a child that failed is an end of file here */
  recv_stream(t[0], 2, tb, "tcp b->a");
  E2E_CHECK(read(sync[0], &c, 1) == 1, "sync: the child failed");
  recv_stream_from(t[1], 1, tn / 2, tn - tn / 2,
                   "shared a->b, the parent's half");
  /* Written after the go: they come after the bytes in flight. */
  send_stream_from(t[0], 1, tn, kExtra);
  recv_stream_from(t[1], 1, tn, kExtra, "shared a->b after");
  expect_empty(t[1], "shared a->b");
  expect_empty(t[0], "tcp b->a");
  E2E_CHECK(write(sync[0], &c, 1) == 1, "sync");
  expect_child_ok(child);
  e2e_say("PASS");
  return 0;
}

int main(int argc, char** argv) {
  size_t warm_bytes = (size_t)BULK_WARM_MIB << 20;
  if (argc > 1 && strcmp(argv[1], "shared") == 0) {
    return shared_end(warm_bytes, 0);
  }
  if (argc > 1 && strcmp(argv[1], "fork_after") == 0) {
    return shared_end(warm_bytes, 1);
  }
  int t[2], f[2], sync[2];
  tcp_pair(AF_INET, t);
  tcp_pair(AF_INET, f);
  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sync) == 0, "socketpair");
  pid_t child = fork();
  if (child == 0) {
    /* Only the parent holds t: a description shared after fork keeps
     * its held bytes in the process leading it (docs/socket.md). */
    close(t[0]);
    close(t[1]);
    close(f[0]);
    warm(&f[1], 1, warm_bytes);
    size_t cn = fill_up(f[1], 3);
    size_t pn;
    E2E_CHECK(write(sync[1], &cn, sizeof cn) == sizeof cn, "sync");
    E2E_CHECK(read(sync[1], &pn, sizeof pn) == sizeof pn, "sync");
    e2e_wait_for_go(NULL);
    /* New bytes first (the parent reads), then ours. */
    send_stream_from(f[1], 3, cn, kExtra);
    recv_stream(f[1], 4, pn + kExtra, "tcp parent->child");
    expect_empty(f[1], "tcp parent->child");
    exit(0);
  }
  close(f[1]);
  warm(t, 2, warm_bytes);
  warm(&f[0], 1, warm_bytes);
  size_t tn = fill_up(t[0], 1);
  size_t tb = fill_up(t[1], 2);
  size_t pn = fill_up(f[0], 4);
  size_t cn;
  E2E_CHECK(read(sync[0], &cn, sizeof cn) == sizeof cn, "sync");
  E2E_CHECK(write(sync[0], &pn, sizeof pn) == sizeof pn, "sync");
  printf("in flight: tcp %zu + %zu, across fork %zu + %zu bytes\n", tn, tb, pn,
         cn);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  recv_stream(t[1], 1, tn, "tcp a->b");
  recv_stream(t[0], 2, tb, "tcp b->a");
  /* Written after the go: they come after the bytes in flight. */
  send_stream_from(t[0], 1, tn, kExtra);
  send_stream_from(t[1], 2, tb, kExtra);
  recv_stream_from(t[1], 1, tn, kExtra, "tcp a->b after");
  recv_stream_from(t[0], 2, tb, kExtra, "tcp b->a after");
  expect_empty(t[1], "tcp a->b");
  expect_empty(t[0], "tcp b->a");
  recv_stream(f[0], 3, cn + kExtra, "tcp child->parent");
  expect_empty(f[0], "tcp child->parent");
  send_stream_from(f[0], 4, pn, kExtra);
  expect_child_ok(child);
  e2e_say("PASS");
  return 0;
}
