// fd_scan.cpp -- the checkpoint-time picture of this process's fds.
//
// /proc/self/fd lists the fds; fstat, fcntl and readlink say what each
// is.  fds that share one open file description (dup, F_DUPFD, or several
// opens of /proc/self/fd) become one Desc: kcmp(KCMP_FILE) says so exactly.
// Where kcmp is refused (a seccomp filter), fds whose inode, offset and
// flags agree are taken as one description; that is told once.
//
// Every fd the plugin saves is claimed (dmtcp/claims.h); the rest
// (Kind::kOther: sockets, epoll, eventfd, ... and the core's placeholders)
// the core names at checkpoint time and holds with placeholders at
// restart.
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/claims.h"
#include "dmtcp/plugin.h"
#include "fd_table.h"
#include "file_util.h"

namespace dmtcp::file {
namespace {

constexpr const char kDeletedSuffix[] = " (deleted)";

bool is_terminal_device(const struct stat& st) {
  if (!S_ISCHR(st.st_mode)) {
    return false;
  }
  unsigned maj = major(st.st_rdev);
  // 136-143: /dev/pts/N; 4: virtual consoles and serial lines; 5,0:
  // /dev/tty, whatever terminal controls us (pty.cpp follows it).
  return (maj >= 136 && maj <= 143) || maj == 4 ||
         (maj == 5 && minor(st.st_rdev) == 0);
}

bool is_pty_master(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 &&
         minor(st.st_rdev) == 2;
}

bool is_mqueue(int fd) {
  constexpr long kMqueueMagic = 0x19800202;  // linux/magic.h MQUEUE_MAGIC
  struct statfs fs {};
  return fstatfs(fd, &fs) == 0 && fs.f_type == kMqueueMagic;
}

Kind classify(const struct stat& st, const char* link) {
  if (S_ISREG(st.st_mode)) {
    return st.st_nlink == 0 ? Kind::kDeleted : Kind::kPath;
  }
  if (S_ISFIFO(st.st_mode)) {
    return strncmp(link, "pipe:[", 6) == 0 ? Kind::kPipe : Kind::kFifo;
  }
  if (S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)) {
    return Kind::kPath;
  }
  if (S_ISCHR(st.st_mode)) {
    if (is_terminal_device(st)) {
      return Kind::kTerminal;
    }
    if (is_pty_master(st)) {
      return Kind::kPtyMaster;
    }
    // Anything else with a path in /dev is reopened by it.
    return link[0] != '/' ? Kind::kOther : Kind::kPath;
  }
  return Kind::kOther;  // sockets, anon inodes
}

// Whether fds a and b of this process share one description.
bool same_description(const Desc& d, int a, int b, int b_flags, int64_t b_pos) {
  static bool kcmp_refused = false;
  if (!kcmp_refused) {
    pid_t self = raw_getpid();
    long r = syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);
    if (r >= 0) {
      return r == 0;
    }
    kcmp_refused = true;
    dmtcp_log(
        "file plugin: kcmp refused (%s): fds with the same file, "
        "offset and flags are taken as dup()s of each other",
        strerror(errno));
  }
  return d.flags == b_flags && d.pos == b_pos;
}

void fill_desc(Desc* d, int fd, const struct stat& st, int flags,
               const char* link) {
  d->st = st;
  d->flags = flags;
  d->first_fd = fd;
  d->kind = classify(st, link);
  d->pos = -1;
  d->pipe_is_read_end = (flags & O_ACCMODE) == O_RDONLY;
  if (d->kind == Kind::kPath || d->kind == Kind::kDeleted) {
    off_t p = lseek(fd, 0, SEEK_CUR);
    d->pos = p >= 0 ? p : -1;
  }
  size_t len = strlen(link);
  size_t suffix = sizeof kDeletedSuffix - 1;
  if (d->kind == Kind::kDeleted && len > suffix &&
      strcmp(link + len - suffix, kDeletedSuffix) == 0) {
    len -= suffix;
  }
  d->path.assign(link, len);
}

// One fd into the table: a new description, or an alias of one we have.
void add_fd(Table* t, int fd) {
  struct stat st;
  int flags = fcntl(fd, F_GETFL);
  int fd_flags = fcntl(fd, F_GETFD);
  if (fstat(fd, &st) != 0 || flags < 0 || fd_flags < 0) {
    return;  // closed meanwhile
  }
  char link[PATH_MAX];
  if (!read_fd_link(fd, link, sizeof link)) {
    link[0] = '\0';
  }
  Desc probe;
  fill_desc(&probe, fd, st, flags, link);
  if (S_ISREG(st.st_mode) && is_mqueue(fd)) {
    // A POSIX message queue: its link looks like a path ("/name") but it
    // names no file; the sysvipc plugin saves it.
    probe.kind = Kind::kOther;
  }
  if (dmtcp_is_placeholder_fd(fd)) {
    // The core's stand-in for an fd nobody saved: the core names it and
    // puts it back; a sealed memfd saved as a file would take writes.
    probe.kind = Kind::kOther;
  }
  uint32_t found = static_cast<uint32_t>(t->descs.size());
  for (uint32_t i = 0; i < t->descs.size(); ++i) {
    const Desc& d = t->descs[i];
    if (d.st.st_dev == st.st_dev && d.st.st_ino == st.st_ino &&
        d.kind == probe.kind &&
        same_description(d, d.first_fd, fd, flags, probe.pos)) {
      found = i;
      break;
    }
  }
  if (found == t->descs.size()) {
    t->descs.push_back(std::move(probe));
  } else if (fd < t->descs[found].first_fd) {
    t->descs[found].first_fd = fd;
  }
  t->fds.push_back(FdSlot{fd, fd_flags, found});
  if (t->descs[found].kind != Kind::kOther) {
    dmtcp_claim_fd(fd);  // ours to save; the core names what nobody claims
  }
  if (fd > t->max_fd) {
    t->max_fd = fd;
  }
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kPath:
      return "file";
    case Kind::kDeleted:
      return "deleted file";
    case Kind::kFifo:
      return "FIFO";
    case Kind::kPipe:
      return "pipe";
    case Kind::kTerminal:
      return "terminal";
    case Kind::kPtyMaster:
      return "pty master";
    case Kind::kOther:
      return "other";
  }
  return "?";
}

DescKey Desc::key() const {
  DescKey k{};
  k.dev = st.st_dev;
  k.ino = st.st_ino;
  k.kind = static_cast<uint8_t>(kind);
  if (kind == Kind::kPipe) {
    k.pipe_end = (flags & O_ACCMODE) == O_RDONLY ? 'r' : 'w';
  } else {
    k.pos = pos;
    k.flags = flags;
  }
  return k;
}

void Table::clear() {
  descs.clear();
  fds.clear();
  max_fd = -1;
}

Table& table() {
  static Table t;
  return t;
}

void scan(Table* t) {
  t->clear();
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    dmtcp_log("file plugin: /proc/self/fd: %s; no fd is saved",
              strerror(errno));
    return;
  }
  for_each_dir_entry(dir, [&](const char* name) {
    if (name[0] < '0' || name[0] > '9') {
      return true;
    }
    int fd = atoi(name);
    if (fd != dir && !dmtcp_is_protected_fd(fd)) {
      add_fd(t, fd);
    }
    return true;
  });
  close(dir);
}

}  // namespace dmtcp::file
