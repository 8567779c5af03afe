// bad_path: calls that take a path, given NULL and a kernel address, fail
// with EFAULT as they do without us (the pid plugin's /proc path
// translation must not read them).  Prints PASS or what went wrong.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  const char* bad[] = {NULL, (const char*)0xffffffffff000000ull};
  int failures = 0;
  for (int i = 0; i < 2; ++i) {
    struct stat st;
    errno = 0;
    if (stat(bad[i], &st) != -1 || errno != EFAULT) {
      printf("stat(%p): errno %d\n", (const void*)bad[i], errno);
      ++failures;
    }
    errno = 0;
    if (lstat(bad[i], &st) != -1 || errno != EFAULT) {
      printf("lstat(%p): errno %d\n", (const void*)bad[i], errno);
      ++failures;
    }
    errno = 0;
    if (access(bad[i], R_OK) != -1 || errno != EFAULT) {
      printf("access(%p): errno %d\n", (const void*)bad[i], errno);
      ++failures;
    }
    errno = 0;
    if (open(bad[i], O_RDONLY) != -1 || errno != EFAULT) {
      printf("open(%p): errno %d\n", (const void*)bad[i], errno);
      ++failures;
    }
  }
  struct stat st;
  if (stat("/proc/self/status", &st) != 0) {
    printf("stat(/proc/self/status) failed\n");
    ++failures;
  }
  printf(failures == 0 ? "PASS\n" : "FAIL\n");
  return failures == 0 ? 0 : 1;
}
