/* Full buffers: a TCP connection (one process) and a UNIX stream
 * connection (parent and child) written until the writer would block, so
 * the receiver's window is shut and bytes also wait in the sender's
 * queue.  After the go every byte arrives once, in order. */
#include <stdio.h>
#include <stdlib.h>

#include "socket_test.h"

int main(void) {
  int t[2], u[2], sync[2];
  tcp_pair(AF_INET, t);
  size_t tn = fill_up(t[0], 1);
  size_t tb = fill_up(t[1], 2);
  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, u) == 0, "socketpair");
  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sync) == 0, "socketpair");
  pid_t child = fork();
  if (child == 0) {
    size_t un = fill_up(u[1], 3);
    E2E_CHECK(write(sync[1], &un, sizeof un) == sizeof un, "sync");
    e2e_wait_for_go(NULL);
    exit(0);
  }
  size_t un;
  E2E_CHECK(read(sync[0], &un, sizeof un) == sizeof un, "sync");
  printf("in flight: tcp %zu + %zu, unix %zu bytes\n", tn, tb, un);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  recv_stream(t[1], 1, tn, "tcp a->b");
  recv_stream(t[0], 2, tb, "tcp b->a");
  recv_stream(u[0], 3, un, "unix child->parent");
  expect_empty(t[1], "tcp a->b");
  expect_empty(t[0], "tcp b->a");
  expect_child_ok(child);
  e2e_say("PASS");
  return 0;
}
