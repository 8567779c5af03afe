/* 1,000 TCP connections between a parent and its child, each with bytes in
 * flight both ways at the checkpoint (a keyed stream per connection).
 * After the go every connection delivers its bytes exactly once, then
 * carries a new exchange. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "socket_test.h"

#define N 1000

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : N;
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t)n + 64) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  E2E_CHECK(bind(lfd, (struct sockaddr*)&a, len) == 0 &&
                listen(lfd, 128) == 0 &&
                getsockname(lfd, (struct sockaddr*)&a, &len) == 0,
            "listen: %s", strerror(errno));
  int* fds = calloc((size_t)n, sizeof *fds);
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork: %s", strerror(errno));
  if (child == 0) {
    close(lfd);
    for (int i = 0; i < n; ++i) {
      fds[i] = socket(AF_INET, SOCK_STREAM, 0);
      E2E_CHECK(connect(fds[i], (struct sockaddr*)&a, len) == 0,
                "connect %d: %s", i, strerror(errno));
      uint32_t id = (uint32_t)i;
      write_all(fds[i], &id, sizeof id);
      send_stream(fds[i], 10000 + (unsigned)i, 1000);
    }
    e2e_wait_for_go(NULL);
    for (int i = 0; i < n; ++i) {
      recv_stream(fds[i], 20000 + (unsigned)i, 500, "parent->child");
      send_stream(fds[i], 30000 + (unsigned)i, 100);
    }
    for (int i = 0; i < n; ++i) {
      recv_stream(fds[i], 40000 + (unsigned)i, 100, "new, parent->child");
      expect_empty(fds[i], "parent->child");
    }
    exit(0);
  }
  /* Accepted in any order: the first 4 bytes say which connection. */
  for (int k = 0; k < n; ++k) {
    int fd = accept(lfd, NULL, NULL);
    E2E_CHECK(fd >= 0, "accept: %s", strerror(errno));
    uint32_t id;
    E2E_CHECK(recv(fd, &id, sizeof id, MSG_WAITALL) == sizeof id &&
                  id < (uint32_t)n && fds[id] == 0,
              "bad connection id");
    fds[id] = fd;
    send_stream(fd, 20000 + id, 500);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  for (int i = 0; i < n; ++i) {
    recv_stream(fds[i], 10000 + (unsigned)i, 1000, "child->parent");
  }
  for (int i = 0; i < n; ++i) {
    recv_stream(fds[i], 30000 + (unsigned)i, 100, "new, child->parent");
    send_stream(fds[i], 40000 + (unsigned)i, 100);
  }
  expect_child_ok(child);
  e2e_say("PASS");
  return 0;
}
