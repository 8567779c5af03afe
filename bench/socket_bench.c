/* send/recv cost on a TCP loopback connection: 64-byte ping-pong between
 * two ends in one process (send on one, recv on the other, and back).
 * Prints ns per send+recv pair ("read" as 2nd argument: write+read;
 * "ebadf": ns per recv/read call on fd -1, no connection).
 * bench/socket_bench.py runs it natively and under dmtcp_launch (the
 * socket plugin's recv and read wrappers test one counter, then call
 * libc's). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(l, (struct sockaddr *)&a, len) != 0 || listen(l, 1) != 0 ||
      getsockname(l, (struct sockaddr *)&a, &len) != 0) {
    perror("listen");
    return 1;
  }
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr *)&a, len) != 0) {
    perror("connect");
    return 1;
  }
  int s = accept(l, NULL, NULL);
  int one = 1;
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int use_read = argc > 2 && strcmp(argv[2], "read") == 0;
  if (argc > 2 && strcmp(argv[2], "ebadf") == 0) {
    /* The cheapest calls that reach the kernel: the wrappers' own cost
     * shows against ~100 ns instead of a loopback round trip. */
    char b[64];
    double best_e = 1e18;
    for (int round = 0; round < 5; ++round) {
      double t = now();
      for (long i = 0; i < n; ++i) {
        if (recv(-1, b, sizeof b, 0) != -1 || read(-1, b, sizeof b) != -1) {
          return 1;
        }
      }
      double per = (now() - t) / (double)n / 2;
      best_e = per < best_e ? per : best_e;
    }
    printf("%.1f\n", best_e);
    return 0;
  }
  char buf[64] = {0};
  double best = 1e18;
  for (int round = 0; round < 5; ++round) {
    double t = now();
    for (long i = 0; use_read && i < n; ++i) {
      if (write(c, buf, sizeof buf) != sizeof buf ||
          read(s, buf, sizeof buf) != sizeof buf ||
          write(s, buf, sizeof buf) != sizeof buf ||
          read(c, buf, sizeof buf) != sizeof buf) {
        perror("ping-pong");
        return 1;
      }
    }
    for (long i = 0; !use_read && i < n; ++i) {
      if (send(c, buf, sizeof buf, 0) != sizeof buf ||
          recv(s, buf, sizeof buf, MSG_WAITALL) != sizeof buf ||
          send(s, buf, sizeof buf, 0) != sizeof buf ||
          recv(c, buf, sizeof buf, MSG_WAITALL) != sizeof buf) {
        perror("ping-pong");
        return 1;
      }
    }
    double per = (now() - t) / (double)n / 2;
    best = per < best ? per : best;
  }
  printf("%.1f\n", best);
  return 0;
}
