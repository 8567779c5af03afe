// reopen.cpp -- a leader re-makes its descriptions at restart.
//
// Files come back by path with their flags and offset.  The policy for a
// file that changed between checkpoint and restart (docs/file.md):
//   - still there, same size and mtime: reopened;
//   - changed: with a --ckpt-open-files copy, the copy's contents are put
//     back (the program's memory expects them); without one, reopened as
//     it is now, with a warning.  Never truncated by us.
//   - gone: recreated from the copy if there is one; a file the program
//     only writes, made again empty; otherwise restart stops with a
//     one-line error (a program cannot go on without it).
// Deleted files and memfds are made again from the bytes in the image,
// unnamed (O_TMPFILE) where the file system allows.
#include "reopen.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dmtcp/plugin.h"
#include "fd_table.h"
#include "file_util.h"
#include "pipe_data.h"
#include "pty.h"
#include "saved_files.h"

namespace dmtcp::file {

// Status flags open() cannot set (O_ASYNC) go on at install (install.cpp).
int open_flags_for(int saved) {
  // F_GETFL keeps O_TMPFILE (which includes O_DIRECTORY) of a tmpfile():
  // reopening the file it made must not ask for either.
  return (saved & ~(O_CREAT | O_EXCL | O_TRUNC | O_ASYNC | O_TMPFILE)) |
         O_NOCTTY | O_CLOEXEC;
}

namespace {

[[noreturn]] void give_up(const Desc& d, const char* why) {
  // One line, as every restart error: the program cannot go on without it.
  // write(2), not stdio: a frozen thread may hold stderr's lock.
  char line[PATH_MAX + 256];
  int n = snprintf(line, sizeof line, "dmtcp_restart: fd %d: %s %s: %s\n",
                   d.first_fd, kind_name(d.kind), d.path.c_str(), why);
  if (n > 0) {
    write_all(2, line,
              static_cast<size_t>(n) < sizeof line ? static_cast<size_t>(n)
                                                   : sizeof line - 1);
  }
  _exit(1);
}

int open_or_give_up(const Desc& d) {
  int fd = open(d.path.c_str(), open_flags_for(d.flags));
  if (fd < 0) {
    give_up(d, strerror(errno));
  }
  return fd;
}

bool same_contents_as_then(const Desc& d, const struct stat& now) {
  return now.st_size == d.st.st_size &&
         now.st_mtim.tv_sec == d.st.st_mtim.tv_sec &&
         now.st_mtim.tv_nsec == d.st.st_mtim.tv_nsec;
}

// Puts the --ckpt-open-files copy's bytes into `path` (created if gone).
bool put_back_copy(const Desc& d, const char* copy) {
  int src = open(copy, O_RDONLY | O_CLOEXEC);
  if (src < 0) {
    return false;
  }
  // The path the program had open (resolved at checkpoint): a link
  // planted there since must not lead the copy elsewhere.
  int dst = open(d.path.c_str(),
                 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                 d.st.st_mode & 07777);
  bool ok = dst >= 0 && copy_fd_to(src, dst);
  close(src);
  if (dst >= 0) {
    close(dst);
  }
  return ok;
}

// A regular file the program only writes (O_WRONLY: a log) and that is
// gone, renamed or removed since the checkpoint (logrotate; upstream's
// file3).  Nothing in the program's memory came from its bytes, so it is
// made again, empty, with its permission bits (never set-id ones; created
// O_EXCL|O_NOFOLLOW, so nothing planted there is followed); the program
// writes on at its offset, a hole before it.  One line says so.
bool remake_write_only(const Desc& d, int stat_errno) {
  if (!S_ISREG(d.st.st_mode) || (d.flags & O_ACCMODE) != O_WRONLY ||
      stat_errno != ENOENT) {
    return false;
  }
  mode_t mode = d.st.st_mode & 0777;
  int fd = open(d.path.c_str(),
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    return false;
  }
  fchmod(fd, mode);  // exactly the bits it had, whatever our umask
  close(fd);
  dmtcp_log(
      "file plugin: %s was gone; the program only writes to it: made again, "
      "empty",
      d.path.c_str());
  return true;
}

// Regular files, directories, devices.
int reopen_path(const Desc& d) {
  char copy[PATH_MAX];
  bool has_copy = saved_copy_path(d, copy, sizeof copy);
  struct stat now;
  if (stat(d.path.c_str(), &now) != 0) {
    if (!has_copy && remake_write_only(d, errno)) {
      return open_or_give_up(d);
    }
    if (!has_copy) {
      give_up(d,
              "no longer exists (start with --ckpt-open-files to keep "
              "copies)");
    }
    if (!put_back_copy(d, copy)) {
      give_up(d, "gone, and its saved copy cannot be put back");
    }
    dmtcp_log("file plugin: %s was gone: recreated from %s", d.path.c_str(),
              copy);
  } else if (S_ISREG(d.st.st_mode) && !same_contents_as_then(d, now)) {
    if (has_copy) {
      if (!put_back_copy(d, copy)) {
        give_up(d, "changed, and its saved copy cannot be put back");
      }
      dmtcp_log(
          "file plugin: %s changed since the checkpoint: its contents "
          "were put back from %s",
          d.path.c_str(), copy);
    } else {
      dmtcp_log(
          "file plugin: warning: %s changed since the checkpoint "
          "(size %lld, now %lld); reopened as it is",
          d.path.c_str(), static_cast<long long>(d.st.st_size),
          static_cast<long long>(now.st_size));
    }
  }
  return open_or_give_up(d);
}

int remake_deleted(const Desc& d) {
  int fd = -1;
  // Mapped shared too: the object dmtcp_restart made for the mapping, so
  // the fd and the mapping are one object again (the bytes we saved are
  // the ones it holds, both taken with every thread stopped).
  int object = dmtcp_get_restored_object_fd(d.st.st_dev, d.st.st_ino);
  if (object >= 0) {
    fd = fcntl(object, F_DUPFD_CLOEXEC, 3);
    struct stat now;
    if (fd >= 0 && fstat(fd, &now) == 0 && now.st_size < d.st.st_size) {
      ftruncate(fd, d.st.st_size);
    }
  } else if (strncmp(d.path.c_str(), "/memfd:", 7) == 0) {
    fd = memfd_create(d.path.c_str() + 7, MFD_CLOEXEC);
  } else {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", d.path.c_str());
    fd = open(dirname(dir), O_TMPFILE | O_RDWR | O_CLOEXEC,
              d.st.st_mode & 07777);
    if (fd < 0) {
      // No O_TMPFILE here (or the directory is gone): a named file,
      // unlinked at once.
      char tmpl[] = "/tmp/dmtcp-deleted-XXXXXX";
      fd = mkostemp(tmpl, O_CLOEXEC);
      if (fd >= 0) {
        unlink(tmpl);
      }
    }
  }
  // At offset 0 whatever the descriptor's offset (an object's is shared).
  if (fd < 0 || !pwrite_all(fd, d.data.data(), d.data.size(), 0)) {
    give_up(d, strerror(errno));
  }
  // The program's access mode, through a new description of that file.
  // Not O_NOFOLLOW (F_GETFL reports it when the program opened with it, as
  // Open MPI does for its files in /dev/shm): /proc/self/fd/N is a
  // symbolic link, and following it is the point.
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int mine = open(proc, open_flags_for(d.flags) & ~O_NOFOLLOW);
  int err = errno;
  close(fd);
  if (mine < 0) {
    give_up(d, strerror(err));
  }
  return mine;
}

// A FIFO by path.  Opening one end blocks until the other exists, so the
// open is non-blocking; a write-only open needs a reader first: a helper
// (Desc::pipe_peer_fd) held until every process is back.
int reopen_fifo(Desc* d) {
  struct stat now;
  if (stat(d->path.c_str(), &now) != 0) {
    if (mkfifo(d->path.c_str(), d->st.st_mode & 07777) != 0) {
      give_up(*d, strerror(errno));
    }
    dmtcp_log("file plugin: FIFO %s was gone: made again", d->path.c_str());
  }
  int flags = open_flags_for(d->flags) | O_NONBLOCK;
  int fd = open(d->path.c_str(), flags);
  if (fd < 0 && errno == ENXIO) {
    d->pipe_peer_fd = open(d->path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    fd = open(d->path.c_str(), flags);
  }
  if (fd < 0) {
    give_up(*d, strerror(errno));
  }
  return fd;
}

}  // namespace

// A terminal from outside: the one dmtcp_restart runs in.
int reopen_outside_terminal(const Desc& d, const RestartCtx& ctx) {
  for (int i = 0; i < 3; ++i) {
    if (ctx.inherited[i] >= 0 && isatty(ctx.inherited[i])) {
      char name[PATH_MAX];
      if (ttyname_r(ctx.inherited[i], name, sizeof name) == 0) {
        int fd = open(name, open_flags_for(d.flags));
        if (fd >= 0) {
          return fd;
        }
      }
    }
  }
  dmtcp_log(
      "file plugin: fd %d was the terminal %s; dmtcp_restart runs in "
      "none: /dev/null instead",
      d.first_fd, d.path.c_str());
  return open("/dev/null", open_flags_for(d.flags));
}

int inherited_for(const Desc& d, const RestartCtx& ctx) {
  if (d.first_fd < 0 || d.first_fd > 2 || ctx.inherited[d.first_fd] < 0) {
    return -1;
  }
  return fcntl(ctx.inherited[d.first_fd], F_DUPFD_CLOEXEC, ctx.park_min);
}

bool remake_after_queries(const Desc& d, pid_t me) {
  constexpr char kProc[] = "/proc/";
  constexpr size_t kProcLen = sizeof kProc - 1;
  const char* p = d.path.c_str();
  if (d.kind != Kind::kPath || strncmp(p, kProc, kProcLen) != 0) {
    return false;
  }
  p += kProcLen;
  long n = 0;
  const char* digits = p;
  while (*p >= '0' && *p <= '9' && n < (1L << 31)) {
    n = n * 10 + (*p++ - '0');
  }
  return p != digits && (*p == '/' || *p == '\0') && n != me;
}

void remake(Desc* d, const RestartCtx& ctx) {
  int fd = -1;
  switch (d->kind) {
    case Kind::kPath:
      fd = reopen_path(*d);
      break;
    case Kind::kDeleted:
      fd = remake_deleted(*d);
      break;
    case Kind::kFifo:
      fd = reopen_fifo(d);
      break;
    case Kind::kPtyMaster:
      remake_pty_master(d, ctx);
      return;
    case Kind::kTerminal:
      return;  // once we know whose pty it is: remake_terminal()
    case Kind::kPipe:
    case Kind::kOther:
      return;  // pipes: pipe_plan.cpp; others: not ours
  }
  if (d->pos >= 0 && lseek(fd, d->pos, SEEK_SET) < 0) {
    dmtcp_log("file plugin: %s: cannot seek back to %lld: %s", d->path.c_str(),
              static_cast<long long>(d->pos), strerror(errno));
  }
  d->new_fd = park_fd(fd, ctx.park_min);
  d->pipe_peer_fd = park_fd(d->pipe_peer_fd, ctx.park_min);
}

}  // namespace dmtcp::file
