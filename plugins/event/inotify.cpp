// inotify.cpp -- an inotify instance's watches, with their wd numbers.
//
// The kernel shows each watch's wd, inode and event mask in
// /proc/self/fdinfo, but not its path; finding a path from an inode
// (open_by_handle_at) needs privilege.  So the inotify_add_watch wrapper
// records (fd, wd) -> absolute path and mask; it is not a hot path.
// inotify_init/inotify_init1 forget what an earlier instance at the same
// fd number had; inotify_rm_watch forgets one wd.
//
// Save (DRAIN, leader): the fdinfo watches, each with its recorded path,
// and the highest wd ever handed out on the instance.
//
// Re-make (RESTART, leader), keeping every wd number without translating
// any: the kernel hands out wds 1, 2, 3... on a new instance and never
// reuses one (until INT_MAX wraps).  So, in wd order:
//  1. a wd the program removed (a gap) is burned: a watch on a fresh
//     empty directory of ours, removed at once;
//  2. a watch is added by its path with an events-neutral mask
//     (IN_UNMOUNT only), so nothing it sees is queued yet; a path gone
//     since gets a watch on a fresh directory of ours in its place;
//  3. wds up to the highest ever handed out are burned too;
//  4. the queue is read empty (the IN_IGNORED of every burned wd), then
//     each watch gets its real mask (same inode: same wd), and each
//     stand-in for a gone path is removed -- which queues IN_IGNORED for
//     its wd, as the kernel would have when the path went: the program
//     learns the watch is gone.
// Unread events at checkpoint: taken out at DRAIN and served to the
// program's read() first, on resume and restart (inotify_queue.h); step 4
// ends by ringing the doorbell that makes the instance readable again.
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "dmtcp/plugin.h"
#include "event_table.h"
#include "inotify_queue.h"

namespace dmtcp::event {
namespace {

constexpr uint32_t kLookupFlags = IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

struct WatchRecord {
  int fd;
  int wd;
  uint32_t mask;
  ino_t ino;  // what the path named when added (0: unknown)
  HookString path;
};

struct InstanceRecord {
  int fd;
  int last_wd;
};

// Protects: g_watches, g_instances (wrappers of several threads; the
// checkpoint thread reads them while no thread is inside a wrapper:
// DMTCP_PLUGIN_DISABLE_CKPT).
std::atomic_flag g_lock = ATOMIC_FLAG_INIT;
HookVector<WatchRecord>& watches() {
  static HookVector<WatchRecord> v;
  return v;
}
HookVector<InstanceRecord>& instances() {
  static HookVector<InstanceRecord> v;
  return v;
}

struct Locked : SpinLocked {
  Locked() : SpinLocked(g_lock) {}
};

void forget_fd(int fd) {
  Locked l;
  auto& w = watches();
  for (size_t i = 0; i < w.size();) {
    if (w[i].fd == fd) {
      w.erase(w.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
  for (InstanceRecord& r : instances()) {
    if (r.fd == fd) {
      r.last_wd = 0;
    }
  }
}

void note_watch(int fd, int wd, const char* path, uint32_t mask) {
  char abs[PATH_MAX];
  if (path[0] == '/') {
    snprintf(abs, sizeof abs, "%s", path);
  } else {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == nullptr) {
      cwd[0] = '\0';
    }
    snprintf(abs, sizeof abs, "%s/%s", cwd, path);
  }
  struct stat st {};
  int rc = (mask & IN_DONT_FOLLOW) != 0 ? lstat(path, &st) : stat(path, &st);
  Locked l;
  bool found = false;
  for (WatchRecord& r : watches()) {
    if (r.fd == fd && r.wd == wd) {
      // Same inode again: the kernel replaced (or with IN_MASK_ADD, or'ed)
      // the mask of the watch it already had.
      r.mask = (mask & IN_MASK_ADD) != 0 ? r.mask | mask : mask;
      found = true;
    }
  }
  if (!found) {
    watches().push_back(WatchRecord{fd, wd, mask, rc == 0 ? st.st_ino : 0,
                                    HookString(abs)});
  }
  for (InstanceRecord& r : instances()) {
    if (r.fd == fd) {
      r.last_wd = wd > r.last_wd ? wd : r.last_wd;
      return;
    }
  }
  instances().push_back(InstanceRecord{fd, wd});
}

void forget_watch(int fd, int wd) {
  Locked l;
  auto& w = watches();
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i].fd == fd && w[i].wd == wd) {
      w.erase(w.begin() + static_cast<long>(i));
      return;
    }
  }
}

// "inotify wd:1a ino:3c51a sdev:fe00000 mask:100 ignored_mask:0 ..."
// Every number in hex, the wd too (fs/notify/fdinfo.c: "wd:%x").
bool parse_watch(const char* line, int* wd, uint64_t* ino, uint32_t* mask) {
  if (strncmp(line, "inotify wd:", 11) != 0) {
    return false;
  }
  *wd = static_cast<int>(strtol(line + 11, nullptr, 16));
  *ino = fdinfo_hex(line, " ino:", 0);
  *mask = static_cast<uint32_t>(fdinfo_hex(line, " mask:", 0));
  return true;
}

// Raw calls: our own wrappers are for the program (and take the
// checkpoint lock, which the checkpoint thread must not).
int add_raw(int fd, const char* path, uint32_t mask) {
  return static_cast<int>(syscall(SYS_inotify_add_watch, fd, path, mask));
}

void rm_raw(int fd, int wd) { syscall(SYS_inotify_rm_watch, fd, wd); }

}  // namespace

// A fresh empty directory of ours (for burned wds, gone paths, doorbells).
bool make_dummy_dir(char* out, size_t cap) {
  const char* tmp = dmtcp_get_tmpdir();
  snprintf(out, cap, "%s/dmtcp-inotify-XXXXXX",
           tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp");
  return mkdtemp(out) != nullptr;
}

void note_last_wd(int fd, int wd) {
  Locked l;
  for (InstanceRecord& r : instances()) {
    if (r.fd == fd) {
      r.last_wd = wd > r.last_wd ? wd : r.last_wd;
      return;
    }
  }
  instances().push_back(InstanceRecord{fd, wd});
}

void save_inotify(Desc* d, const Table& t) {
  d->watches.clear();
  d->last_wd = 0;
  d->unread_bytes = 0;
  Locked l;
  // This process's fds for the description, whose records count.
  auto is_ours = [&](int fd) {
    for (const FdSlot& s : t.fds) {
      if (s.fd == fd && &t.descs[s.desc] == d) {
        return true;
      }
    }
    return false;
  };
  for (const InstanceRecord& r : instances()) {
    if (is_ours(r.fd) && r.last_wd > d->last_wd) {
      d->last_wd = r.last_wd;
    }
  }
  for_each_fdinfo_line(d->first_fd, [&](const char* line) {
    int wd;
    uint64_t ino;
    uint32_t mask;
    if (!parse_watch(line, &wd, &ino, &mask)) {
      return;
    }
    InotifyWatch w;
    w.wd = wd;
    w.mask = mask;
    for (const WatchRecord& r : watches()) {
      if (r.wd == wd && is_ours(r.fd)) {
        w.mask = mask | (r.mask & (kLookupFlags | IN_ONESHOT));
        w.path = r.path;
        if (r.ino != 0 && r.ino != ino) {
          dmtcp_log("event plugin: inotify fd %d: wd %d watches an inode no "
                    "longer at %s (renamed?): it is re-added by that path",
                    d->first_fd, wd, r.path.c_str());
        }
      }
    }
    if (w.path.empty()) {
      dmtcp_log("event plugin: inotify fd %d: wd %d (inode %llu) was not "
                "added through this process: its path is unknown, it will "
                "not come back after a restart",
                d->first_fd, wd, static_cast<unsigned long long>(ino));
    }
    if (wd > d->last_wd) {
      d->last_wd = wd;
    }
    d->watches.push_back(std::move(w));
  });
  // The kernel lists watches newest first; restart adds them by wd.
  for (size_t i = 1; i < d->watches.size(); ++i) {
    for (size_t j = i; j > 0 && d->watches[j - 1].wd > d->watches[j].wd; --j) {
      std::swap(d->watches[j - 1], d->watches[j]);
    }
  }
}

int remake_inotify(const Desc& d, int park_floor) {
  int fd = static_cast<int>(
      syscall(SYS_inotify_init1, IN_CLOEXEC | IN_NONBLOCK));
  if (fd < 0) {
    dmtcp_log("event plugin: inotify fd %d: inotify_init1: %s", d.first_fd,
              strerror(errno));
    return -1;
  }
  fd = share::park_fd(fd, park_floor);
  char burn_dir[PATH_MAX];
  bool have_burn_dir = make_dummy_dir(burn_dir, sizeof burn_dir);
  int next = 1;
  auto burn_to = [&](int limit) {  // burn wds next..limit-1
    for (; next < limit; ++next) {
      int w = have_burn_dir ? add_raw(fd, burn_dir, IN_UNMOUNT) : -1;
      if (w >= 0) {
        rm_raw(fd, w);
      }
      if (w != next) {
        dmtcp_log("event plugin: inotify fd %d: wd %d could not be kept "
                  "(got %d): later wds may differ",
                  d.first_fd, next, w);
      }
    }
  };
  // Stand-ins for gone paths: (wd, directory), removed in step 4.
  HookVector<InotifyWatch> stand_ins;
  for (const InotifyWatch& w : d.watches) {
    burn_to(w.wd);
    next = w.wd + 1;
    int got = -1;
    if (!w.path.empty()) {
      got = add_raw(fd, w.path.c_str(), IN_UNMOUNT | (w.mask & kLookupFlags));
      if (got < 0) {
        dmtcp_log("event plugin: inotify fd %d: wd %d: %s: %s; the program "
                  "gets IN_IGNORED for it",
                  d.first_fd, w.wd, w.path.c_str(), strerror(errno));
      }
    }
    if (got < 0) {
      char dir[PATH_MAX];
      if (make_dummy_dir(dir, sizeof dir)) {
        got = add_raw(fd, dir, IN_UNMOUNT);
        InotifyWatch s;
        s.wd = got;
        s.path = dir;
        stand_ins.push_back(std::move(s));
      }
    }
    if (got != w.wd) {
      dmtcp_log("event plugin: inotify fd %d: wd %d came back as %d",
                d.first_fd, w.wd, got);
    }
  }
  burn_to(d.last_wd + 1);
  char buf[4096];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  for (const InotifyWatch& w : d.watches) {
    if (!w.path.empty()) {
      add_raw(fd, w.path.c_str(), w.mask & ~(IN_MASK_ADD | IN_MASK_CREATE));
    }
  }
  for (const InotifyWatch& s : stand_ins) {
    if (s.wd >= 0) {
      rm_raw(fd, s.wd);
    }
    rmdir(s.path.c_str());
  }
  if (have_burn_dir) {
    rmdir(burn_dir);
  }
  if ((d.flags & O_NONBLOCK) == 0) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  queue_ring(d, fd);  // its unread events: inotify_queue.h
  return fd;
}

}  // namespace dmtcp::event

using namespace dmtcp::event;

#define DMTCP_EVENT_EXPORT extern "C" __attribute__((visibility("default")))

DMTCP_EVENT_EXPORT int inotify_init(void) {
  DMTCP_PLUGIN_DISABLE_CKPT();
  int fd = NEXT_FNC(inotify_init)();
  int saved = errno;
  if (fd >= 0) {
    forget_fd(fd);
  }
  DMTCP_PLUGIN_ENABLE_CKPT();
  errno = saved;
  return fd;
}

DMTCP_EVENT_EXPORT int inotify_init1(int flags) {
  DMTCP_PLUGIN_DISABLE_CKPT();
  int fd = NEXT_FNC(inotify_init1)(flags);
  int saved = errno;
  if (fd >= 0) {
    forget_fd(fd);
  }
  DMTCP_PLUGIN_ENABLE_CKPT();
  errno = saved;
  return fd;
}

DMTCP_EVENT_EXPORT int inotify_add_watch(int fd, const char* path,
                                         uint32_t mask) {
  DMTCP_PLUGIN_DISABLE_CKPT();
  int wd = NEXT_FNC(inotify_add_watch)(fd, path, mask);
  int saved = errno;
  if (wd >= 0) {
    note_watch(fd, wd, path, mask);
  }
  DMTCP_PLUGIN_ENABLE_CKPT();
  errno = saved;
  return wd;
}

DMTCP_EVENT_EXPORT int inotify_rm_watch(int fd, int wd) {
  DMTCP_PLUGIN_DISABLE_CKPT();
  int r = NEXT_FNC(inotify_rm_watch)(fd, wd);
  int saved = errno;
  if (r == 0) {
    forget_watch(fd, wd);
  }
  DMTCP_PLUGIN_ENABLE_CKPT();
  errno = saved;
  return r;
}
