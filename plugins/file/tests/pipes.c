/* A parent and child talk over two pipes with bytes in flight at the
 * checkpoint: numbered words, each read exactly once and in order after
 * restart, then end-of-file when the writer closes.  One pipe has a custom
 * capacity and a non-blocking read end, which must survive too. */
#include <sys/wait.h>

#include "file_test.h"

#define BEFORE 8000 /* words written before READY (32 KB, fits the pipe) */
#define READ_BEFORE 3000
#define AFTER 1000 /* words written after go */

static void expect_words(int fd, uint32_t from, uint32_t to, const char* who) {
  for (uint32_t want = from; want < to; ++want) {
    uint32_t got;
    read_exact(fd, &got, sizeof got);
    E2E_CHECK(got == want, "%s: word %u where %u was due", who, got, want);
  }
}

static void write_words(int fd, uint32_t from, uint32_t to) {
  for (uint32_t w = from; w < to; ++w) {
    write_exact(fd, &w, sizeof w);
  }
}

static void expect_eof(int fd, const char* who) {
  char c;
  ssize_t n = read(fd, &c, 1);
  E2E_CHECK(n == 0, "%s: read %zd after the last word, wanted end-of-file", who,
            n);
}

int main(void) {
  int p2c[2], c2p[2];
  E2E_CHECK(pipe(p2c) == 0 && pipe(c2p) == 0, "pipe: %s", strerror(errno));
  E2E_CHECK(fcntl(c2p[1], F_SETPIPE_SZ, 256 * 1024) >= 256 * 1024,
            "F_SETPIPE_SZ: %s", strerror(errno));
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    close(p2c[1]);
    close(c2p[0]);
    write_words(c2p[1], 0, BEFORE);
    expect_words(p2c[0], 0, READ_BEFORE, "child");
    e2e_wait_for_go(NULL);
    E2E_CHECK(fcntl(c2p[1], F_GETPIPE_SZ) >= 256 * 1024,
              "pipe capacity %d after restart", fcntl(c2p[1], F_GETPIPE_SZ));
    expect_words(p2c[0], READ_BEFORE, BEFORE + AFTER, "child");
    expect_eof(p2c[0], "child");
    write_words(c2p[1], BEFORE, BEFORE + AFTER);
    _exit(0);
  }
  close(p2c[0]);
  close(c2p[1]);
  write_words(p2c[1], 0, BEFORE);
  expect_words(c2p[0], 0, READ_BEFORE, "parent");
  fcntl(c2p[0], F_SETFL, fcntl(c2p[0], F_GETFL) | O_NONBLOCK);
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  E2E_CHECK(fcntl(c2p[0], F_GETFL) & O_NONBLOCK, "read end lost O_NONBLOCK");
  fcntl(c2p[0], F_SETFL, fcntl(c2p[0], F_GETFL) & ~O_NONBLOCK);
  write_words(p2c[1], BEFORE, BEFORE + AFTER);
  close(p2c[1]);
  expect_words(c2p[0], READ_BEFORE, BEFORE + AFTER, "parent");
  expect_eof(c2p[0], "parent");
  expect_child_ok(child);
  e2e_say("PASS");
  return 0;
}
