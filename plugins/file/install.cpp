// install.cpp -- re-made descriptions move to the fd numbers the program
// had, with their close-on-exec flag, status flags and owner.
#include "install.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/plugin.h"
#include "election.h"
#include "fd_passing.h"
#include "file_util.h"

namespace dmtcp::file {
namespace {

constexpr int kSettableFlags =
    O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME | O_NONBLOCK;

void set_status_flags(int fd, int saved) {
  int now = fcntl(fd, F_GETFL);
  int want = (now & ~kSettableFlags) | (saved & kSettableFlags);
  if (now >= 0 && now != want) {
    fcntl(fd, F_SETFL, want);
  }
}

bool restores(const Desc& d) {
  return d.kind != Kind::kOther && d.new_fd >= 0;
}

}  // namespace

RestartCtx begin_restart(const Table& t) {
  RestartCtx ctx;
  // Every description waits above the highest fd while the program's fds
  // fill in below (the core gives room: dmtcp/fd_share.h).
  ctx.park_min = t.max_fd + 1 > 3 ? t.max_fd + 1 : 3;
  for (int i = 0; i < 3; ++i) {
    ctx.inherited[i] = fcntl(i, F_DUPFD_CLOEXEC, ctx.park_min);
  }
  return ctx;
}

void resolve_own_requests(Table* t, pid_t me, int park_min) {
  for (Desc& d : t->descs) {
    if (d.provider != me) {
      continue;
    }
    int fd = provide(*t, d.key(), d.el.leader_fd);
    d.new_fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, park_min) : -1;
  }
}

void install(Table* t, RestartCtx* ctx) {
  for (Desc& d : t->descs) {
    if (restores(d) && !d.keep_inherited) {
      set_status_flags(d.new_fd, d.flags);
    }
  }
  bool low_fd_seen[3] = {false, false, false};
  for (const FdSlot& slot : t->fds) {
    const Desc& d = t->descs[slot.desc];
    if (slot.fd <= 2) {
      low_fd_seen[slot.fd] = true;
    }
    if (d.kind == Kind::kOther) {
      continue;  // another plugin's, or (fds 0-2) left as the restarter's
    }
    if (d.new_fd < 0) {
      dmtcp_log("file plugin: fd %d (%s %s) did not come back", slot.fd,
                kind_name(d.kind), d.path.c_str());
      continue;
    }
    int cloexec = (slot.fd_flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0;
    // The outside world at 0-2 is dmtcp_restart's fd of the same number,
    // fd by fd (a terminal's 0, 1 and 2 are one description, a restarter's
    // need not be).
    int src = d.new_fd;
    if (d.keep_inherited && slot.fd <= 2 && ctx->inherited[slot.fd] >= 0) {
      src = ctx->inherited[slot.fd];
    }
    if (dup3(src, slot.fd, cloexec) < 0) {
      dmtcp_log("file plugin: fd %d: dup3: %s", slot.fd, strerror(errno));
      continue;
    }
    if (slot.fd == d.first_fd) {
      share::restore_owner_after_restart(d.el, slot.fd);
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (!low_fd_seen[i]) {
      close(i);  // the program had closed it
    }
  }
  for (Desc& d : t->descs) {
    for (int* fd : {&d.new_fd, &d.pipe_peer_fd}) {
      if (*fd >= 0) {
        close(*fd);
        *fd = -1;
      }
    }
  }
  for (int& fd : ctx->inherited) {
    if (fd >= 0) {
      close(fd);
      fd = -1;
    }
  }
}

}  // namespace dmtcp::file
