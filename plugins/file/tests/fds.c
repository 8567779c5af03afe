/* Files through several fds: every byte read back after restart through a
 * second description, dup()s sharing one offset, F_DUPFD at a chosen
 * number, O_APPEND and FD_CLOEXEC kept, /dev/null, a directory, and a
 * FILE* whose unflushed line is neither lost nor doubled. */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "file_test.h"

#define DATA_LEN (100 * 1024)

int main(void) {
  static unsigned char pattern[DATA_LEN], back[DATA_LEN];
  char data_path[4096], log_path[4096], stdio_path[4096];
  test_path(data_path, sizeof data_path, "data");
  test_path(log_path, sizeof log_path, "log");
  test_path(stdio_path, sizeof stdio_path, "stdio");
  fill_pattern(pattern, DATA_LEN, 7);

  int a = open(data_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  E2E_CHECK(a >= 0, "open %s: %s", data_path, strerror(errno));
  write_exact(a, pattern, DATA_LEN);
  int b = open(data_path, O_RDONLY);
  read_exact(b, back, 30000);
  int c = dup(a);
  E2E_CHECK(lseek(a, 5000, SEEK_SET) == 5000, "lseek");
  int d = fcntl(b, F_DUPFD, 50);
  E2E_CHECK(d == 50, "F_DUPFD gave %d", d);
  int e = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  write_exact(e, "before\n", 7);
  int f = open("/dev/null", O_WRONLY);
  int g = open(test_dir(), O_RDONLY | O_DIRECTORY);
  int h = open(data_path, O_RDONLY | O_NONBLOCK);
  FILE* fp = fopen(stdio_path, "w");
  E2E_CHECK(fp != NULL, "fopen");
  fprintf(fp, "unflushed line\n");

  e2e_say("READY");
  e2e_wait_for_go(NULL);

  /* The same path (its inode may be new: restored from a copy). */
  char link[4096] = {0}, proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", a);
  E2E_CHECK(
      readlink(proc, link, sizeof link - 1) > 0 && strcmp(link, data_path) == 0,
      "fd %d is %s, not the data file", a, link);
  struct stat st;
  E2E_CHECK(offset_of(a) == 5000 && offset_of(c) == 5000,
            "offsets of a and its dup: %ld %ld", (long)offset_of(a),
            (long)offset_of(c));
  lseek(c, 777, SEEK_SET);
  E2E_CHECK(offset_of(a) == 777, "a dup no longer shares the offset");
  E2E_CHECK(offset_of(b) == 30000 && offset_of(d) == 30000,
            "offsets of b and its F_DUPFD: %ld %ld", (long)offset_of(b),
            (long)offset_of(d));
  read_exact(d, back + 30000, DATA_LEN - 30000);
  E2E_CHECK(memcmp(back, pattern, DATA_LEN) == 0, "data differs");
  E2E_CHECK(offset_of(b) == DATA_LEN, "b's offset did not follow d's");
  E2E_CHECK((fcntl(e, F_GETFL) & O_APPEND) && (fcntl(e, F_GETFD) & FD_CLOEXEC),
            "log fd lost O_APPEND or FD_CLOEXEC (%x %x)", fcntl(e, F_GETFL),
            fcntl(e, F_GETFD));
  E2E_CHECK(!(fcntl(a, F_GETFD) & FD_CLOEXEC), "data fd gained FD_CLOEXEC");
  write_exact(e, "after\n", 6);
  char log[64] = {0};
  int lr = open(log_path, O_RDONLY);
  read(lr, log, sizeof log - 1);
  close(lr);
  E2E_CHECK(strcmp(log, "before\nafter\n") == 0, "log is '%s'", log);
  E2E_CHECK(fstat(f, &st) == 0 && S_ISCHR(st.st_mode) &&
                major(st.st_rdev) == 1 && minor(st.st_rdev) == 3 &&
                (fcntl(f, F_GETFL) & O_ACCMODE) == O_WRONLY,
            "fd %d is not /dev/null for writing", f);
  E2E_CHECK(fstat(g, &st) == 0 && S_ISDIR(st.st_mode), "fd %d: no dir", g);
  E2E_CHECK(fcntl(h, F_GETFL) & O_NONBLOCK, "fd %d lost O_NONBLOCK", h);
  E2E_CHECK(fcntl(49, F_GETFD) < 0 && errno == EBADF,
            "fd 49 is open after restart");
  fclose(fp);
  char text[64] = {0};
  int sr = open(stdio_path, O_RDONLY);
  read(sr, text, sizeof text - 1);
  close(sr);
  E2E_CHECK(strcmp(text, "unflushed line\n") == 0, "stdio file is '%s'", text);
  e2e_say("PASS");
  return 0;
}
