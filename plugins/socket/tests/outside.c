/* A TCP connection to a peer outside the computation (a server the test
 * driver runs itself, not launched).  The server greets each connection
 * with 1000 bytes, echoes what it gets, and sends 500 more bytes when asked;
 * those are in flight at the checkpoint.
 *   resume (or no checkpoint): the 500 bytes, then the echo still works;
 *   restart: the 500 bytes, then end of file; a write fails with EPIPE
 *     (never EBADF, never a hang);
 *   restart with DMTCP_SOCKET_RECONNECT=1 ("reconnect" argument): a new
 *     connection to the same address: a new greeting, the echo works. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "socket_test.h"

int main(int argc, char** argv) {
  int reconnect = argc > 1 && strcmp(argv[1], "reconnect") == 0;
  const char* port = getenv("OUTSIDE_PORT");
  E2E_CHECK(port != NULL, "OUTSIDE_PORT is not set");
  signal(SIGPIPE, SIG_IGN);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)atoi(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  E2E_CHECK(connect(fd, (struct sockaddr*)&a, sizeof a) == 0, "connect: %s",
            strerror(errno));
  recv_stream(fd, 1, 1000, "greeting");
  send_stream(fd, 2, 100);
  recv_stream(fd, 2, 100, "echo");
  write_all(fd, "P", 1); /* asks for the 500 bytes */
  /* Wait until they are here, unread. */
  for (int i = 0; i < 2000; ++i) {
    char buf[600];
    if (recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT) == 500) {
      break;
    }
    usleep(1000);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  const char* mode = getenv("DMTCP_TEST_MODE");
  int restarted = mode != NULL && strncmp(mode, "restart", 7) == 0;
  if (restarted && reconnect) {
    recv_stream(fd, 1, 1000, "greeting on the new connection");
  } else {
    recv_stream(fd, 3, 500, "bytes in flight from outside");
  }
  if (restarted && !reconnect) {
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    E2E_CHECK(n == 0, "after restart: no end of file (%zd, %s)", n,
              strerror(errno));
    n = send(fd, "x", 1, 0);
    E2E_CHECK(n < 0 && errno == EPIPE, "after restart: write gave %zd (%s)", n,
              strerror(errno));
  } else {
    send_stream(fd, 4, 300);
    recv_stream(fd, 4, 300, "echo after the go");
  }
  close(fd);
  e2e_say("PASS");
  return 0;
}
