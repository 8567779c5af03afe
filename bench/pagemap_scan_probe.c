/* Probe for docs/incremental.md: does userfaultfd write-protect (async,
 * UFFD_USER_MODE_ONLY, so no privilege) with PAGEMAP_SCAN's PAGE_IS_WRITTEN
 * work on this kernel, and what does it cost for 1 GiB?  Protects 1 GiB,
 * writes one page in 100, scans; then drops 10 pages with MADV_DONTNEED and
 * scans again: do pages that changed to zero show as written?
 * Debian 12's kernel headers predate both (Linux 6.7): the ABI is spelled
 * out in core/common/pagemap_scan_abi.h.  The checkpointer now tracks writes
 * this way (core/runtime/write_tracker.cpp, docs/incremental.md); this probe
 * stays to measure the kernel's own cost apart from ours. */
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../core/common/pagemap_scan_abi.h"
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int uffd =
      syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  if (uffd < 0) {
    perror("userfaultfd");
    return 1;
  }
  struct uffdio_api api = {.api = UFFD_API,
                           .features = UFFD_FEATURE_WP_ASYNC |
                                       UFFD_FEATURE_WP_UNPOPULATED |
                                       UFFD_FEATURE_WP_HUGETLBFS_SHMEM};
  if (ioctl(uffd, UFFDIO_API, &api)) {
    perror("UFFDIO_API");
    return 1;
  }
  size_t len = 1ul << 30;
  char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  memset(p, 1, len);
  struct uffdio_register reg = {.range = {(unsigned long)p, len},
                                .mode = UFFDIO_REGISTER_MODE_WP};
  if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
    perror("UFFDIO_REGISTER");
    return 1;
  }
  int pm = open("/proc/self/pagemap", O_RDONLY);
  static struct page_region regs[1 << 16];
  struct pm_scan_arg arg = {
      .size = sizeof arg,
      .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
      .start = (unsigned long)p,
      .end = (unsigned long)p + len,
      .vec = (unsigned long)regs,
      .vec_len = 1 << 16,
      .category_mask = PAGE_IS_WRITTEN,
      .return_mask = PAGE_IS_WRITTEN};
  double t = now();
  long n = ioctl(pm, PAGEMAP_SCAN, &arg);
  printf("first scan (protect all): %ld regions, %.3f s\n", n, now() - t);
  for (int i = 0; i < 2621; ++i)
    p[(size_t)i * 100 * 4096] = 7;
  arg.walk_end = 0;
  t = now();
  n = ioctl(pm, PAGEMAP_SCAN, &arg);
  size_t pages = 0;
  for (long i = 0; i < n; ++i)
    pages += (regs[i].end - regs[i].start) / 4096;
  printf("after writing 2621 pages: %ld regions, %zu pages written, %.4f s\n",
         n, pages, now() - t);
  /* Pages 1..10 were not written since the last scan; drop them (they
   * read as zero now), read one (the zero page may be mapped there) and
   * see whether the scan calls them written. */
  madvise(p + 4096, 4096 * 10, MADV_DONTNEED);
  volatile char sink = p[4096 * 2];
  (void)sink;
  arg.walk_end = 0;
  n = ioctl(pm, PAGEMAP_SCAN, &arg);
  pages = 0;
  for (long i = 0; i < n; ++i) {
    pages += (regs[i].end - regs[i].start) / 4096;
  }
  printf(
      "after MADV_DONTNEED of 10 unwritten pages and a read of one: "
      "%zu pages written (%s)\n",
      pages,
      pages >= 10 ? "the zapped pages show"
                  : "zapped pages changed without showing as written");
  return 0;
}
