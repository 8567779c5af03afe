// eventfd.cpp -- an eventfd's counter and semaphore flag.
//
// Save (DRAIN, leader): /proc/self/fdinfo's "eventfd-count:" and
// "eventfd-semaphore:" -- read without read(), which would consume the
// counter.  Re-make (RESTART, leader): eventfd(0) with the same flags,
// then one write() of the counter: eventfd() takes only an unsigned int,
// a write any value up to 2^64-2 (the kernel's maximum).
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/plugin.h"
#include "event_table.h"

namespace dmtcp::event {

void save_eventfd(Desc* d) {
  char info[1024];
  if (!read_fdinfo(d->first_fd, info, sizeof info)) {
    dmtcp_log("event plugin: eventfd %d: no fdinfo; its counter is taken as 0",
              d->first_fd);
    d->count = 0;
    return;
  }
  d->count = fdinfo_hex(info, "eventfd-count:", 0);
  // "eventfd-semaphore:" is decimal 0/1; the hex parse reads it the same.
  // Kernels before it was added to fdinfo do not show EFD_SEMAPHORE at
  // all (nor in "flags:"): said once per eventfd, not guessed.
  if (strstr(info, "eventfd-semaphore:") == nullptr) {
    dmtcp_log("event plugin: eventfd %d: this kernel does not show "
              "EFD_SEMAPHORE in fdinfo: it comes back without it",
              d->first_fd);
  }
  d->semaphore = fdinfo_hex(info, "eventfd-semaphore:", 0) != 0;
}

int remake_eventfd(const Desc& d, int park_floor) {
  int flags = EFD_CLOEXEC | (d.semaphore ? EFD_SEMAPHORE : 0) |
              ((d.flags & O_NONBLOCK) != 0 ? EFD_NONBLOCK : 0);
  int fd = eventfd(0, flags);
  if (fd < 0) {
    dmtcp_log("event plugin: eventfd %d: eventfd(): %s", d.first_fd,
              strerror(errno));
    return -1;
  }
  fd = share::park_fd(fd, park_floor);
  if (d.count != 0) {
    uint64_t v = d.count;
    if (write(fd, &v, sizeof v) != sizeof v) {
      dmtcp_log("event plugin: eventfd %d: counter %llu not written back: %s",
                d.first_fd, static_cast<unsigned long long>(v),
                strerror(errno));
    }
  }
  return fd;
}

}  // namespace dmtcp::event
