// proc_sysvipc.cpp -- /proc/sysvipc/{shm,sem,msg} as the program should
// see them: the id column in its (virtual) ids, the pid columns in
// virtual pids, everything else as the kernel wrote it.
//
// open()/fopen() of exactly one of those three paths (absolute, read
// only) returns a memfd holding the rewritten listing, read from the
// kernel's file at that moment.  Any other path costs one comparison of
// its first bytes.  Not covered: openat() relative to a directory fd of
// /proc, or a path spelled another way (/proc/self/../sysvipc/shm).
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "dmtcp/raw_syscall.h"
#include "msg.h"
#include "sem.h"
#include "shm.h"
#include "sysvipc.h"

namespace sv = dmtcp::sysvipc;

namespace {

enum class Listing { kNone, kShm, kSem, kMsg };

Listing listing_of(const char* path, int flags) {
  if (dmtcp::raw::unreadable_user_pointer(path) || path[0] != '/' ||
      strncmp(path, "/proc/sysvipc/", 14) != 0 ||
      (flags & O_ACCMODE) != O_RDONLY) {
    return Listing::kNone;
  }
  const char* name = path + 14;
  if (strcmp(name, "shm") == 0) {
    return Listing::kShm;
  }
  if (strcmp(name, "sem") == 0) {
    return Listing::kSem;
  }
  if (strcmp(name, "msg") == 0) {
    return Listing::kMsg;
  }
  return Listing::kNone;
}

// The columns (0-based) holding an id and pids, per listing:
//   shm: key shmid perms size cpid lpid ...
//   sem: key semid perms nsems ...
//   msg: key msqid perms cbytes qnum lspid lrpid ...
int id_column() { return 1; }
bool is_pid_column(Listing l, int col) {
  return (l == Listing::kShm && (col == 4 || col == 5)) ||
         (l == Listing::kMsg && (col == 5 || col == 6));
}

long translate(Listing l, int col, long value) {
  if (col == id_column()) {
    int real = static_cast<int>(value);
    switch (l) {
      case Listing::kShm:
        return sv::shm::shown_id(real);
      case Listing::kSem:
        return sv::sem::shown_id(real);
      case Listing::kMsg:
        return sv::msg::shown_id(real);
      default:
        return value;
    }
  }
  return dmtcp_real_to_virtual_pid(static_cast<pid_t>(value));
}

// Appends line `in` (without its newline) to out, rewritten.  Each field
// keeps its width where the new number fits.
void rewrite_line(Listing l, const char* in, size_t len, char* out,
                  size_t* out_len, size_t out_cap) {
  size_t i = 0;
  int col = 0;
  auto put = [&](const char* s, size_t n) {
    if (*out_len + n <= out_cap) {
      memcpy(out + *out_len, s, n);
      *out_len += n;
    }
  };
  while (i < len) {
    size_t start = i;
    while (i < len && in[i] == ' ') {
      ++i;
    }
    size_t word = i;
    while (i < len && in[i] != ' ') {
      ++i;
    }
    if (word == i) {
      put(in + start, i - start);
      break;
    }
    if (col == id_column() || is_pid_column(l, col)) {
      char text[32];
      memcpy(text, in + word, i - word < 31 ? i - word : 31);
      text[i - word < 31 ? i - word : 31] = '\0';
      char* end = nullptr;
      long value = strtol(text, &end, 10);
      if (end != text && *end == '\0') {
        char num[32];
        int n = snprintf(num, sizeof num, "%ld", translate(l, col, value));
        size_t width = i - start;  // spaces and digits
        size_t pad = width > static_cast<size_t>(n) + 1
                         ? width - static_cast<size_t>(n)
                         : (start == word ? 0 : 1);
        for (size_t k = 0; k < pad; ++k) {
          put(" ", 1);
        }
        put(num, static_cast<size_t>(n));
        ++col;
        continue;
      }
    }
    put(in + start, i - start);
    ++col;
  }
  put("\n", 1);
}

// A memfd with the rewritten listing, positioned at 0; -1 with errno.
int virtual_listing(Listing l, const char* path, int flags) {
  int src = static_cast<int>(sv::sys(SYS_openat, AT_FDCWD,
                                     reinterpret_cast<long>(path),
                                     O_RDONLY | O_CLOEXEC));
  if (src < 0) {
    errno = -src;
    return -1;
  }
  size_t cap = 1 << 16, have = 0;
  char* raw = static_cast<char*>(malloc(cap));
  for (;;) {
    if (raw == nullptr) {
      sv::sys(SYS_close, src);
      errno = ENOMEM;
      return -1;
    }
    long n = sv::sys(SYS_read, src, reinterpret_cast<long>(raw + have),
                     static_cast<long>(cap - have));
    if (n <= 0) {
      break;
    }
    have += static_cast<size_t>(n);
    if (have == cap) {
      cap *= 2;
      raw = static_cast<char*>(realloc(raw, cap));
    }
  }
  sv::sys(SYS_close, src);
  size_t out_cap = have * 2 + 64, out_len = 0;
  char* out = static_cast<char*>(malloc(out_cap));
  if (out == nullptr) {
    free(raw);
    errno = ENOMEM;
    return -1;
  }
  size_t at = 0;
  bool header = true;
  while (at < have) {
    const char* nl = static_cast<const char*>(memchr(raw + at, '\n', have - at));
    size_t len = nl != nullptr ? static_cast<size_t>(nl - (raw + at)) : have - at;
    if (header) {
      memcpy(out + out_len, raw + at, len);
      out_len += len;
      out[out_len++] = '\n';
      header = false;
    } else {
      rewrite_line(l, raw + at, len, out, &out_len, out_cap);
    }
    at += len + 1;
  }
  free(raw);
  int fd = memfd_create("sysvipc", (flags & O_CLOEXEC) != 0 ? MFD_CLOEXEC : 0);
  if (fd < 0) {
    free(out);
    return -1;
  }
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(fd, out + done, out_len - done);
    if (n <= 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  free(out);
  lseek(fd, 0, SEEK_SET);
  return fd;
}

bool needs_mode(int flags) {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

}  // namespace

#define DMTCP_SYSVIPC_OPEN(name, params, args, path_expr)   \
  DMTCP_SYSVIPC_EXPORT int name params {                    \
    mode_t mode = 0;                                        \
    if (needs_mode(flags)) {                                \
      va_list ap;                                           \
      va_start(ap, flags);                                  \
      mode = static_cast<mode_t>(va_arg(ap, int));          \
      va_end(ap);                                           \
    }                                                       \
    Listing l = sv::g_active ? listing_of(path_expr, flags) \
                             : Listing::kNone;              \
    if (l != Listing::kNone) {                              \
      return virtual_listing(l, path_expr, flags);          \
    }                                                       \
    return NEXT_FNC(name) args;                             \
  }

DMTCP_SYSVIPC_OPEN(open, (const char* path, int flags, ...),
                   (path, flags, mode), path)
DMTCP_SYSVIPC_OPEN(open64, (const char* path, int flags, ...),
                   (path, flags, mode), path)
DMTCP_SYSVIPC_OPEN(openat, (int dirfd, const char* path, int flags, ...),
                   (dirfd, path, flags, mode), path)
DMTCP_SYSVIPC_OPEN(openat64, (int dirfd, const char* path, int flags, ...),
                   (dirfd, path, flags, mode), path)

namespace {

FILE* virtual_fopen(const char* path, const char* mode) {
  if (!sv::g_active || mode == nullptr || mode[0] != 'r' ||
      strchr(mode, '+') != nullptr) {
    return nullptr;
  }
  Listing l = listing_of(path, O_RDONLY);
  if (l == Listing::kNone) {
    return nullptr;
  }
  int fd = virtual_listing(l, path, strchr(mode, 'e') != nullptr ? O_CLOEXEC : 0);
  if (fd < 0) {
    return reinterpret_cast<FILE*>(-1);
  }
  FILE* f = fdopen(fd, "r");
  if (f == nullptr) {
    close(fd);
    return reinterpret_cast<FILE*>(-1);
  }
  return f;
}

}  // namespace

DMTCP_SYSVIPC_EXPORT FILE* fopen(const char* path, const char* mode) {
  FILE* f = virtual_fopen(path, mode);
  if (f == reinterpret_cast<FILE*>(-1)) {
    return nullptr;
  }
  return f != nullptr ? f : NEXT_FNC(fopen)(path, mode);
}

DMTCP_SYSVIPC_EXPORT FILE* fopen64(const char* path, const char* mode) {
  FILE* f = virtual_fopen(path, mode);
  if (f == reinterpret_cast<FILE*>(-1)) {
    return nullptr;
  }
  return f != nullptr ? f : NEXT_FNC(fopen64)(path, mode);
}
