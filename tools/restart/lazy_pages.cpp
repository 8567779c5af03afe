// Lazy restart: the helper process that fills lazy regions from the image.
// See lazy_pages.h and docs/lazy-restart.md.
//
// Algorithm:
//  1. Before the point of no return (restore_in_place): the reader checks
//     the whole image as for a plain restart, but passes over the chunks
//     of lazy regions and records them here (file offset, target address,
//     checksum).  The userfaultfd is opened in this process, whose memory
//     the restored program will have (the restorer keeps the mm).
//  2. start_helper() forks twice: the grandchild is the helper.  It keeps
//     the userfaultfd, the image, the write end of the residency pipe and
//     stderr, and waits for the restorer's byte on the ready pipe (EOF:
//     the restore failed, nothing to do).
//  3. The restorer maps the lazy regions empty, registers the chunk
//     ranges for missing-page faults and writes the byte.
//  4. The helper serves faults in one thread: the page's chunk is read
//     whole, decompressed, checked against raw_checksum and copied in
//     with UFFDIO_COPY (which wakes the faulting threads); a page no chunk
//     holds gets UFFDIO_ZEROPAGE.  Meanwhile background threads read every
//     other chunk in file order the same way.  Copies skip pages already
//     there (EEXIST), so the two never conflict.
//  5. When every chunk is in, the helper unregisters the ranges, writes
//     '1' to the residency pipe and exits; the runtime reads it before a
//     fork or a checkpoint (core/runtime/lazy_restart.cpp).  The helper
//     also exits when the restored process exits or execs (its memory is
//     gone: ESRCH).  A chunk that fails its checksum kills the restored
//     process with one line.
#include "tools/restart/lazy_pages.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

namespace dmtcp::restart::lazy {
namespace {

using image::kPageSize;

// More runs than this in one region: register its whole span instead
// (each registered range may split a mapping in two).
constexpr size_t kMaxRunsPerRegion = 64;
constexpr unsigned kMaxBackgroundThreads = 4;

bool on(const char* name) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' && strcmp(v, "0") != 0;
}

int move_fd(int fd, int base, int end) {
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, base);
  if (moved < 0 || moved >= end) {
    if (moved >= 0) {
      close(moved);
    }
    return -1;
  }
  close(fd);
  return moved;
}

// The helper's state: shared by its fault thread and background threads.
class Helper {
 public:
  Helper(const std::vector<LazyPages::Chunk>& chunks,
         const std::vector<restorer::Range>& ranges, std::string path,
         int uffd, int image_fd, pid_t target)
      : chunks_(chunks),
        ranges_(ranges),
        path_(std::move(path)),
        uffd_(uffd),
        image_fd_(image_fd),
        target_(target),
        state_(new std::atomic<uint8_t>[chunks.size()]()) {}

  // Serves faults until the target's memory is gone; never returns.
  [[noreturn]] void serve_faults(int pidfd);
  // Copies every chunk not yet in; returns when none is left.
  void fill_background();
  // Every chunk is in: registration off (the ranges become plain memory).
  void unregister_all() {
    for (const restorer::Range& r : ranges_) {
      struct uffdio_range range = {r.start, r.end - r.start};
      ioctl(uffd_, UFFDIO_UNREGISTER, &range);
    }
  }

 private:
  struct Buffers {
    std::unique_ptr<uint8_t[]> raw{new uint8_t[image::kMaxChunkBytes]};
    std::vector<uint8_t> frame;
    ZSTD_DCtx* dctx = nullptr;
    ~Buffers() { ZSTD_freeDCtx(dctx); }
  };
  enum State : uint8_t { kTodo = 0, kDone = 2 };

  void bring_in(size_t i, Buffers* b);
  void load(const LazyPages::Chunk& c, Buffers* b);
  void copy(const LazyPages::Chunk& c, const uint8_t* data);
  void zero_page(uint64_t page);
  void wake(uint64_t page) {
    struct uffdio_range range = {page, kPageSize};
    ioctl(uffd_, UFFDIO_WAKE, &range);
  }
  [[noreturn]] void damaged(const LazyPages::Chunk& c, const char* what);
  ssize_t find(uint64_t addr) const;

  const std::vector<LazyPages::Chunk>& chunks_;
  const std::vector<restorer::Range>& ranges_;
  const std::string path_;
  const int uffd_;
  const int image_fd_;
  const pid_t target_;
  std::unique_ptr<std::atomic<uint8_t>[]> state_;
  std::atomic<size_t> next_{0};  // background: next chunk to look at
};

// The target's memory is gone (it exited or exec'd): nothing left to do.
[[noreturn]] void target_gone() {
  _exit(0);
}

[[noreturn]] void Helper::damaged(const LazyPages::Chunk& c, const char* what) {
  fprintf(stderr,
          "dmtcp_restart: %s: chunk at byte %" PRIu64 " (pages at 0x%" PRIx64
          "): %s (corrupt image); the lazily restored process %d was "
          "killed before it could read them\n",
          path_.c_str(), c.at, c.addr, what, static_cast<int>(target_));
  kill(target_, SIGKILL);
  _exit(1);
}

ssize_t Helper::find(uint64_t addr) const {
  auto it = std::upper_bound(
      chunks_.begin(), chunks_.end(), addr,
      [](uint64_t a, const LazyPages::Chunk& c) { return a < c.addr; });
  if (it == chunks_.begin()) {
    return -1;
  }
  --it;
  return addr < it->addr + it->len ? it - chunks_.begin() : -1;
}

void Helper::load(const LazyPages::Chunk& c, Buffers* b) {
  uint64_t payload = c.at + sizeof(image::ChunkHeader);
  uint8_t* into = b->raw.get();
  if (c.zstd) {
    b->frame.resize(c.stored_size);
    into = b->frame.data();
  }
  for (uint64_t done = 0; done < c.stored_size;) {
    ssize_t r = pread(image_fd_, into + done, c.stored_size - done,
                      static_cast<off_t>(payload + done));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      damaged(c, r == 0 ? "the file ends inside it" : strerror(errno));
    }
    done += static_cast<uint64_t>(r);
  }
  if (c.zstd) {
    if (b->dctx == nullptr && (b->dctx = ZSTD_createDCtx()) == nullptr) {
      damaged(c, "out of memory for the decompressor");
    }
    size_t n = ZSTD_decompressDCtx(b->dctx, b->raw.get(), c.len,
                                   b->frame.data(), c.stored_size);
    if (ZSTD_isError(n) || n != c.len) {
      damaged(c, "compressed data does not decode");
    }
  }
  if (XXH3_64bits(b->raw.get(), c.len) != c.raw_checksum) {
    damaged(c, "data checksum mismatch");
  }
}

// UFFDIO_COPY of the whole chunk, passing over pages already there (a
// fault and the background may race for a chunk) and pages whose mapping
// the program has unmapped or replaced since (ENOENT).  A copy must lie in
// one mapping (else ENOENT for all of it): a chunk can span two when the
// kernel did not merge neighbours, so after an ENOENT the rest of the
// chunk goes a page at a time.
void Helper::copy(const LazyPages::Chunk& c, const uint8_t* data) {
  uint64_t off = 0;
  bool by_page = false;
  while (off < c.len) {
    struct uffdio_copy cp = {};
    cp.dst = c.addr + off;
    cp.src = reinterpret_cast<uint64_t>(data + off);
    cp.len = by_page ? kPageSize : c.len - off;
    cp.mode = 0;
    if (ioctl(uffd_, UFFDIO_COPY, &cp) == 0) {
      off += cp.len;
      continue;
    }
    int e = errno;
    if (cp.copy > 0) {
      off += static_cast<uint64_t>(cp.copy);
      continue;
    }
    if (e == ENOENT && !by_page) {
      by_page = true;
    } else if (e == EEXIST || e == ENOENT) {
      off += kPageSize;
    } else if (e == ESRCH) {
      target_gone();
    } else if (e != EAGAIN && e != EINTR) {
      fprintf(stderr,
              "dmtcp_restart: lazy restart: copying pages into process %d "
              "failed: %s; it was killed\n",
              static_cast<int>(target_), strerror(e));
      kill(target_, SIGKILL);
      _exit(1);
    }
  }
}

void Helper::zero_page(uint64_t page) {
  struct uffdio_zeropage z = {};
  z.range.start = page;
  z.range.len = kPageSize;
  z.mode = 0;
  if (ioctl(uffd_, UFFDIO_ZEROPAGE, &z) != 0) {
    if (errno == ESRCH) {
      target_gone();
    }
    wake(page);  // already there (or gone): whoever waits retries
  }
}

void Helper::bring_in(size_t i, Buffers* b) {
  if (state_[i].load(std::memory_order_acquire) == kDone) {
    return;
  }
  load(chunks_[i], b);
  copy(chunks_[i], b->raw.get());
  state_[i].store(kDone, std::memory_order_release);
}

void Helper::serve_faults(int pidfd) {
  Buffers b;
  for (;;) {
    struct pollfd p[2] = {{uffd_, POLLIN, 0}, {pidfd, POLLIN, 0}};
    int n = poll(p, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 100);
    if (n < 0 && errno != EINTR) {
      target_gone();
    }
    if ((pidfd >= 0 && p[1].revents != 0) ||
        (pidfd < 0 && kill(target_, 0) != 0 && errno == ESRCH)) {
      target_gone();
    }
    struct uffd_msg msgs[16];
    ssize_t got = read(uffd_, msgs, sizeof msgs);
    if (got <= 0) {
      continue;  // EAGAIN: another wakeup took it
    }
    for (size_t k = 0; k < static_cast<size_t>(got) / sizeof msgs[0]; ++k) {
      if (msgs[k].event != UFFD_EVENT_PAGEFAULT) {
        continue;
      }
      uint64_t page = msgs[k].arg.pagefault.address & ~(kPageSize - 1);
      ssize_t i = find(page);
      if (i < 0 || state_[i].load(std::memory_order_acquire) == kDone) {
        // A hole between chunks, or a page the program dropped
        // (MADV_DONTNEED) after its chunk came in: zero, as without us.
        // If the page is there (a race with a copy), this only wakes.
        zero_page(page);
        continue;
      }
      bring_in(static_cast<size_t>(i), &b);
      wake(page);
    }
  }
}

void Helper::fill_background() {
  Buffers b;
  for (;;) {
    size_t i = next_.fetch_add(1);
    if (i >= chunks_.size()) {
      return;
    }
    bring_in(i, &b);
  }
}

}  // namespace

bool requested() {
  return on("DMTCP_RESTART_LAZY");
}

bool region_is_lazy(const image::RegionEntry& r) {
  constexpr uint32_t kNotPlain =
      image::kRegionNoData | image::kRegionFile | image::kRegionShared |
      image::kRegionSharedFile | image::kRegionSharedObject |
      image::kRegionFromFile | image::kRegionStack | image::kRegionHeap |
      image::kRegionGrowsDown;
  constexpr uint32_t kRw = 0x1 | 0x2;  // PROT_READ | PROT_WRITE
  return (r.flags & kNotPlain) == 0 && (r.flags & image::kRegionPrivate) != 0 &&
         (r.prot & kRw) == kRw && r.end - r.start >= kMinBytes;
}

LazyPages::~LazyPages() {
  for (int fd : {uffd_, ready_r_, ready_w_, resident_r_, resident_w_}) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

bool LazyPages::open(std::string* error) {
  // Kernel faults too where allowed (vm.unprivileged_userfaultfd=1 or
  // CAP_SYS_PTRACE), else user faults only (docs/lazy-restart.md).
  uffd_ = static_cast<int>(
      syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (uffd_ < 0 && (errno == EPERM || errno == EACCES)) {
    uffd_ = static_cast<int>(syscall(SYS_userfaultfd,
                                     O_CLOEXEC | O_NONBLOCK |
                                         UFFD_USER_MODE_ONLY));
    user_mode_only_ = true;
  }
  if (uffd_ < 0) {
    *error = std::string("lazy restart: userfaultfd: ") + strerror(errno);
    return false;
  }
  struct uffdio_api api = {};
  api.api = UFFD_API;
  api.features = 0;
  if (ioctl(uffd_, UFFDIO_API, &api) != 0) {
    *error = std::string("lazy restart: UFFDIO_API: ") + strerror(errno);
    return false;
  }
  int ready[2];
  int resident[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    *error = std::string("lazy restart: pipe: ") + strerror(errno);
    return false;
  }
  ready_r_ = ready[0];
  ready_w_ = ready[1];
  if (pipe2(resident, O_CLOEXEC) != 0) {
    *error = std::string("lazy restart: pipe: ") + strerror(errno);
    return false;
  }
  resident_r_ = resident[0];
  resident_w_ = resident[1];
  return true;
}

void LazyPages::add(const image::ImageReader::ChunkInfo& chunk,
                    uint64_t region_start) {
  chunks_.push_back({region_start + chunk.page_offset * kPageSize,
                     uint64_t{chunk.page_count} * kPageSize, chunk.at,
                     chunk.stored_size, chunk.raw_checksum, chunk.region,
                     chunk.encoding == image::Encoding::kZstd});
}

const std::vector<restorer::Range>& LazyPages::ranges() {
  ranges_.clear();
  for (size_t i = 0; i < chunks_.size();) {
    size_t j = i;
    std::vector<restorer::Range> runs;
    for (; j < chunks_.size() && chunks_[j].region == chunks_[i].region; ++j) {
      const Chunk& c = chunks_[j];
      if (!runs.empty() && runs.back().end == c.addr) {
        runs.back().end = c.addr + c.len;
      } else {
        runs.push_back({c.addr, c.addr + c.len});
      }
    }
    if (runs.size() > kMaxRunsPerRegion) {
      runs = {{runs.front().start, runs.back().end}};
    }
    ranges_.insert(ranges_.end(), runs.begin(), runs.end());
    i = j;
  }
  return ranges_;
}

bool LazyPages::move_fds(int base, int end, std::string* error) {
  for (int* fd : {&uffd_, &ready_w_, &resident_r_}) {
    *fd = move_fd(*fd, base, end);
    if (*fd < 0) {
      *error = "lazy restart: no room for its descriptors in the protected "
               "range";
      return false;
    }
  }
  return true;
}

bool LazyPages::start_helper(const image::ImageReader& reader,
                             std::string* error) {
  pid_t target = getpid();
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, target, 0));
  pid_t middle = fork();
  if (middle < 0) {
    *error = std::string("lazy restart: fork: ") + strerror(errno);
    if (pidfd >= 0) {
      close(pidfd);
    }
    return false;
  }
  if (middle > 0) {
    if (pidfd >= 0) {
      close(pidfd);
    }
    int status = 0;
    while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      *error = "lazy restart: the helper process could not be started";
      return false;
    }
    close(ready_r_);
    ready_r_ = -1;
    close(resident_w_);
    resident_w_ = -1;
    return true;
  }
  // The middle process: fork the helper and go, so that the helper is
  // nobody's child in the restored computation.
  if (fork() != 0) {
    _exit(0);
  }
  // The helper.  Only what it needs stays open: stderr for its one line,
  // the image, the userfaultfd, the two pipe ends of its own, the pidfd.
  setsid();
  prctl(PR_SET_NAME, "dmtcp_lazy");
  int keep[] = {2, reader.fd(), uffd_, ready_r_, resident_w_, pidfd};
  std::sort(std::begin(keep), std::end(keep));
  int from = 0;
  for (int fd : keep) {
    if (fd < 0) {
      continue;
    }
    if (fd > from) {
      syscall(SYS_close_range, static_cast<unsigned>(from),
              static_cast<unsigned>(fd - 1), 0u);
    }
    from = fd + 1;
  }
  syscall(SYS_close_range, static_cast<unsigned>(from), ~0u, 0u);
  char byte = 0;
  ssize_t r;
  while ((r = read(ready_r_, &byte, 1)) < 0 && errno == EINTR) {
  }
  if (r != 1) {
    _exit(0);  // the restore failed before registering: nothing to serve
  }
  close(ready_r_);
  // ranges_ is this process's copy: the restorer registered the same.
  Helper helper(chunks_, ranges_, reader.path(), uffd_, reader.fd(), target);
  std::thread faults([&] { helper.serve_faults(pidfd); });
  faults.detach();
  cpu_set_t cpus;
  unsigned n = sched_getaffinity(0, sizeof cpus, &cpus) == 0
                   ? static_cast<unsigned>(CPU_COUNT(&cpus))
                   : 1;
  n = std::clamp(n, 1u, kMaxBackgroundThreads);
  std::vector<std::thread> fillers;
  for (unsigned i = 1; i < n; ++i) {
    fillers.emplace_back([&] { helper.fill_background(); });
  }
  helper.fill_background();
  for (std::thread& t : fillers) {
    t.join();
  }
  helper.unregister_all();
  char one = '1';
  while (write(resident_w_, &one, 1) < 0 && errno == EINTR) {
  }
  _exit(0);
}

}  // namespace dmtcp::restart::lazy
