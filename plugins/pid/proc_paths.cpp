// proc_paths.cpp -- /proc paths that name a process or thread by its
// virtual id.
//
// "/proc/<N>..." names a process (or, for a thread's hidden entry, a
// thread) by the number the program saw, which after a restart is not the
// kernel's.  Each wrapper below: pass through when inactive -> rewrite the
// path into a stack buffer -> call the next definition -> (readlink only)
// turn the real ids the kernel wrote back into virtual ones -> return.
//
// Rules (docs/pid.md, "/proc paths"):
//   /proc/<N>[/...]           N = our virtual pid, one of our virtual tids,
//                             or a virtual pid in the table -> its real id;
//                             a tombstone -> ENOENT (the number may belong
//                             to a stranger now); anything else unchanged.
//   /proc/self/task/<T>[/...] and /proc/<N>/task/<T>[/...] with N ourselves:
//                             T, one of our virtual tids -> its real tid.
//   /proc/self/..., /proc/thread-self/...: the kernel resolves these to the
//                             caller, no change.
//   readlink("/proc/self"), readlink("/proc/thread-self"): the kernel's
//                             answer holds real ids -> virtual ones.
// Only absolute paths are rewritten: a path relative to a directory fd
// opened on /proc ("123/stat") is not.  A path not starting with "/proc/"
// costs one comparison.
#undef _FORTIFY_SOURCE  // we define open() etc.; no inline fortify copies
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>

#include "dmtcp/plugin.h"
#include "dmtcp/raw_syscall.h"
#include "pid_state.h"

using namespace dmtcp::pid;

// Fortified and pre-2.33 entry points: exported by glibc 2.36 but not
// declared by its headers (without _FORTIFY_SOURCE).  Programs built with
// -D_FORTIFY_SOURCE call the __*_2 / __*_chk forms, old binaries the
// __*xstat forms.
extern "C" {
int __open_2(const char* path, int flags);
int __open64_2(const char* path, int flags);
int __openat_2(int dirfd, const char* path, int flags);
int __openat64_2(int dirfd, const char* path, int flags);
ssize_t __readlink_chk(const char* path, char* buf, size_t len, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char* path, char* buf, size_t len,
                         size_t buflen);
int __xstat(int ver, const char* path, struct stat* st);
int __xstat64(int ver, const char* path, struct stat64* st);
int __lxstat(int ver, const char* path, struct stat* st);
int __lxstat64(int ver, const char* path, struct stat64* st);
int __fxstatat(int ver, int dirfd, const char* path, struct stat* st,
               int flags);
int __fxstatat64(int ver, int dirfd, const char* path, struct stat64* st,
                 int flags);
}

namespace {


constexpr char kProc[] = "/proc/";
constexpr size_t kProcLen = sizeof kProc - 1;

// A decimal id at p, as the kernel's /proc accepts it (no sign, no leading
// zero, fits a pid_t), ending at '/' or the end of the string.  Sets *end
// past the digits.
bool parse_id(const char* p, pid_t* id, const char** end) {
  if (*p < '1' || *p > '9') {
    return false;
  }
  long v = 0;
  const char* q = p;
  for (; *q >= '0' && *q <= '9'; ++q) {
    v = v * 10 + (*q - '0');
    if (v > INT_MAX) {
      return false;
    }
  }
  if (*q != '\0' && *q != '/') {
    return false;
  }
  *id = static_cast<pid_t>(v);
  *end = q;
  return true;
}

// Appends to a bounded buffer; false when it does not fit.
class PathWriter {
 public:
  PathWriter(char* buf, size_t size) : buf_(buf), size_(size) {}
  bool put(const char* s, size_t n) {
    if (len_ + n >= size_) {
      return false;
    }
    memcpy(buf_ + len_, s, n);
    len_ += n;
    buf_[len_] = '\0';
    return true;
  }
  bool put(const char* s) { return put(s, strlen(s)); }
  bool put_id(pid_t id) {
    char digits[16];
    int n = snprintf(digits, sizeof digits, "%d", id);
    return put(digits, static_cast<size_t>(n));
  }
  size_t size() const { return len_; }

 private:
  char* buf_;
  size_t size_;
  size_t len_ = 0;
};

// The real id behind "/proc/<virt>".  Ourselves first (the process entry,
// not the main thread's: after a restart the main thread's real tid is not
// the real pid), then our threads (/proc/<tid> is a thread's hidden
// entry), then the table.  nullopt: a process known to be gone.
std::optional<pid_t> proc_entry_real(pid_t virt, bool* ours) {
  *ours = virt == self_virt();
  if (*ours) {
    return self_real();
  }
  if (auto r = own_thread_real(virt)) {
    *ours = true;
    return r;
  }
  return pid_to_real(virt);
}

enum class Rewrite { kSame, kRewritten, kGone, kTooLong };

// Rewrites `path` into buf (PATH_MAX) when it names a virtual id.
Rewrite rewrite_proc_path(const char* path, char* buf) {
  if (strncmp(path, kProc, kProcLen) != 0) {
    return Rewrite::kSame;
  }
  const char* p = path + kProcLen;
  PathWriter out(buf, PATH_MAX);
  out.put(kProc, kProcLen);
  bool ours = false;
  bool changed = false;
  pid_t virt;
  const char* rest;
  if (strncmp(p, "self", 4) == 0 && (p[4] == '/' || p[4] == '\0')) {
    ours = true;
    rest = p + 4;
    out.put("self", 4);
  } else if (parse_id(p, &virt, &rest)) {
    auto real = proc_entry_real(virt, &ours);
    if (!real) {
      return Rewrite::kGone;
    }
    changed = *real != virt;
    out.put_id(*real);
  } else {
    return Rewrite::kSame;  // thread-self, a file (/proc/meminfo), ...
  }
  constexpr char kTask[] = "/task/";
  constexpr size_t kTaskLen = sizeof kTask - 1;
  pid_t virt_tid;
  const char* after_tid;
  if (ours && strncmp(rest, kTask, kTaskLen) == 0 &&
      parse_id(rest + kTaskLen, &virt_tid, &after_tid)) {
    // Not one of our threads (or one that never came back): unchanged;
    // the task directory only lists our own threads, so no stranger.
    pid_t real_tid = own_thread_real(virt_tid).value_or(virt_tid);
    if (real_tid != virt_tid) {
      changed = true;
      if (!out.put(kTask, kTaskLen) || !out.put_id(real_tid)) {
        return Rewrite::kTooLong;
      }
      rest = after_tid;
    }
  }
  if (!changed) {
    return Rewrite::kSame;
  }
  return out.put(rest) ? Rewrite::kRewritten : Rewrite::kTooLong;
}

// The path a wrapper hands on: the caller's own, or a rewritten copy.
class InPath {
 public:
  explicit InPath(const char* path) : path_(path) {
    // NULL, the first page and non-canonical (kernel) addresses are never
    // a string of the caller's: the next definition hands them to the
    // kernel, which fails with EFAULT as it would without us (reading
    // them here would crash the program instead).
    if (dmtcp::raw::unreadable_user_pointer(path)) {
      return;
    }
    ErrnoKeeper keep;
    switch (rewrite_proc_path(path, buf_)) {
      case Rewrite::kSame:
        break;
      case Rewrite::kRewritten:
        path_ = buf_;
        break;
      case Rewrite::kGone:
        error_ = ENOENT;
        break;
      case Rewrite::kTooLong:
        error_ = ENAMETOOLONG;
        break;
    }
  }
  InPath(const InPath&) = delete;
  InPath& operator=(const InPath&) = delete;
  // Nonzero: fail with this errno without calling the kernel.
  int error() const { return error_; }
  const char* get() const { return path_; }

 private:
  char buf_[PATH_MAX];
  const char* path_;
  int error_ = 0;
};

template <class T>
T fail(int err) {
  errno = err;
  if constexpr (std::is_pointer_v<T>) {
    return nullptr;
  } else {
    return static_cast<T>(-1);
  }
}

bool open_needs_mode(int flags) {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

// --- readlink results ----------------------------------------------------

enum class SelfLink { kNone, kSelf, kThreadSelf };

SelfLink self_link(const char* path) {
  if (path == nullptr) {
    return SelfLink::kNone;
  }
  if (strcmp(path, "/proc/self") == 0) {
    return SelfLink::kSelf;
  }
  if (strcmp(path, "/proc/thread-self") == 0) {
    return SelfLink::kThreadSelf;
  }
  return SelfLink::kNone;
}

// The kernel's "<real pid>" or "<real pid>/task/<real tid>" (n bytes, not
// terminated) as virtual ids, into out.  Anything unexpected is copied.
size_t virtualize_link(SelfLink kind, const char* raw, size_t n, char* out,
                       size_t out_size) {
  char text[64];
  if (n >= sizeof text) {
    n = sizeof text - 1;
  }
  memcpy(text, raw, n);
  text[n] = '\0';
  PathWriter w(out, out_size);
  pid_t real;
  const char* rest;
  if (!parse_id(text, &real, &rest)) {
    w.put(text);
    return w.size();
  }
  w.put_id(real == self_real() ? self_virt() : pid_to_virt(real));
  pid_t real_tid;
  const char* end;
  if (kind == SelfLink::kThreadSelf && strncmp(rest, "/task/", 6) == 0 &&
      parse_id(rest + 6, &real_tid, &end) && *end == '\0' &&
      real_tid == raw_gettid()) {
    w.put("/task/", 6);
    w.put_id(self_virt_tid());
    return w.size();
  }
  w.put(rest);
  return w.size();
}

// readlink() and its relatives.  call(path, buf, size) reads a link.
template <class Call>
ssize_t virt_readlink(const char* path, char* buf, size_t size, Call call) {
  InPath in(path);
  if (in.error() != 0) {
    return fail<ssize_t>(in.error());
  }
  SelfLink kind = self_link(path);
  if (kind == SelfLink::kNone) {
    return call(in.get(), buf, size);
  }
  // Our own buffer: a short user buffer would cut the real id short.
  char raw[64];
  ssize_t n = call(in.get(), raw, sizeof raw);
  if (n < 0) {
    return n;
  }
  ErrnoKeeper keep;
  char text[64];
  size_t len =
      virtualize_link(kind, raw, static_cast<size_t>(n), text, sizeof text);
  if (len > size) {
    len = size;  // readlink() truncates silently
  }
  memcpy(buf, text, len);
  return static_cast<ssize_t>(len);
}

}  // namespace

// --- wrappers --------------------------------------------------------------

// One wrapper whose path parameter is `user_path`.  ARGS names `path`,
// which is the rewritten path after translation.
#define DMTCP_PROC_PATH_WRAPPER(ret, name, params, args) \
  DMTCP_PID_EXPORT ret name params {                     \
    const char* path = user_path;                        \
    if (pass()) {                                        \
      return NEXT_FNC(name) args;                        \
    }                                                    \
    InPath in(path);                                     \
    if (in.error() != 0) {                               \
      return fail<ret>(in.error());                      \
    }                                                    \
    path = in.get();                                     \
    return NEXT_FNC(name) args;                          \
  }

// open() and friends: the mode argument exists only with O_CREAT or
// O_TMPFILE, so it is read only then.
#define DMTCP_PROC_OPEN_WRAPPER(name, params, args) \
  DMTCP_PID_EXPORT int name params {                \
    mode_t mode = 0;                                \
    if (open_needs_mode(flags)) {                   \
      va_list ap;                                   \
      va_start(ap, flags);                          \
      mode = static_cast<mode_t>(va_arg(ap, int));  \
      va_end(ap);                                   \
    }                                               \
    const char* path = user_path;                   \
    if (!pass()) {                                  \
      InPath in(path);                              \
      if (in.error() != 0) {                        \
        return fail<int>(in.error());               \
      }                                             \
      path = in.get();                              \
      return NEXT_FNC(name) args;                   \
    }                                               \
    return NEXT_FNC(name) args;                     \
  }

DMTCP_PROC_OPEN_WRAPPER(open, (const char* user_path, int flags, ...),
                        (path, flags, mode))
DMTCP_PROC_OPEN_WRAPPER(open64, (const char* user_path, int flags, ...),
                        (path, flags, mode))
DMTCP_PROC_OPEN_WRAPPER(openat,
                        (int dirfd, const char* user_path, int flags, ...),
                        (dirfd, path, flags, mode))
DMTCP_PROC_OPEN_WRAPPER(openat64,
                        (int dirfd, const char* user_path, int flags, ...),
                        (dirfd, path, flags, mode))

DMTCP_PROC_PATH_WRAPPER(int, __open_2, (const char* user_path, int flags),
                        (path, flags))
DMTCP_PROC_PATH_WRAPPER(int, __open64_2, (const char* user_path, int flags),
                        (path, flags))
DMTCP_PROC_PATH_WRAPPER(int, __openat_2,
                        (int dirfd, const char* user_path, int flags),
                        (dirfd, path, flags))
DMTCP_PROC_PATH_WRAPPER(int, __openat64_2,
                        (int dirfd, const char* user_path, int flags),
                        (dirfd, path, flags))
DMTCP_PROC_PATH_WRAPPER(FILE*, fopen, (const char* user_path, const char* mode),
                        (path, mode))
DMTCP_PROC_PATH_WRAPPER(FILE*, fopen64,
                        (const char* user_path, const char* mode), (path, mode))
DMTCP_PROC_PATH_WRAPPER(FILE*, freopen,
                        (const char* user_path, const char* mode, FILE* f),
                        (path, mode, f))
DMTCP_PROC_PATH_WRAPPER(FILE*, freopen64,
                        (const char* user_path, const char* mode, FILE* f),
                        (path, mode, f))
DMTCP_PROC_PATH_WRAPPER(DIR*, opendir, (const char* user_path), (path))
DMTCP_PROC_PATH_WRAPPER(int, stat, (const char* user_path, struct stat* st),
                        (path, st))
DMTCP_PROC_PATH_WRAPPER(int, lstat, (const char* user_path, struct stat* st),
                        (path, st))
DMTCP_PROC_PATH_WRAPPER(int, stat64, (const char* user_path, struct stat64* st),
                        (path, st))
DMTCP_PROC_PATH_WRAPPER(int, lstat64,
                        (const char* user_path, struct stat64* st), (path, st))
DMTCP_PROC_PATH_WRAPPER(int, fstatat,
                        (int dirfd, const char* user_path, struct stat* st,
                         int flags),
                        (dirfd, path, st, flags))
DMTCP_PROC_PATH_WRAPPER(int, fstatat64,
                        (int dirfd, const char* user_path, struct stat64* st,
                         int flags),
                        (dirfd, path, st, flags))
DMTCP_PROC_PATH_WRAPPER(int, statx,
                        (int dirfd, const char* user_path, int flags,
                         unsigned int mask, struct statx* st),
                        (dirfd, path, flags, mask, st))
DMTCP_PROC_PATH_WRAPPER(int, __xstat,
                        (int ver, const char* user_path, struct stat* st),
                        (ver, path, st))
DMTCP_PROC_PATH_WRAPPER(int, __xstat64,
                        (int ver, const char* user_path, struct stat64* st),
                        (ver, path, st))
DMTCP_PROC_PATH_WRAPPER(int, __lxstat,
                        (int ver, const char* user_path, struct stat* st),
                        (ver, path, st))
DMTCP_PROC_PATH_WRAPPER(int, __lxstat64,
                        (int ver, const char* user_path, struct stat64* st),
                        (ver, path, st))
DMTCP_PROC_PATH_WRAPPER(int, __fxstatat,
                        (int ver, int dirfd, const char* user_path,
                         struct stat* st, int flags),
                        (ver, dirfd, path, st, flags))
DMTCP_PROC_PATH_WRAPPER(int, __fxstatat64,
                        (int ver, int dirfd, const char* user_path,
                         struct stat64* st, int flags),
                        (ver, dirfd, path, st, flags))
DMTCP_PROC_PATH_WRAPPER(int, access, (const char* user_path, int how),
                        (path, how))
DMTCP_PROC_PATH_WRAPPER(int, euidaccess, (const char* user_path, int how),
                        (path, how))
DMTCP_PROC_PATH_WRAPPER(int, eaccess, (const char* user_path, int how),
                        (path, how))
DMTCP_PROC_PATH_WRAPPER(int, faccessat,
                        (int dirfd, const char* user_path, int how, int flags),
                        (dirfd, path, how, flags))

DMTCP_PID_EXPORT ssize_t readlink(const char* path, char* buf, size_t size) {
  if (pass()) {
    return NEXT_FNC(readlink)(path, buf, size);
  }
  return virt_readlink(path, buf, size, [](const char* p, char* b, size_t n) {
    return NEXT_FNC(readlink)(p, b, n);
  });
}

DMTCP_PID_EXPORT ssize_t readlinkat(int dirfd, const char* path, char* buf,
                                    size_t size) {
  if (pass()) {
    return NEXT_FNC(readlinkat)(dirfd, path, buf, size);
  }
  return virt_readlink(path, buf, size,
                       [dirfd](const char* p, char* b, size_t n) {
                         return NEXT_FNC(readlinkat)(dirfd, p, b, n);
                       });
}

// Fortified forms: the size check stays glibc's (it aborts on overflow).
DMTCP_PID_EXPORT ssize_t __readlink_chk(const char* path, char* buf, size_t len,
                                        size_t buflen) {
  if (pass() || len > buflen) {
    return NEXT_FNC(__readlink_chk)(path, buf, len, buflen);
  }
  return virt_readlink(path, buf, len, [](const char* p, char* b, size_t n) {
    return NEXT_FNC(__readlink_chk)(p, b, n, n);
  });
}

DMTCP_PID_EXPORT ssize_t __readlinkat_chk(int dirfd, const char* path,
                                          char* buf, size_t len,
                                          size_t buflen) {
  if (pass() || len > buflen) {
    return NEXT_FNC(__readlinkat_chk)(dirfd, path, buf, len, buflen);
  }
  return virt_readlink(path, buf, len,
                       [dirfd](const char* p, char* b, size_t n) {
                         return NEXT_FNC(__readlinkat_chk)(dirfd, p, b, n, n);
                       });
}
