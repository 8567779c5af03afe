// PAGEMAP_SCAN over our own address space: see page_scan.h.
#include "runtime/page_scan.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>

#include "common/pagemap_scan_abi.h"

namespace dmtcp::page_scan {
namespace {

// Ranges per ioctl; a scan with more loops from where the kernel stopped.
constexpr size_t kVecLen = 8192;
page_region* g_vec = nullptr;
bool g_unsupported = false;

}  // namespace

bool prepare() {
  if (g_vec != nullptr) {
    return true;
  }
  void* p = mmap(nullptr, kVecLen * sizeof(page_region), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return false;
  }
  g_vec = static_cast<page_region*>(p);
  return true;
}

int scan(int pagemap_fd, uint64_t start, uint64_t end, uint64_t flags,
         uint64_t category_mask, uint64_t anyof_mask, uint64_t return_mask,
         void (*f)(void*, uint64_t, uint64_t, uint64_t), void* arg) {
  if (g_vec == nullptr || g_unsupported || pagemap_fd < 0) {
    return g_unsupported ? -ENOTTY : -ENOMEM;
  }
  pm_scan_arg a{};
  a.size = sizeof a;
  a.flags = flags;
  a.vec = reinterpret_cast<uint64_t>(g_vec);
  a.vec_len = kVecLen;
  a.category_mask = category_mask;
  a.category_anyof_mask = anyof_mask;
  a.return_mask = return_mask;
  for (uint64_t from = start; from < end;) {
    a.start = from;
    a.end = end;
    a.walk_end = 0;
    long n = ioctl(pagemap_fd, PAGEMAP_SCAN, &a);
    if (n < 0) {
      int e = errno;
      if (e == ENOTTY) {
        g_unsupported = true;  // a kernel before 6.7: no such ioctl
      }
      return -e;
    }
    for (long i = 0; i < n; ++i) {
      f(arg, g_vec[i].start, g_vec[i].end, g_vec[i].categories);
    }
    if (a.walk_end <= from) {
      return -EIO;  // no progress: never loop forever on a kernel bug
    }
    from = a.walk_end;
  }
  return 0;
}

bool unsupported() {
  return g_unsupported;
}

void scratch(void** p, size_t* len) {
  *p = g_vec;
  *len = g_vec != nullptr ? kVecLen * sizeof(page_region) : 0;
}

void forget_after_restart() {
  g_vec = nullptr;  // image_dump unmaps it with the other scratch
}

}  // namespace dmtcp::page_scan
