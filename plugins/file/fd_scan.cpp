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
#include <climits>
#include <cstdio>
#include <cstdlib>
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

// Writes the digits at *p (advanced past them) as the virtual id of the
// kernel's into out[*n..]; false when *p holds no id or out is full.
bool put_virtual_id(const char** p, char* out, size_t size, size_t* n) {
  char* end = nullptr;
  long real = strtol(*p, &end, 10);
  if (end == *p || real <= 0 || real > INT32_MAX ||
      (*end != '/' && *end != '\0')) {
    return false;
  }
  int w = snprintf(out + *n, size - *n, "%d",
                   dmtcp_real_to_virtual_pid(static_cast<pid_t>(real)));
  if (w < 0 || static_cast<size_t>(w) >= size - *n) {
    return false;
  }
  *n += static_cast<size_t>(w);
  *p = end;
  return true;
}

// "/proc/<pid>[/task/<tid>]..." as readlink gives it names the process and
// thread by their kernel ids, which are not the program's after a restart:
// the path is kept with the virtual ids, which the pid plugin's open and
// stat wrappers translate again at the next restart (procfd1 of upstream's
// suite: /proc/self/maps and /proc/self/task/<tid>/maps across two
// restarts).  Anything else is kept as it is.  No allocation (a hook).
void set_path(Desc* d, const char* link, size_t len) {
  constexpr char kProc[] = "/proc/";
  constexpr size_t kProcLen = sizeof kProc - 1;
  constexpr char kTask[] = "/task/";
  constexpr size_t kTaskLen = sizeof kTask - 1;
  char out[PATH_MAX];
  size_t n = kProcLen;
  const char* p = link + kProcLen;
  if (len >= PATH_MAX || strncmp(link, kProc, kProcLen) != 0 ||
      link[len] != '\0' || !put_virtual_id(&p, out, sizeof out, &n)) {
    d->path.assign(link, len);
    return;
  }
  memcpy(out, kProc, kProcLen);
  if (strncmp(p, kTask, kTaskLen) == 0 && n + kTaskLen < sizeof out) {
    memcpy(out + n, kTask, kTaskLen);
    size_t before = n;
    n += kTaskLen;
    p += kTaskLen;
    if (!put_virtual_id(&p, out, sizeof out, &n)) {
      n = before;
      p -= kTaskLen;
    }
  }
  size_t rest = strlen(p);
  if (n + rest >= sizeof out) {
    d->path.assign(link, len);
    return;
  }
  memcpy(out + n, p, rest);
  d->path.assign(out, n + rest);
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
  set_path(d, link, len);
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
