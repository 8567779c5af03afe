/* An open file deleted before the checkpoint, and a memfd: both come back
 * with every byte, their offsets and their access modes. */
#include <sys/mman.h>
#include <sys/stat.h>

#include "file_test.h"

#define LEN (200 * 1024)

int main(void) {
  static unsigned char pattern[LEN], back[LEN];
  fill_pattern(pattern, LEN, 3);
  char path[4096];
  test_path(path, sizeof path, "doomed");
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  E2E_CHECK(fd >= 0, "open: %s", strerror(errno));
  write_exact(fd, pattern, LEN);
  E2E_CHECK(unlink(path) == 0, "unlink");
  lseek(fd, 1234, SEEK_SET);
  int mfd = memfd_create("e2e-memfd", 0);
  E2E_CHECK(mfd >= 0, "memfd_create: %s", strerror(errno));
  write_exact(mfd, pattern + 100, 5000);

  e2e_say("READY");
  e2e_wait_for_go(NULL);

  struct stat st;
  E2E_CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == LEN,
            "deleted file: nlink %lu size %ld", (unsigned long)st.st_nlink,
            (long)st.st_size);
  E2E_CHECK(offset_of(fd) == 1234, "offset %ld", (long)offset_of(fd));
  E2E_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "access mode");
  lseek(fd, 0, SEEK_SET);
  read_exact(fd, back, LEN);
  E2E_CHECK(memcmp(back, pattern, LEN) == 0, "deleted file bytes differ");
  write_exact(fd, "more", 4);
  E2E_CHECK(offset_of(mfd) == 5000, "memfd offset %ld", (long)offset_of(mfd));
  E2E_CHECK(pread(mfd, back, 5000, 0) == 5000 &&
                memcmp(back, pattern + 100, 5000) == 0,
            "memfd bytes differ");
  char link[256] = {0};
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", mfd);
  readlink(proc, link, sizeof link - 1);
  E2E_CHECK(strncmp(link, "/memfd:e2e-memfd", 16) == 0, "memfd is %s", link);
  e2e_say("PASS");
  return 0;
}
