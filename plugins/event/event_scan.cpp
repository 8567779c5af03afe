// event_scan.cpp -- the checkpoint-time list of this process's epoll,
// eventfd, signalfd and inotify fds, grouped by description.
//
// /proc/self/fd names each anon inode's kind in its link; fds that share
// one description (dup, fork) are found with kcmp(KCMP_FILE).  Each fd we
// will restore is claimed (dmtcp/claims.h); fanotify gets one line saying
// it is not supported (the core names it again as unsaved).
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "dmtcp/claims.h"
#include "dmtcp/plugin.h"
#include "event_table.h"

namespace dmtcp::event {
namespace {

struct Prefix {
  const char* link;
  Kind kind;
};
constexpr Prefix kKinds[] = {
    {"anon_inode:[eventpoll]", Kind::kEpoll},
    {"anon_inode:[eventfd]", Kind::kEventfd},
    {"anon_inode:[signalfd]", Kind::kSignalfd},
    {"anon_inode:inotify", Kind::kInotify},
};

bool kind_of(const char* link, Kind* out) {
  for (const Prefix& p : kKinds) {
    if (strcmp(link, p.link) == 0) {
      *out = p.kind;
      return true;
    }
  }
  return false;
}

// Whether fds a and b of this process are one description.  Without kcmp
// (a seccomp filter) every fd is taken as its own description: said once.
bool same_description(int a, int b) {
  static bool refused = false;
  if (refused) {
    return false;
  }
  pid_t self = share::raw_getpid();
  long r = syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);
  if (r >= 0) {
    return r == 0;
  }
  refused = true;
  dmtcp_log(
      "event plugin: kcmp refused (%s): dup()ed epoll/eventfd/signalfd/"
      "inotify fds come back as separate descriptions",
      strerror(errno));
  return false;
}

void add_fd(Table* t, int fd, Kind kind) {
  int flags = fcntl(fd, F_GETFL);
  int fd_flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fd_flags < 0) {
    return;  // closed meanwhile
  }
  uint32_t found = static_cast<uint32_t>(t->descs.size());
  for (uint32_t i = 0; i < t->descs.size(); ++i) {
    if (t->descs[i].kind == kind &&
        same_description(t->descs[i].first_fd, fd)) {
      found = i;
      break;
    }
  }
  if (found == t->descs.size()) {
    Desc d;
    d.kind = kind;
    d.first_fd = fd;
    d.flags = flags;
    t->descs.push_back(std::move(d));
  } else if (fd < t->descs[found].first_fd) {
    t->descs[found].first_fd = fd;
  }
  t->fds.push_back(FdSlot{fd, fd_flags, found});
  dmtcp_claim_fd(fd);
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kEpoll:
      return "epoll";
    case Kind::kEventfd:
      return "eventfd";
    case Kind::kSignalfd:
      return "signalfd";
    case Kind::kInotify:
      return "inotify";
  }
  return "?";
}

Table& table() {
  static Table t;
  return t;
}

void scan(Table* t) {
  t->clear();
  int high = share::highest_fd();
  t->park_floor = high + 1 > 3 ? high + 1 : 3;
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    dmtcp_log("event plugin: /proc/self/fd: %s; no epoll/eventfd/signalfd/"
              "inotify fd is saved",
              strerror(errno));
    return;
  }
  share::for_each_dir_entry(dir, [&](const char* name) {
    if (name[0] < '0' || name[0] > '9') {
      return true;
    }
    int fd = atoi(name);
    if (fd == dir || dmtcp_is_protected_fd(fd)) {
      return true;
    }
    char link[256];
    if (!share::read_fd_link(fd, link, sizeof link)) {
      return true;
    }
    Kind kind;
    if (kind_of(link, &kind)) {
      add_fd(t, fd, kind);
    } else if (strcmp(link, "anon_inode:[fanotify]") == 0) {
      dmtcp_log("event plugin: fd %d is a fanotify instance: not supported, "
                "it will not come back after a restart",
                fd);
    }
    return true;
  });
  close(dir);
}

bool read_fdinfo(int fd, char* buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    return false;
  }
  size_t have = 0;
  ssize_t n;
  while (have + 1 < cap && (n = read(f, buf + have, cap - 1 - have)) > 0) {
    have += static_cast<size_t>(n);
  }
  close(f);
  buf[have] = '\0';
  return have > 0;
}

uint64_t fdinfo_hex(const char* text, const char* key, uint64_t dflt) {
  const char* p = strstr(text, key);
  if (p == nullptr) {
    return dflt;
  }
  return strtoull(p + strlen(key), nullptr, 16);
}

}  // namespace dmtcp::event
