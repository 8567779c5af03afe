/* An open file deleted before the checkpoint, and a memfd: both come back
 * with every byte, their offsets and their access modes.  A second deleted
 * file was opened with O_NOFOLLOW (as Open MPI opens its /dev/shm files):
 * F_GETFL reports the flag, and it must not stop the restart.  Both are also
 * mapped shared: after restart the fd and the mapping are still one object
 * (a write through either shows through the other). */
#include <stdio.h>
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
  char path2[4096];
  test_path(path2, sizeof path2, "doomed-nofollow");
  int wfd = open(path2, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  E2E_CHECK(wfd >= 0, "open: %s", strerror(errno));
  write_exact(wfd, pattern + 7, 3000);
  close(wfd);
  int nfd = open(path2, O_RDONLY | O_NOFOLLOW);
  E2E_CHECK(nfd >= 0 && unlink(path2) == 0, "open O_NOFOLLOW: %s",
            strerror(errno));
  int mfd = memfd_create("e2e-memfd", 0);
  E2E_CHECK(mfd >= 0, "memfd_create: %s", strerror(errno));
  write_exact(mfd, pattern + 100, 5000);
  /* tmpfile(): an O_TMPFILE file (F_GETFL keeps O_TMPFILE). */
  FILE* tf = tmpfile();
  E2E_CHECK(tf != NULL, "tmpfile: %s", strerror(errno));
  fputs("kept in a tmpfile\n", tf);
  fflush(tf);
  unsigned char* fmap =
      mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  unsigned char* mmapped =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
  E2E_CHECK(fmap != MAP_FAILED && mmapped != MAP_FAILED, "mmap: %s",
            strerror(errno));

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
  E2E_CHECK(
      pread(nfd, back, 3000, 0) == 3000 && memcmp(back, pattern + 7, 3000) == 0,
      "O_NOFOLLOW deleted file bytes differ");
  E2E_CHECK(offset_of(mfd) == 5000, "memfd offset %ld", (long)offset_of(mfd));
  E2E_CHECK(pread(mfd, back, 5000, 0) == 5000 &&
                memcmp(back, pattern + 100, 5000) == 0,
            "memfd bytes differ");
  char link[256] = {0};
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", mfd);
  readlink(proc, link, sizeof link - 1);
  E2E_CHECK(strncmp(link, "/memfd:e2e-memfd", 16) == 0, "memfd is %s", link);
  rewind(tf);
  char line[64] = {0};
  E2E_CHECK(fgets(line, sizeof line, tf) != NULL &&
                strcmp(line, "kept in a tmpfile\n") == 0,
            "tmpfile holds '%s'", line);
  for (int i = 0; i < 2; ++i) {
    int f = i == 0 ? fd : mfd;
    unsigned char* map = i == 0 ? fmap : mmapped;
    const char* what = i == 0 ? "deleted file" : "memfd";
    E2E_CHECK(pwrite(f, "through fd", 10, 64) == 10, "pwrite");
    E2E_CHECK(memcmp(map + 64, "through fd", 10) == 0,
              "%s: a write through the fd does not show in the mapping", what);
    memcpy(map + 128, "through map", 11);
    char got[11];
    E2E_CHECK(
        pread(f, got, 11, 128) == 11 && memcmp(got, "through map", 11) == 0,
        "%s: a write to the mapping does not show through the fd", what);
  }
  e2e_say("PASS");
  return 0;
}
