// Write tracking with asynchronous userfaultfd write-protect: see
// write_tracker.h and docs/incremental.md.
//
// Algorithm of collect_and_rearm():
//  1. Open our userfaultfd once (UFFD_USER_MODE_ONLY: no privilege needed;
//     only write-protect faults are registered, and with WP_ASYNC the
//     kernel resolves them itself) and move it among our protected fds.
//  2. UFFDIO_REGISTER the mapping for write-protect.  Registering again
//     with the same userfaultfd is a no-op; EBUSY means another
//     userfaultfd (the program's, or lazy restart's) owns the mapping.
//  3. PAGEMAP_SCAN with PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC over the
//     populated pages (present or swapped) that are written: the kernel
//     reports them and protects them again in one walk.
#include "runtime/write_tracker.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/pagemap_scan_abi.h"
#include "runtime/page_scan.h"
#include "runtime/runtime.h"

namespace dmtcp::write_tracker {
namespace {

int g_uffd = -1;
bool g_unavailable = false;  // the kernel said no once: never ask again

int open_uffd() {
  if (g_uffd >= 0 || g_unavailable) {
    return g_uffd;
  }
  long fd =
      syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  if (fd < 0) {
    g_unavailable = true;
    return -1;
  }
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_WP_ASYNC;
  if (ioctl(static_cast<int>(fd), UFFDIO_API, &api) != 0 ||
      (api.features & UFFD_FEATURE_WP_ASYNC) == 0) {
    close(static_cast<int>(fd));
    g_unavailable = true;
    return -1;
  }
  int moved =
      fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, rt::kProtectedFdBase);
  if (moved >= 0) {
    close(static_cast<int>(fd));
    fd = moved;
  }
  g_uffd = static_cast<int>(fd);
  return g_uffd;
}

}  // namespace

int collect_and_rearm(int pagemap_fd, uint64_t start, uint64_t end,
                      void (*f)(void*, uint64_t, uint64_t), void* arg) {
  int uffd = open_uffd();
  if (uffd < 0) {
    return -ENOSYS;
  }
  uffdio_register reg{};
  reg.range.start = start;
  reg.range.len = end - start;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
    return -errno;
  }
  struct Adapter {
    void (*f)(void*, uint64_t, uint64_t);
    void* arg;
  } adapter{f, arg};
  return page_scan::scan(
      pagemap_fd, start, end, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
      PAGE_IS_WRITTEN, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, PAGE_IS_WRITTEN,
      [](void* a, uint64_t first, uint64_t last, uint64_t) {
        auto* ad = static_cast<Adapter*>(a);
        ad->f(ad->arg, first, last);
      },
      &adapter);
}

bool is_own_fd(int fd) {
  return fd >= 0 && fd == g_uffd;
}

void forget_after_fork() {
  if (g_uffd >= 0) {
    close(g_uffd);
  }
  g_uffd = -1;
}

void forget_after_restart() {
  g_uffd = -1;
}

}  // namespace dmtcp::write_tracker
