/* One open file description shared by a parent and its child (inherited
 * over fork, and dup'ed to another number in the child): after restart it
 * is still one description -- a write by either moves both offsets.
 * With "many": 900 more shared descriptions, each at its own offset (more
 * than half of RLIMIT_NOFILE, and far more than fit in one socket buffer
 * answer by answer). */
#include <sys/wait.h>

#include "file_test.h"

#define MANY 900
static int g_many[MANY];

static void check_many(const char* who) {
  for (int i = 0; i < MANY; ++i) {
    E2E_CHECK(offset_of(g_many[i]) == i, "%s: fd %d at offset %ld, not %d", who,
              g_many[i], (long)offset_of(g_many[i]), i);
  }
}

int main(int argc, char** argv) {
  int many = argc > 1 && strcmp(argv[1], "many") == 0;
  char path[4096];
  test_path(path, sizeof path, "shared");
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  E2E_CHECK(fd >= 0, "open: %s", strerror(errno));
  write_exact(fd, "0123456789", 10);
  for (int i = 0; many && i < MANY; ++i) {
    g_many[i] = open(path, O_RDONLY);
    E2E_CHECK(g_many[i] >= 0, "open %d: %s", i, strerror(errno));
    lseek(g_many[i], i, SEEK_SET);
  }
  int to_child[2], to_parent[2];
  E2E_CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0, "pipe");
  pid_t pid = fork();
  E2E_CHECK(pid >= 0, "fork");
  if (pid == 0) {
    int alias = dup2(fd, 17);
    close(fd);
    char c;
    e2e_wait_for_go(NULL);
    read_exact(to_child[0], &c, 1); /* the parent has written */
    E2E_CHECK(offset_of(alias) == 15, "child: offset %ld, wanted 15",
              (long)offset_of(alias));
    write_exact(alias, "CHILD", 5);
    write_exact(to_parent[1], "k", 1);
    _exit(0);
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  if (many) {
    check_many("parent");
  }
  E2E_CHECK(offset_of(fd) == 10, "parent: offset %ld", (long)offset_of(fd));
  write_exact(fd, "PAREN", 5);
  write_exact(to_child[1], "k", 1);
  char c;
  read_exact(to_parent[0], &c, 1);
  E2E_CHECK(offset_of(fd) == 20, "parent: offset %ld after the child wrote",
            (long)offset_of(fd));
  char text[32] = {0};
  E2E_CHECK(pread(fd, text, 20, 0) == 20, "pread");
  E2E_CHECK(strcmp(text, "0123456789PARENCHILD") == 0, "file holds '%s'", text);
  expect_child_ok(pid);
  e2e_say("PASS");
  return 0;
}
