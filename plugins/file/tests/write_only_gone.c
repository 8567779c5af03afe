/* A file the program only writes (O_WRONLY, as a log) is gone at restart:
 * renamed or removed meanwhile (logrotate; upstream DMTCP's file3).  The
 * restart makes it again, empty, with its permission bits (0640; never
 * set-id bits) and the program writes on at its offset: the bytes before
 * it read as zeros.  A file the program reads is still refused
 * (file.missing_file).  Before the fix the restart stopped ("no longer
 * exists"). */
#include <sys/stat.h>

#include "file_test.h"

static const char kBefore[] = "before the checkpoint\n";
static const char kAfter[] = "after the restart\n";

int main(int argc, char** argv) {
  /* "gone": the harness removes the file before the (last) restart. */
  int gone = argc > 1 && strcmp(argv[1], "gone") == 0;
  char path[4096];
  test_path(path, sizeof path, "log");
  unlink(path);
  umask(022);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
  E2E_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
  write_exact(fd, kBefore, sizeof kBefore - 1);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  write_exact(fd, kAfter, sizeof kAfter - 1);
  struct stat via_fd, via_path;
  E2E_CHECK(fstat(fd, &via_fd) == 0 && stat(path, &via_path) == 0,
            "stat %s: %s", path, strerror(errno));
  E2E_CHECK(
      via_fd.st_ino == via_path.st_ino && via_fd.st_dev == via_path.st_dev,
      "the fd is not the file at %s", path);
  E2E_CHECK((via_fd.st_mode & 07777) == 0640, "mode %o, want 640",
            (unsigned)(via_fd.st_mode & 07777));
  size_t want = sizeof kBefore - 1 + sizeof kAfter - 1;
  E2E_CHECK(via_fd.st_size == (off_t)want, "size %lld, want %zu",
            (long long)via_fd.st_size, want);
  /* What is there: the old bytes, or zeros when it was made again; then
   * ours at the offset we had. */
  char buf[sizeof kBefore + sizeof kAfter];
  int rd = open(path, O_RDONLY);
  E2E_CHECK(rd >= 0 && read(rd, buf, want) == (ssize_t)want, "read back");
  size_t n = sizeof kBefore - 1;
  int zeros = 1; /* a hole where the file was made again */
  for (size_t i = 0; i < n; ++i) {
    zeros = zeros && buf[i] == 0;
  }
  E2E_CHECK(gone ? zeros : memcmp(buf, kBefore, n) == 0,
            "the first %zu bytes: want %s", n, gone ? "zeros" : "ours");
  E2E_CHECK(memcmp(buf + n, kAfter, sizeof kAfter - 1) == 0,
            "not our bytes at the offset");
  e2e_say("PASS");
  return 0;
}
