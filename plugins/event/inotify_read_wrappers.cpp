// inotify_read_wrappers.cpp -- read, readv, __read_chk and ioctl(FIONREAD)
// for inotify fds that have saved unread events (inotify_queue.h).
//
// Each is one test of g_serving on every call of the program: 0 (no
// inotify fd has saved events left, always outside the moments after a
// checkpoint that found some) goes straight to the next definition.
// Otherwise: saved events first, then the kernel's with the doorbell's
// event taken out.  Measured: bench/file_bench --read-medians
// (docs/benchmarks.md, "read() with the event plugin").
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdarg>

#include "dmtcp/plugin.h"
#include "inotify_queue.h"

using namespace dmtcp::event;

#define DMTCP_EVENT_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

inline bool serving() {
  return __builtin_expect(g_serving.load(std::memory_order_relaxed) != 0, 0);
}

// The slow path of read(): `next` reads the kernel.
template <class Next>
ssize_t read_serving(int fd, void* buf, size_t len, Next next) {
  for (;;) {
    ssize_t r = 0;
    Served s = queue_read(fd, buf, len, &r);
    if (s == Served::kDone) {
      return r;
    }
    r = next(buf, len);
    if (s == Served::kNo || r <= 0) {
      return r;
    }
    r = queue_filter(fd, buf, r);
    if (r > 0) {
      return r;
    }
  }
}

}  // namespace

DMTCP_EVENT_EXPORT ssize_t read(int fd, void* buf, size_t len) {
  if (!serving()) {
    return NEXT_FNC(read)(fd, buf, len);
  }
  return read_serving(fd, buf, len, [fd](void* b, size_t n) {
    return NEXT_FNC(read)(fd, b, n);
  });
}

// _FORTIFY_SOURCE programs call this for read().
DMTCP_EVENT_EXPORT ssize_t __read_chk(int fd, void* buf, size_t len,
                                      size_t buflen) {
  if (!serving() || len > buflen) {
    return NEXT_FNC(__read_chk)(fd, buf, len, buflen);
  }
  return read_serving(fd, buf, len, [fd, buflen](void* b, size_t n) {
    return NEXT_FNC(__read_chk)(fd, b, n, buflen);
  });
}

// inotify's readv reads each buffer in turn; a serving fd fills the first
// only (readv may return less than asked).
DMTCP_EVENT_EXPORT ssize_t readv(int fd, const iovec* iov, int iovcnt) {
  if (!serving() || iovcnt < 1) {
    return NEXT_FNC(readv)(fd, iov, iovcnt);
  }
  return read_serving(fd, iov[0].iov_base, iov[0].iov_len,
                      [fd](void* b, size_t n) {
                        iovec one{b, n};
                        return NEXT_FNC(readv)(fd, &one, 1);
                      });
}

// Programs size their read buffer by FIONREAD: it counts the saved events.
DMTCP_EVENT_EXPORT int ioctl(int fd, unsigned long request, ...) __THROW {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (serving() && request == FIONREAD) {
    int n = 0;
    if (queue_fionread(fd, &n)) {
      *static_cast<int*>(arg) = n;
      return 0;
    }
  }
  return NEXT_FNC(ioctl)(fd, request, arg);
}
