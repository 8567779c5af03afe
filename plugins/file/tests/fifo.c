/* A FIFO between a parent (reader) and child (writer) with bytes unread at
 * the checkpoint: they arrive once, in order, after restart. */
#include <sys/stat.h>
#include <sys/wait.h>

#include "file_test.h"

#define TOTAL 20000
#define READ_BEFORE 7000
#define WRITE_BEFORE 12000

int main(void) {
  static unsigned char pattern[TOTAL], got[TOTAL];
  fill_pattern(pattern, TOTAL, 11);
  char path[4096];
  test_path(path, sizeof path, "fifo");
  unlink(path);
  E2E_CHECK(mkfifo(path, 0600) == 0, "mkfifo: %s", strerror(errno));
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    int w = open(path, O_WRONLY);
    E2E_CHECK(w >= 0, "child: open: %s", strerror(errno));
    write_exact(w, pattern, WRITE_BEFORE);
    e2e_wait_for_go(NULL);
    write_exact(w, pattern + WRITE_BEFORE, TOTAL - WRITE_BEFORE);
    _exit(0);
  }
  int r = open(path, O_RDONLY);
  E2E_CHECK(r >= 0, "open: %s", strerror(errno));
  read_exact(r, got, READ_BEFORE);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  read_exact(r, got + READ_BEFORE, TOTAL - READ_BEFORE);
  E2E_CHECK(memcmp(got, pattern, TOTAL) == 0, "FIFO bytes differ");
  char c;
  E2E_CHECK(read(r, &c, 1) == 0, "no end-of-file after the writer left");
  expect_child_ok(child);
  e2e_say("PASS");
  return 0;
}
