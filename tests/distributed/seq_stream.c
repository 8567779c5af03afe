/* seq_stream: one TCP connection between two hosts carrying checked
 * sequence numbers both ways (tests/distributed/dist_test.py).
 *
 *   seq_stream server PORT        listen on every address, serve one client
 *   seq_stream client ADDR PORT   connect, exchange until the go file, then
 *                                 1000 more, then stop
 *
 * The client sends 8-byte numbers 0, 1, 2... keeping up to 64 ahead of the
 * answers, so bytes are in flight both ways at any moment; the server
 * checks each is the next one and answers reply(n); the client checks
 * every answer.  Loss, duplication or reordering anywhere (checkpoint,
 * restart on other hosts) fails with the number where it happened.  Each
 * side prints READY once the stream runs, and at the end its host name
 * (which the test compares with where it restarted) and PASS.
 *
 * The client forks a child that shares its connection and only waits for
 * the file $DMTCP_TEST_GO.stop; at the end the child, not the client, sends the
 * stop mark through its fd: the server sees it in sequence only if after the
 * restart the child's fd is still the client's connection (one description
 * shared by two processes, on a host other than the server's). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "e2e.h"

#define AHEAD 64
#define STOP UINT64_MAX

static uint64_t reply(uint64_t n) {
  return (n * 0x9e3779b97f4a7c15ull) ^ 0x5bd1e9955bd1e995ull;
}

static void full(int fd, void* buf, size_t n, int out) {
  char* p = buf;
  while (n > 0) {
    ssize_t r = out ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
    E2E_CHECK(r > 0, "%s: %s", out ? "send" : "recv",
              r == 0 ? "connection closed" : "error");
    p += r;
    n -= (size_t)r;
  }
}

static void print_host(const char* role, uint64_t count) {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  printf("%s on %s: %llu numbers checked\n", role, host,
         (unsigned long long)count);
  printf("PASS %s\n", role);
  fflush(stdout);
}

static int server(int port) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  E2E_CHECK(bind(l, (struct sockaddr*)&a, sizeof a) == 0 && listen(l, 1) == 0,
            "cannot listen on port %d", port);
  e2e_say("LISTENING");
  int c = accept(l, NULL, NULL);
  E2E_CHECK(c >= 0, "accept");
  uint64_t expect = 0;
  for (;;) {
    uint64_t n;
    full(c, &n, sizeof n, 0);
    if (n == STOP) {
      break;
    }
    E2E_CHECK(n == expect, "server: got %llu, expected %llu",
              (unsigned long long)n, (unsigned long long)expect);
    if (expect == 200) {
      e2e_say("READY");
    }
    uint64_t r = reply(n);
    full(c, &r, sizeof r, 1);
    ++expect;
  }
  print_host("server", expect);
  return 0;
}

static int client(const char* addr, int port) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  E2E_CHECK(inet_pton(AF_INET, addr, &a.sin_addr) == 1, "bad address %s", addr);
  int tries = 0;
  while (connect(c, (struct sockaddr*)&a, sizeof a) != 0) {
    E2E_CHECK(++tries < 500, "cannot connect to %s:%d", addr, port);
    close(c);
    c = socket(AF_INET, SOCK_STREAM, 0);
    usleep(10000);
  }
  /* The child waits for a file, not a pipe: the test also runs in a
   * build with only the pid and socket plugins. */
  const char* go = getenv("DMTCP_TEST_GO");
  E2E_CHECK(go != NULL, "DMTCP_TEST_GO is not set");
  char stop_path[4096];
  snprintf(stop_path, sizeof stop_path, "%s.stop", go);
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    struct stat st;
    while (stat(stop_path, &st) != 0) {
      usleep(10000);
    }
    uint64_t stop = STOP;
    full(c, &stop, sizeof stop, 1);
    _exit(0);
  }
  uint64_t sent = 0, got = 0, end = STOP;
  for (;;) {
    if (end == STOP && e2e_go_seen()) {
      end = sent + 1000;
    }
    while (sent < end && sent - got < AHEAD) {
      full(c, &sent, sizeof sent, 1);
      ++sent;
    }
    if (got == end) {
      break;
    }
    uint64_t r;
    full(c, &r, sizeof r, 0);
    E2E_CHECK(r == reply(got), "client: answer to %llu is wrong",
              (unsigned long long)got);
    ++got;
    if (got == 200) {
      e2e_say("READY");
    }
    if (end == STOP && got % AHEAD == 0) {
      usleep(2000); /* a steady stream, not a busy loop */
    }
  }
  /* The child sends the stop mark through the fd it shares. */
  FILE* f = fopen(stop_path, "w");
  E2E_CHECK(f != NULL && fclose(f) == 0, "cannot create %s", stop_path);
  int st = 0;
  E2E_CHECK(
      waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
      "the child sharing the connection failed (status %d)", st);
  print_host("client", got);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && strcmp(argv[1], "server") == 0) {
    return server(atoi(argv[2]));
  }
  if (argc == 4 && strcmp(argv[1], "client") == 0) {
    return client(argv[2], atoi(argv[3]));
  }
  fprintf(stderr, "usage: seq_stream server PORT | client ADDR PORT\n");
  return 2;
}
