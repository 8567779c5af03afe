// pid_fd_owner.cpp -- pids stored with file descriptors: the owner that
// gets an fd's SIGIO/SIGURG (fcntl F_SETOWN, F_GETOWN, F_SETOWN_EX,
// F_GETOWN_EX) and a UNIX socket peer's credentials (getsockopt
// SO_PEERCRED).  Same shape as pid_wrappers.cpp: pass through when
// inactive, translate in, call the next definition, translate out.
//
// An owner is a process (F_SETOWN > 0, F_OWNER_PID), a process group
// (F_SETOWN < 0, F_OWNER_PGRP) or a thread (F_OWNER_TID).  The kernel keeps
// the owner it was given; after a restart the fd is a new one and whoever
// recreates it sets the owner again through this wrapper (virtual ids).
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdarg>

#include "dmtcp/plugin.h"
#include "pid_groups.h"
#include "pid_state.h"

using namespace dmtcp::pid;

namespace {

using FcntlFn = int (*)(int, int, ...);
using GetsockoptFn = int (*)(int, int, int, void*, socklen_t*);

// The next definitions, resolved when we load: other plugins call fcntl()
// and getsockopt() from their checkpoint and restart hooks, where a lazy
// dlsym() could wait for a lock held by a frozen thread.
FcntlFn g_fcntl = nullptr;
FcntlFn g_fcntl64 = nullptr;
GetsockoptFn g_getsockopt = nullptr;

template <class Fn>
Fn next(Fn* slot, const char* name) {
  if (*slot == nullptr) {  // called before our constructor ran
    *slot = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
  }
  return *slot;
}

__attribute__((constructor)) void resolve_next() {
  next(&g_fcntl, "fcntl");
  next(&g_fcntl64, "fcntl64");
  next(&g_getsockopt, "getsockopt");
}

// F_SETOWN's argument: > 0 a process, < 0 a process group.
std::optional<int> owner_to_real(int owner) {
  if (owner > 0) {
    return pid_to_real(owner);
  }
  if (owner < 0) {
    auto r = pgid_to_real(-owner);
    return r ? std::optional<int>(-*r) : std::nullopt;
  }
  return 0;
}

int owner_to_virt(int owner) {
  ErrnoKeeper keep;
  if (owner > 0) {
    return pid_to_virt(owner);
  }
  // -1 is an error (or group 1, which nobody virtualizes).
  return owner < -1 ? -pgid_to_virt(-owner) : owner;
}

std::optional<pid_t> owner_ex_to_real(const f_owner_ex& o) {
  if (o.pid <= 0) {
    return o.pid;
  }
  switch (o.type) {
    case F_OWNER_TID:
      return tid_to_real(o.pid);
    case F_OWNER_PGRP:
      return pgid_to_real(o.pid);
    default:
      return pid_to_real(o.pid);
  }
}

pid_t owner_ex_to_virt(const f_owner_ex& o) {
  if (o.pid <= 0) {
    return o.pid;
  }
  ErrnoKeeper keep;
  switch (o.type) {
    case F_OWNER_TID:
      return tid_to_virt(o.pid);
    case F_OWNER_PGRP:
      return pgid_to_virt(o.pid);
    default:
      return pid_to_virt(o.pid);
  }
}

int virt_fcntl(FcntlFn next, int fd, int cmd, void* arg) {
  if (pass()) {
    return next(fd, cmd, arg);
  }
  switch (cmd) {
    case F_SETOWN: {
      auto real = owner_to_real(static_cast<int>(reinterpret_cast<long>(arg)));
      if (!real) {
        errno = ESRCH;
        return -1;
      }
      return next(fd, cmd, *real);
    }
    case F_GETOWN:
      return owner_to_virt(next(fd, cmd));
    case F_SETOWN_EX: {
      if (arg == nullptr) {
        return next(fd, cmd, arg);  // EFAULT from the kernel
      }
      f_owner_ex copy = *static_cast<const f_owner_ex*>(arg);
      auto real = owner_ex_to_real(copy);
      if (!real) {
        errno = ESRCH;
        return -1;
      }
      copy.pid = *real;
      return next(fd, cmd, &copy);
    }
    case F_GETOWN_EX: {
      int r = next(fd, cmd, arg);
      if (r == 0 && arg != nullptr) {
        auto* o = static_cast<f_owner_ex*>(arg);
        o->pid = owner_ex_to_virt(*o);
      }
      return r;
    }
    default:
      return next(fd, cmd, arg);
  }
}

}  // namespace

// glibc reads the optional argument as a pointer-sized value; so do we.
DMTCP_PID_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return virt_fcntl(next(&g_fcntl, "fcntl"), fd, cmd, arg);
}

// What programs built with _FILE_OFFSET_BITS=64 call (glibc >= 2.28).
DMTCP_PID_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return virt_fcntl(next(&g_fcntl64, "fcntl64"), fd, cmd, arg);
}

// SO_PEERCRED: the peer's pid when it connected (or called socketpair()),
// a real pid; the program gets its virtual pid.
DMTCP_PID_EXPORT int getsockopt(int fd, int level, int name, void* value,
                                socklen_t* len) {
  int r = next(&g_getsockopt, "getsockopt")(fd, level, name, value, len);
  if (r != 0 || pass() || level != SOL_SOCKET || name != SO_PEERCRED ||
      value == nullptr || len == nullptr || *len < sizeof(struct ucred)) {
    return r;
  }
  auto* cred = static_cast<struct ucred*>(value);
  if (cred->pid > 0) {
    ErrnoKeeper keep;
    cred->pid = pid_to_virt(cred->pid);
  }
  return r;
}
