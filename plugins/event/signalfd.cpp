// signalfd.cpp -- a signalfd's signal mask.
//
// Save (DRAIN, leader): "sigmask:" of /proc/self/fdinfo (bit n-1 is signal
// n).  Re-make (RESTART, leader): signalfd(-1, mask, flags).  The signals
// it would read are the process's and threads' pending signals, which the
// core saves and queues again (docs/threads.md, "Pending signals").
#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/plugin.h"
#include "event_table.h"

namespace dmtcp::event {

void save_signalfd(Desc* d) {
  char info[1024];
  if (!read_fdinfo(d->first_fd, info, sizeof info)) {
    dmtcp_log("event plugin: signalfd %d: no fdinfo; its mask is taken as "
              "empty",
              d->first_fd);
    d->sigmask = 0;
    return;
  }
  d->sigmask = fdinfo_hex(info, "sigmask:", 0);
}

int remake_signalfd(const Desc& d, int park_floor) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig = 1; sig <= 64; ++sig) {
    if ((d.sigmask >> (sig - 1)) & 1) {
      sigaddset(&mask, sig);
    }
  }
  int flags = SFD_CLOEXEC | ((d.flags & O_NONBLOCK) != 0 ? SFD_NONBLOCK : 0);
  int fd = signalfd(-1, &mask, flags);
  if (fd < 0) {
    dmtcp_log("event plugin: signalfd %d: signalfd(): %s", d.first_fd,
              strerror(errno));
    return -1;
  }
  return share::park_fd(fd, park_floor);
}

}  // namespace dmtcp::event
