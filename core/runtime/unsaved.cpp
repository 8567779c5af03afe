// unsaved.cpp -- what no loaded plugin saves is named, and its fd number
// held after restart (dmtcp/claims.h, docs/placeholders.md).
//
// Algorithm (C = the checkpoint thread):
//  Checkpoint
//  1. Before THREADS_SUSPEND: C forgets last round's per-object claims.
//  2. THREADS_SUSPEND .. WRITE_CKPT: plugins claim what they will save
//     (per object, or per kind at any time).
//  3. After every WRITE_CKPT hook, before the image is written: C lists
//     /proc/self/fd (readlink, F_GETFD), /proc/self/timers and the
//     "/SYSV..." lines of /proc/self/maps, drops the protected fds and
//     everything claimed, records the unclaimed fds (this memory is in the
//     image) and names everything unclaimed in one warning line.  An fd
//     that is still the placeholder of the last restart keeps the record
//     of what it stands for (one inherited over exec: its memfd's name).
//  Restart
//  4. Before RESTART is fired: for each recorded fd whose number is free
//     (dmtcp_restart's 0-2 are not), a sealed empty memfd goes to that
//     number with the old close-on-exec flag: reads give end of file,
//     writes fail with EPERM, no signal.  Plugins restore after this, so
//     none of their temporary fds can land on such a number either.
#include "runtime/unsaved.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "dmtcp/claims.h"
#include "dmtcp/fd_share.h"
#include "dmtcp/plugin.h"
#include "dmtcp/raw_syscall.h"
#include "runtime/threads.h"

namespace dmtcp::rt {
bool in_round();
}

namespace dmtcp::unsaved {
namespace {

// ---- claims --------------------------------------------------------------

// Per-object claims of this round: written only by the checkpoint thread
// (every other thread is frozen from THREADS_SUSPEND on), so no lock.
// Open between begin_round() and find_and_warn().
bool g_claims_open = false;

// A growable array of ints (fd bitmap words, timer ids, shm ids) in
// dmtcp_alloc memory.
template <class T>
struct Grow {
  T* data = nullptr;
  size_t size = 0;
  size_t cap = 0;

  bool reserve(size_t n) {
    if (n <= cap) {
      return true;
    }
    size_t c = cap == 0 ? 64 : cap;
    while (c < n) {
      c *= 2;
    }
    T* d = static_cast<T*>(dmtcp_alloc(c * sizeof(T)));
    if (d == nullptr) {
      return false;
    }
    memset(static_cast<void*>(d), 0, c * sizeof(T));
    if (size != 0) {
      memcpy(static_cast<void*>(d), data, size * sizeof(T));
    }
    dmtcp_free(data);
    data = d;
    cap = c;
    return true;
  }
  bool push(const T& v) {
    if (!reserve(size + 1)) {
      return false;
    }
    data[size++] = v;
    return true;
  }
  bool contains(const T& v) const {
    for (size_t i = 0; i < size; ++i) {
      if (data[i] == v) {
        return true;
      }
    }
    return false;
  }
};

Grow<uint64_t> g_fd_bits;  // bit fd: claimed this round
Grow<int> g_timer_claims;
Grow<int> g_shm_claims;

// Kind claims, for good: append-only, lock-free (any thread may add one,
// even while another is frozen half-way through adding its own).
constexpr int kMaxKinds = 64;
constexpr size_t kKindLen = 64;
struct KindClaim {
  std::atomic<bool> ready{false};
  char prefix[kKindLen];
};
KindClaim g_kinds[kMaxKinds];
std::atomic<int> g_kind_count{0};

bool kind_claimed(const char* text) {
  int n = g_kind_count.load(std::memory_order_acquire);
  for (int i = 0; i < n && i < kMaxKinds; ++i) {
    const KindClaim& k = g_kinds[i];
    if (k.ready.load(std::memory_order_acquire) &&
        strncmp(text, k.prefix, strlen(k.prefix)) == 0) {
      return true;
    }
  }
  return false;
}

bool fd_claimed(int fd) {
  size_t word = static_cast<size_t>(fd) / 64;
  return word < g_fd_bits.size &&
         (g_fd_bits.data[word] >> (static_cast<unsigned>(fd) % 64) & 1) != 0;
}

bool may_claim_object(long id) {
  if (id < 0 || !g_claims_open || !threads::is_internal_thread()) {
    errno = EINVAL;
    return false;
  }
  return true;
}

// ---- what would save it ----------------------------------------------------

struct Rule {
  const char* prefix;
  const char* plugin;
};
// First match wins.  Files, directories, devices, memfds ("/...") and
// pipes are the file plugin's.
constexpr Rule kRules[] = {
    {"socket:", "socket"},
    {"anon_inode:[eventpoll]", "event"},
    {"anon_inode:[eventfd]", "event"},
    {"anon_inode:[signalfd]", "event"},
    {"anon_inode:inotify", "event"},
    {"anon_inode:[timerfd]", "timer"},
    {"anon_inode:[pidfd]", "pid"},
    {"pidfd:", "pid"},
    {"pipe:", "file"},
    {"/", "file"},
};

const char* plugin_for(const char* link) {
  for (const Rule& r : kRules) {
    if (strncmp(link, r.prefix, strlen(r.prefix)) == 0) {
      return r.plugin;
    }
  }
  return nullptr;  // no plugin of ours would (io_uring, userfaultfd, ...)
}

// ---- records ---------------------------------------------------------------

constexpr size_t kWhatLen = 96;
struct Record {
  int fd;
  int fd_flags;         // F_GETFD at the checkpoint (FD_CLOEXEC)
  uint64_t holder_dev;  // the placeholder at fd since the last restart;
  uint64_t holder_ino;  // 0/0: none (the number was not free)
  const char* plugin;   // kRules' string (this library's), or nullptr
  char what[kWhatLen];  // readlink at the first checkpoint, cut
};

// Swapped at each checkpoint: the new list is built while the old one
// still says which fds are placeholders.
Grow<Record> g_records;
Grow<Record> g_next;

const Record* placeholder_record(int fd) {
  for (size_t i = 0; i < g_records.size; ++i) {
    const Record& r = g_records.data[i];
    if (r.fd != fd || r.holder_ino == 0) {
      continue;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && r.holder_ino == st.st_ino &&
        r.holder_dev == st.st_dev) {
      return &r;
    }
    return nullptr;  // closed or replaced since
  }
  return nullptr;
}

constexpr const char kHolderName[] = "dmtcp-unsaved:";
constexpr const char kMemfdLink[] = "/memfd:dmtcp-unsaved:";
constexpr const char kDeleted[] = " (deleted)";

// A placeholder this process did not make itself: inherited over exec
// (no record survives exec).  Known by its memfd name and its seals.
// On success `what` is what it stands for.
bool inherited_placeholder(int fd, const char* link, char* what, size_t cap) {
  if (strncmp(link, kMemfdLink, sizeof kMemfdLink - 1) != 0) {
    return false;
  }
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0 ||
      (seals & (F_SEAL_WRITE | F_SEAL_GROW)) != (F_SEAL_WRITE | F_SEAL_GROW)) {
    return false;
  }
  const char* start = link + sizeof kMemfdLink - 1;
  size_t n = strlen(start);
  size_t suffix = sizeof kDeleted - 1;
  if (n >= suffix && strcmp(start + n - suffix, kDeleted) == 0) {
    n -= suffix;
  }
  n = n < cap - 1 ? n : cap - 1;
  memcpy(what, start, n);
  what[n] = '\0';
  return true;
}

void copy_cut(char* dst, size_t cap, const char* src) {
  size_t n = strnlen(src, cap - 1);
  memcpy(dst, src, n);
  dst[n] = '\0';
}

// ---- the warning line ------------------------------------------------------

// One line, at most what log.h's buffer holds: entries until it is nearly
// full, then how many more.
class Line {
 public:
  void add(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    ++count_;
    if (full_) {
      ++left_out_;
      return;
    }
    char entry[kWhatLen + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(entry, sizeof entry, fmt, ap);
    va_end(ap);
    size_t n = strlen(entry);
    if (used_ + n + 2 > kBudget) {
      full_ = true;
      ++left_out_;
      return;
    }
    if (used_ != 0) {
      memcpy(buf_ + used_, ", ", 2);
      used_ += 2;
    }
    memcpy(buf_ + used_, entry, n);
    used_ += n;
    buf_[used_] = '\0';
  }
  int count() const { return count_; }
  // fds: how many of the entries are fds; low: whether one is 0, 1 or 2.
  void emit(int fds, bool low) {
    if (count_ == 0) {
      return;
    }
    char more[48] = "";
    if (left_out_ != 0) {
      snprintf(more, sizeof more, " and %d more", left_out_);
    }
    const char* after = "";
    if (fds != 0) {
      after = low ? "; after restart fds 0-2 are dmtcp_restart's, other "
                    "such fds read end of file and fail writes"
                  : "; after restart such fds read end of file and fail "
                    "writes";
    }
    DMTCP_WARN("not saved, no loaded plugin handles %s: %s%s%s",
               count_ == 1 ? "it" : "them", buf_, more, after);
  }

 private:
  static constexpr size_t kBudget = 760;
  char buf_[kBudget + 1] = "";
  size_t used_ = 0;
  int count_ = 0;
  int left_out_ = 0;
  bool full_ = false;
};

const char* named(const char* plugin) {
  return plugin != nullptr ? plugin : "no";
}

// ---- the scans -------------------------------------------------------------

void scan_fds(Line* line) {
  g_next.size = 0;
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    DMTCP_WARN("/proc/self/fd: %s; unsaved fds are not looked for",
               strerror(errno));
    return;
  }
  char buf[4096];
  long n;
  while ((n = raw::syscall3(SYS_getdents64, dir, reinterpret_cast<long>(buf),
                            sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      auto* e = reinterpret_cast<struct dirent64*>(buf + off);
      off += e->d_reclen;
      if (e->d_name[0] < '0' || e->d_name[0] > '9') {
        continue;
      }
      int fd = atoi(e->d_name);
      if (fd == dir || dmtcp_is_protected_fd(fd) || fd_claimed(fd)) {
        continue;
      }
      Record r{};
      r.fd = fd;
      r.fd_flags = fcntl(fd, F_GETFD);
      if (r.fd_flags < 0) {
        continue;  // not open after all
      }
      if (const Record* old = placeholder_record(fd)) {
        // Still the placeholder: it stands for what it stood for.
        memcpy(r.what, old->what, sizeof r.what);
        r.plugin = old->plugin;
        r.holder_dev = old->holder_dev;
        r.holder_ino = old->holder_ino;
      } else {
        char link[512];
        if (!share::read_fd_link(fd, link, sizeof link)) {
          continue;
        }
        if (inherited_placeholder(fd, link, r.what, sizeof r.what)) {
          struct stat st;
          if (fstat(fd, &st) == 0) {
            r.holder_dev = st.st_dev;
            r.holder_ino = st.st_ino;
          }
        } else if (kind_claimed(link)) {
          continue;
        } else {
          copy_cut(r.what, sizeof r.what, link);
        }
        r.plugin = plugin_for(r.what);
      }
      if (!g_next.push(r)) {
        DMTCP_WARN("out of memory recording unsaved fd %d", fd);
      }
      line->add("fd %d %s (%s plugin)", fd, r.what, named(r.plugin));
    }
  }
  close(dir);
  Grow<Record> old = g_records;
  g_records = g_next;
  g_next = old;
}

// Calls f(line) for each line of a /proc file, without malloc.  Lines
// longer than the buffer are cut.
template <class F>
void for_each_line(const char* path, F&& f) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return;  // no /proc/self/timers without CONFIG_CHECKPOINT_RESTORE
  }
  char buf[8192];
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    bool end = n <= 0;
    have += n > 0 ? static_cast<size_t>(n) : 0;
    size_t start = 0;
    for (size_t i = 0; i < have; ++i) {
      if (buf[i] == '\n') {
        buf[i] = '\0';
        f(buf + start);
        start = i + 1;
      }
    }
    if (start == 0 && have == sizeof buf - 1) {
      buf[have] = '\0';  // a line longer than the buffer: cut
      f(buf);
      start = have;
    }
    memmove(buf, buf + start, have - start);
    have -= start;
    if (end) {
      break;
    }
  }
  if (have != 0) {
    buf[have] = '\0';
    f(buf);
  }
  close(fd);
}

void scan_timers(Line* line) {
  if (kind_claimed(DMTCP_CLAIM_ALL_POSIX_TIMERS)) {
    return;
  }
  for_each_line("/proc/self/timers", [&](const char* l) {
    if (strncmp(l, "ID: ", 4) != 0) {
      return;
    }
    int id = atoi(l + 4);
    if (!g_timer_claims.contains(id)) {
      line->add("POSIX timer %d (timer plugin)", id);
    }
  });
}

void scan_sysv_shm(Line* line) {
  if (kind_claimed(DMTCP_CLAIM_ALL_SYSV_SHM)) {
    return;
  }
  int seen[64];
  int nseen = 0;
  for_each_line("/proc/self/maps", [&](const char* l) {
    // start-end perms offset dev inode path: the inode of a SysV
    // segment's mapping is its shmid.
    const char* path = strstr(l, " /SYSV");
    if (path == nullptr) {
      return;
    }
    char* p = nullptr;
    unsigned long start = strtoul(l, &p, 16);
    for (int field = 0; field < 4 && p != nullptr; ++field) {
      p = strchr(p + 1, ' ');  // past range, perms, offset, dev
    }
    if (p == nullptr || p >= path) {
      return;
    }
    int id = static_cast<int>(strtol(p + 1, nullptr, 10));
    for (int i = 0; i < nseen; ++i) {
      if (seen[i] == id) {
        return;  // split by mprotect, or attached twice
      }
    }
    if (nseen < 64) {
      seen[nseen++] = id;
    }
    if (!g_shm_claims.contains(id)) {
      line->add("SysV shm %d at %#lx (sysvipc plugin)", id, start);
    }
  });
}

// A descriptor that reads end of file and fails writes with EPERM, and
// says what it stands for in /proc/<pid>/fd.  Where memfds are refused
// (an old kernel, a seccomp filter): a pipe's read end with its writer
// closed (end of file too; writes fail with EBADF).
int make_placeholder(const char* what) {
  char name[200];
  snprintf(name, sizeof name, "%s%s", kHolderName, what);
  int fd = memfd_create(name, MFD_ALLOW_SEALING | MFD_CLOEXEC);
  if (fd >= 0) {
    fcntl(fd, F_ADD_SEALS,
          F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    return fd;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    return -1;
  }
  close(p[1]);
  return p[0];
}

}  // namespace

bool sysv_shm_claimed(int kernel_shmid) {
  return g_shm_claims.contains(kernel_shmid);
}

void begin_round() {
  if (g_fd_bits.data != nullptr) {
    memset(g_fd_bits.data, 0, g_fd_bits.size * sizeof(uint64_t));
  }
  g_fd_bits.size = 0;
  g_timer_claims.size = 0;
  g_shm_claims.size = 0;
  g_claims_open = true;
}

void find_and_warn() {
  g_claims_open = false;
  Line line;
  scan_fds(&line);
  int fds = line.count();
  bool low = g_records.size != 0 && g_records.data[0].fd <= 2;
  scan_timers(&line);
  scan_sysv_shm(&line);
  line.emit(fds, low);
}

void hold_numbers() {
  for (size_t i = 0; i < g_records.size; ++i) {
    Record& r = g_records.data[i];
    r.holder_dev = 0;
    r.holder_ino = 0;
    if (fcntl(r.fd, F_GETFD) >= 0) {
      continue;  // dmtcp_restart's own (0-2): it stands for the outside
    }
    int tmp = make_placeholder(r.what);
    if (tmp < 0) {
      DMTCP_WARN("fd %d (%s): no placeholder: %s", r.fd, r.what,
                 strerror(errno));
      continue;
    }
    int cloexec = (r.fd_flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0;
    if (tmp != r.fd) {
      if (dup3(tmp, r.fd, cloexec) < 0) {
        DMTCP_WARN("fd %d (%s): no placeholder: %s", r.fd, r.what,
                   strerror(errno));
        close(tmp);
        continue;
      }
      close(tmp);
    } else if (cloexec == 0) {
      fcntl(r.fd, F_SETFD, 0);
    }
    struct stat st;
    if (fstat(r.fd, &st) == 0) {
      r.holder_dev = st.st_dev;
      r.holder_ino = st.st_ino;
    }
  }
}

}  // namespace dmtcp::unsaved

namespace u = dmtcp::unsaved;

#define DMTCP_API __attribute__((visibility("default")))

extern "C" {

DMTCP_API int dmtcp_claim_fd(int fd) {
  if (!u::may_claim_object(fd)) {
    return -1;
  }
  size_t word = static_cast<size_t>(fd) / 64;
  if (!u::g_fd_bits.reserve(word + 1)) {
    errno = ENOMEM;
    return -1;
  }
  if (u::g_fd_bits.size < word + 1) {
    u::g_fd_bits.size = word + 1;
  }
  u::g_fd_bits.data[word] |= uint64_t{1} << (static_cast<unsigned>(fd) % 64);
  return 0;
}

DMTCP_API int dmtcp_claim_posix_timer(int kernel_timer_id) {
  if (!u::may_claim_object(kernel_timer_id)) {
    return -1;
  }
  if (!u::g_timer_claims.push(kernel_timer_id)) {
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

DMTCP_API int dmtcp_claim_sysv_shm(int kernel_shmid) {
  if (!u::may_claim_object(kernel_shmid)) {
    return -1;
  }
  if (!u::g_shm_claims.push(kernel_shmid)) {
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

DMTCP_API int dmtcp_claim_kind(const char* prefix) {
  if (prefix == nullptr || prefix[0] == '\0' || strlen(prefix) >= u::kKindLen) {
    errno = EINVAL;
    return -1;
  }
  int i = u::g_kind_count.fetch_add(1);
  if (i >= u::kMaxKinds) {
    u::g_kind_count.fetch_sub(1);
    errno = ENOSPC;
    return -1;
  }
  strcpy(u::g_kinds[i].prefix, prefix);
  u::g_kinds[i].ready.store(true, std::memory_order_release);
  return 0;
}

DMTCP_API int dmtcp_is_placeholder_fd(int fd) {
  if (fd < 0) {
    return 0;
  }
  if (u::placeholder_record(fd) != nullptr) {
    return 1;
  }
  char link[512];
  char what[u::kWhatLen];
  return dmtcp::share::read_fd_link(fd, link, sizeof link) &&
                 u::inherited_placeholder(fd, link, what, sizeof what)
             ? 1
             : 0;
}

}  // extern "C"
