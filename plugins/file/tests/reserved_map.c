/* A private file mapping with no access (PROT_NONE, never touched), as a
 * library's gap between its segments ("---p" on its file): restart
 * reserves the range again (nothing is read from the file), and the
 * program can still change its protection and use it. */
#include <sys/mman.h>

#include "file_test.h"

#define LEN (64 * 1024)

int main(void) {
  static unsigned char pattern[LEN];
  fill_pattern(pattern, LEN, 5);
  char path[4096];
  test_path(path, sizeof path, "reserved");
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  E2E_CHECK(fd >= 0, "open: %s", strerror(errno));
  write_exact(fd, pattern, LEN);
  unsigned char* gap = mmap(NULL, LEN, PROT_NONE, MAP_PRIVATE, fd, 0);
  E2E_CHECK(gap != MAP_FAILED, "mmap: %s", strerror(errno));
  close(fd);

  e2e_say("READY");
  e2e_wait_for_go(NULL);

  E2E_CHECK(mprotect(gap, LEN, PROT_READ | PROT_WRITE) == 0,
            "the reserved range is gone: %s", strerror(errno));
  gap[100] = 42;
  E2E_CHECK(gap[100] == 42, "cannot use the range");
  unlink(path);
  e2e_say("PASS");
  return 0;
}
