// Algorithm:
//  1. Read /proc/self/maps into a scratch buffer (mmap'd once: no malloc).
//  2. One RegionEntry per mapping.  [vdso], [vvar], [vvar_vclock] are only
//     recorded in the header (restart moves the new kernel's copies there);
//     [vsyscall] is skipped.  Our own scratch buffers and regions without
//     read permission whose pages were never touched are reserve-only
//     (kRegionNoData): restart maps them empty with their protection.
//  3. Which pages are stored (PageRule): for private anonymous memory
//     /proc/self/pagemap says which pages were never touched (zero, not even
//     read).  A private file mapping whose file is still the mapped one
//     comes back from the file (kRegionFromFile, checked by a content hash
//     at restart): only the pages the program changed are stored.  A shared
//     mapping of a file that is still there stores nothing
//     (kRegionSharedFile): the file is the truth, restart maps it again;
//     writable ones are msync'ed so the file on disk matches the image.
//     Shared memory with no file (shared anonymous, memfd, deleted files)
//     is kRegionSharedObject, identified by its dev:inode: mincore() says
//     which pages the object holds (also those only another process
//     touched; pagemap would not show them), unless swap is on (swapped
//     shared pages show nowhere: then every readable page is read).  Other
//     file mappings are read up to the end of the file (past it, reading
//     would SIGBUS).
//  4. Header with identity, special mappings, brk, the resume context and
//     the restart info buffer; ImageWriter writes everything with checksums.
//  5. fsync, rename to the generation's own name (no image of an older
//     generation is touched: the coordinator removes those once this
//     generation is committed), fsync the directory.
//
// The checkpoint thread keeps running while it writes: its own stack and
// the runtime's writable segments change under the writer.  Those regions
// are first copied to scratch ("snapshot") and written from the copy, so
// every chunk's checksum matches its data.
#include "runtime/image_dump.h"

#include <fcntl.h>
#include <link.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
// The streaming state on our stack (no malloc on this path).
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string_view>
#include <type_traits>

#include "common/log.h"
#include "common/pagemap_scan_abi.h"
#include "common/proc_maps.h"
#include "common/proc_stat.h"
#include "dmtcp/plugin.h"
#include "dmtcp/raw_syscall.h"
#include "runtime/glibc_tcb.h"
#include "runtime/image_notes.h"
#include "runtime/incremental.h"
#include "runtime/page_scan.h"
#include "runtime/runtime.h"
#include "runtime/threads.h"
#include "runtime/unsaved.h"

namespace dmtcp::image_dump {
namespace {

using image::RegionEntry;

constexpr size_t kMapsCap = 16u << 20;
constexpr size_t kMaxRegions = 1u << 17;
constexpr size_t kNamesCap = 16u << 20;
constexpr size_t kPagemapBatch = 1u << 15;  // pages per pread
constexpr size_t kFileBufBytes = 1u << 20;
// Populated runs of one region found by PAGEMAP_SCAN; a region with more
// is walked page by page as before (it is dense enough for that).
constexpr size_t kMaxExtents = 1u << 15;
// A sparse region is written in windows of this many pages: the page
// filter covers one window, and windows without a populated page are
// passed over without a look.
constexpr uint64_t kWindowPages = 1u << 15;

struct Scratch {
  char* maps = nullptr;
  RegionEntry* regions = nullptr;
  char* names = nullptr;
  uint64_t* pagemap = nullptr;
  uint8_t* may_have_data = nullptr;
  size_t may_have_data_cap = 0;  // pages
  char* file_buf = nullptr;      // kFileBufBytes, for hashing files
  uint64_t* extents = nullptr;   // kMaxExtents pairs [first, last) of pages
};

Scratch g_scratch;

struct AddressRange {
  uint64_t start;
  uint64_t end;
};

// Address ranges that change while the image is written: the runtime's own
// writable segments (found once with dl_iterate_phdr).
constexpr int kMaxHot = 8;
AddressRange g_hot[kMaxHot];
int g_hot_count = 0;
uint8_t* g_snapshot = nullptr;
size_t g_snapshot_cap = 0;

// Scratch buffers outgrown while an image is written, unmapped only once
// it is (release_retired()).  The kernel merges an anonymous mapping of
// ours into its neighbour (the runtime's .bss, another scratch buffer), so
// the region being copied may hold the old buffer: unmapping it there cut
// a hole in that region, and the copy died of SIGSEGV (a `sleep` of a
// bash loop seeing its second round: "died while it was frozen").
struct Retired {
  void* p;
  size_t len;
};
constexpr int kMaxRetired = 16;
Retired g_retired[kMaxRetired];
int g_retired_count = 0;

void retire(void* p, size_t len) {
  if (p == nullptr) {
    return;
  }
  if (g_retired_count == kMaxRetired) {
    munmap(p, len);  // not reached: each image retires a few at most
    return;
  }
  g_retired[g_retired_count++] = {p, len};
}

void release_retired() {
  for (int i = 0; i < g_retired_count; ++i) {
    munmap(g_retired[i].p, g_retired[i].len);
  }
  g_retired_count = 0;
}

struct FoundSegments {
  AddressRange* out;
  int* count;
};

// dl_iterate_phdr's callback: the writable segments of the object holding
// this function (us).
int find_own_segments(dl_phdr_info* info, size_t, void* data) {
  auto* found = static_cast<FoundSegments*>(data);
  auto self = reinterpret_cast<uint64_t>(&find_own_segments);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) {
      continue;
    }
    uint64_t start = info->dlpi_addr + ph.p_vaddr;
    uint64_t end = start + ph.p_memsz;
    if ((ph.p_flags & PF_X) != 0 && self >= start && self < end) {
      for (int j = 0; j < info->dlpi_phnum && *found->count < kMaxHot; ++j) {
        const ElfW(Phdr)& w = info->dlpi_phdr[j];
        if (w.p_type == PT_LOAD && (w.p_flags & PF_W) != 0) {
          uint64_t ws = info->dlpi_addr + w.p_vaddr;
          found->out[(*found->count)++] = {ws & ~(image::kPageSize - 1),
                                           ws + w.p_memsz};
        }
      }
      return 1;
    }
  }
  return 0;
}

// The stack pointers of the frozen threads (threads::frozen_stack_pointers,
// taken when an image is begun).  A thread counts itself frozen and then
// still calls into the kernel to sleep: for a moment its stack below the
// saved pointer changes, which an incremental image, quick to reach the
// last region, met (the [stack] chunk's checksum did not match its data).
constexpr int kMaxFrozenStacks = 8192;
uint64_t g_frozen_sp[kMaxFrozenStacks];
int g_frozen_count = 0;

bool is_hot(uint64_t start, uint64_t end) {
  uint64_t sp = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
  if (sp >= start && sp < end) {
    return true;
  }
  for (int i = 0; i < g_frozen_count; ++i) {
    if (g_frozen_sp[i] >= start && g_frozen_sp[i] < end) {
      return true;
    }
  }
  for (int i = 0; i < g_hot_count; ++i) {
    if (g_hot[i].start < end && start < g_hot[i].end) {
      return true;
    }
  }
  return false;
}

void* map_scratch(size_t len) {
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  DMTCP_ASSERT(p != MAP_FAILED, "mapping %zu bytes of scratch", len);
  return p;
}

// A private copy of a region that is changing under us: of the pages the
// writer will read (filter: 0 = none, kStoreZeroPage = zeros of its own),
// never of the others.  Those include the writer's own mappings, left out
// of the image, which the kernel may have merged into this region (the
// runtime's .bss) and which can vanish while the image is written: zstd
// frees and maps its workspace again when it has been too big for a while
// (SIGSEGV copying the region: e2e.real.churn, "died while it was frozen").
const uint8_t* snapshot(uint64_t start, uint64_t len, const uint8_t* filter) {
  if (len > g_snapshot_cap) {
    retire(g_snapshot, g_snapshot_cap);
    g_snapshot = static_cast<uint8_t*>(map_scratch(len));
    g_snapshot_cap = len;
  }
  const uint64_t npages = len / image::kPageSize;
  auto wanted = [&](uint64_t p) {
    return filter[p] != 0 && filter[p] != image::kStoreZeroPage;
  };
  for (uint64_t p = 0; p < npages;) {
    if (!wanted(p)) {
      ++p;
      continue;
    }
    uint64_t first = p;
    while (p < npages && wanted(p)) {
      ++p;
    }
    uint64_t off = first * image::kPageSize;
    memcpy(g_snapshot + off, reinterpret_cast<const void*>(start + off),
           (p - first) * image::kPageSize);
  }
  return g_snapshot;
}
// Never destroyed: a process's checkpoint thread may be preparing a round
// while its main thread runs exit()'s static destructors (a short-lived
// child ending just as a round reaches it); the destructor freed the
// compressor under ZSTD_compress2 and the child died of SIGSEGV.
union ImmortalWriter {
  image::ImageWriter writer;
  ImmortalWriter() : writer() {}
  ~ImmortalWriter() {}
};
ImmortalWriter g_immortal_writer;
image::ImageWriter& g_writer = g_immortal_writer.writer;
bool g_writer_ready = false;

// Calls f(pointer, length) for every scratch buffer of ours (one list for
// leaving them out of the image and for dropping them after a restart).
template <class F>
void for_each_scratch(F&& f) {
  f(g_snapshot, g_snapshot_cap);
  for (int i = 0; i < g_retired_count; ++i) {
    f(g_retired[i].p, g_retired[i].len);
  }
  f(g_scratch.maps, kMapsCap);
  f(g_scratch.regions, kMaxRegions * sizeof(RegionEntry));
  f(g_scratch.names, kNamesCap);
  f(g_scratch.pagemap, kPagemapBatch * sizeof(uint64_t));
  f(g_scratch.may_have_data, g_scratch.may_have_data_cap);
  f(g_scratch.file_buf, kFileBufBytes);
  f(g_scratch.extents, kMaxExtents * 2 * sizeof(uint64_t));
  void* notes = nullptr;
  size_t notes_len = 0;
  image_notes::scratch(&notes, &notes_len);
  f(notes, notes_len);
  void* scan_vec = nullptr;
  size_t scan_vec_len = 0;
  page_scan::scratch(&scan_vec, &scan_vec_len);
  f(scan_vec, scan_vec_len);
  incremental::scratch(
      [](void* p, size_t len, void* arg) {
        (*static_cast<std::remove_reference_t<F>*>(arg))(p, len);
      },
      &f);
}

// Memory that changes while the image is written and comes back empty:
// our scratch buffers and the writer's own mappings.  The kernel may merge
// such a mapping with a neighbour into one region, so this works per page.
constexpr int kMaxExcluded = 80;
AddressRange g_excluded[kMaxExcluded];
int g_excluded_count = 0;

void collect_excluded() {
  g_excluded_count = 0;
  auto add = [](const void* p, size_t len) {
    if (p != nullptr && len != 0 && g_excluded_count < kMaxExcluded) {
      uint64_t s = reinterpret_cast<uint64_t>(p);
      g_excluded[g_excluded_count++] = {
          s, s + ((len + image::kPageSize - 1) & ~(image::kPageSize - 1))};
    }
  };
  for_each_scratch(add);
  image::ImageWriter::OwnedRange owned[kMaxExcluded];
  int n = image::ImageWriter::owned_ranges(owned, kMaxExcluded);
  for (int i = 0; i < n; ++i) {
    add(reinterpret_cast<const void*>(owned[i].start), owned[i].len);
  }
}

// Bytes of [start, end) that are excluded.
uint64_t excluded_bytes(uint64_t start, uint64_t end) {
  uint64_t covered = 0;
  for (int i = 0; i < g_excluded_count; ++i) {
    uint64_t lo = g_excluded[i].start > start ? g_excluded[i].start : start;
    uint64_t hi = g_excluded[i].end < end ? g_excluded[i].end : end;
    if (lo < hi) {
      covered += hi - lo;
    }
  }
  return covered;
}

// Marks excluded pages of a region as "no data" in its page filter.
void clear_excluded(uint64_t start, uint64_t end, uint8_t* filter) {
  for (int i = 0; i < g_excluded_count; ++i) {
    uint64_t lo = g_excluded[i].start > start ? g_excluded[i].start : start;
    uint64_t hi = g_excluded[i].end < end ? g_excluded[i].end : end;
    for (uint64_t a = lo; a < hi; a += image::kPageSize) {
      filter[(a - start) / image::kPageSize] = 0;
    }
  }
}

// Which pages of a region hold data worth storing.
enum class PageRule : uint8_t {
  kTouched,         // private anonymous: present or swapped (else zero)
  kPrivateChanges,  // kRegionFromFile: only pages the program changed
  kReadable,        // everything readable (shared, or file we cannot check)
  kResident,        // kRegionSharedObject: pages the object holds (mincore)
};

// Fills out (one byte a page) from pagemap for npages at start.  Bits:
// 63 present, 62 swapped, 61 file page or shared anonymous.  Returns false
// if pagemap is unreadable.
bool read_pagemap(int pagemap_fd, uint64_t start, uint64_t npages, uint8_t* out,
                  PageRule rule = PageRule::kTouched) {
  uint64_t first = start / image::kPageSize;
  for (uint64_t done = 0; done < npages;) {
    uint64_t n = npages - done;
    if (n > kPagemapBatch) {
      n = kPagemapBatch;
    }
    ssize_t want = static_cast<ssize_t>(n * 8);
    ssize_t got =
        pread(pagemap_fd, g_scratch.pagemap, static_cast<size_t>(want),
              static_cast<off_t>((first + done) * 8));
    if (got != want) {
      return false;
    }
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t e = g_scratch.pagemap[i];
      bool present = (e >> 63) != 0;
      bool swapped = ((e >> 62) & 1) != 0;
      bool file_page = ((e >> 61) & 1) != 0;
      bool keep = rule == PageRule::kPrivateChanges
                      ? swapped || (present && !file_page)
                      : present || swapped;
      out[done + i] = keep ? 1 : 0;
    }
    done += n;
  }
  return true;
}

// How many leading pages of [start, +npages) can be read without a fault:
// a mapping may run past the end of its file (reading there would be
// SIGBUS).  process_vm_readv on ourselves reports such pages as EFAULT
// instead of faulting.  Binary search: readable pages form a prefix.
uint64_t readable_pages(uint64_t start, uint64_t npages) {
  auto readable = [&](uint64_t page) {
    char byte;
    iovec local{&byte, 1};
    iovec remote{reinterpret_cast<void*>(start + page * image::kPageSize), 1};
    // Raw: the pid plugin's process_vm_readv takes virtual pids.
    return dmtcp::raw::syscall6(SYS_process_vm_readv, tcb::getpid_raw(),
                                reinterpret_cast<long>(&local), 1,
                                reinterpret_cast<long>(&remote), 1, 0) == 1;
  };
  if (npages == 0 || readable(npages - 1)) {
    return npages;
  }
  uint64_t lo = 0;           // pages [0, lo) known readable
  uint64_t hi = npages - 1;  // page hi known unreadable
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (readable(mid)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// Fills out (one byte a page) with whether each page of [start, +npages) is
// in the page cache of the object it maps.  For shared memory that is every
// page it holds (without swap), whichever process touched it.
bool read_resident(uint64_t start, uint64_t npages, uint8_t* out) {
  if (mincore(reinterpret_cast<void*>(start), npages * image::kPageSize, out) !=
      0) {
    return false;
  }
  for (uint64_t i = 0; i < npages; ++i) {
    out[i] &= 1;  // the other bits are reserved
  }
  return true;
}

// Whether any swap area is active (/proc/swaps lists more than its header).
// Swapped-out shared memory pages show neither in mincore() nor in pagemap.
bool swap_in_use() {
  char buf[512];
  long n = read_proc_file("/proc/swaps", buf, sizeof buf);
  if (n < 0) {
    return errno != ENOENT;  // no /proc/swaps: a kernel without swap
  }
  int lines = 0;
  for (long i = 0; i < n; ++i) {
    lines += buf[i] == '\n' ? 1 : 0;
  }
  return lines > 1;
}

bool any_page_present(int pagemap_fd, uint64_t start, uint64_t npages) {
  if (npages > g_scratch.may_have_data_cap ||
      !read_pagemap(pagemap_fd, start, npages, g_scratch.may_have_data)) {
    return true;
  }
  for (uint64_t i = 0; i < npages; ++i) {
    if (g_scratch.may_have_data[i] != 0) {
      return true;
    }
  }
  return false;
}

uint8_t* ensure_page_map(uint64_t npages) {
  if (npages > g_scratch.may_have_data_cap) {
    retire(g_scratch.may_have_data, g_scratch.may_have_data_cap);
    size_t cap = (npages + 0xfffff) & ~size_t{0xfffff};
    g_scratch.may_have_data = static_cast<uint8_t*>(map_scratch(cap));
    g_scratch.may_have_data_cap = cap;
  }
  return g_scratch.may_have_data;
}

// A private file mapping comes back from its file when the file is still
// the one mapped (same device and inode) and not too big to hash at every
// checkpoint; its content hash is cached by identity and range.
constexpr uint64_t kFromFileMaxBytes = 256ull << 20;

struct HashCacheEntry {
  uint64_t dev, ino, size, mtime_ns, offset, len, hash;
};
constexpr int kHashCacheSize = 256;
HashCacheEntry g_hash_cache[kHashCacheSize];
int g_hash_cache_next = 0;

// XXH3 of the file's bytes in [offset, offset + len) (clipped to its size);
// false on a read error.
bool hash_file_range(int fd, const struct stat& st, uint64_t offset,
                     uint64_t len, uint64_t* out) {
  uint64_t mtime = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ull +
                   static_cast<uint64_t>(st.st_mtim.tv_nsec);
  for (const HashCacheEntry& e : g_hash_cache) {
    if (e.dev == st.st_dev && e.ino == st.st_ino &&
        e.size == static_cast<uint64_t>(st.st_size) && e.mtime_ns == mtime &&
        e.offset == offset && e.len == len && e.hash != 0) {
      *out = e.hash;
      return true;
    }
  }
  uint64_t end = offset + len;
  if (end > static_cast<uint64_t>(st.st_size)) {
    end = static_cast<uint64_t>(st.st_size);
  }
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  for (uint64_t pos = offset; pos < end;) {
    size_t want = end - pos < kFileBufBytes ? end - pos : kFileBufBytes;
    ssize_t got = pread(fd, g_scratch.file_buf, want, static_cast<off_t>(pos));
    if (got <= 0) {
      return false;
    }
    XXH3_64bits_update(&state, g_scratch.file_buf, static_cast<size_t>(got));
    pos += static_cast<uint64_t>(got);
  }
  *out = XXH3_64bits_digest(&state) | 1;  // never 0: 0 marks a free slot
  g_hash_cache[g_hash_cache_next] = {
      st.st_dev, st.st_ino, static_cast<uint64_t>(st.st_size), mtime, offset,
      len,       *out};
  g_hash_cache_next = (g_hash_cache_next + 1) % kHashCacheSize;
  return true;
}

// Whether the path names something other than a regular file (a device):
// its shared mappings keep the old treatment (data stored, restored private).
bool names_special_file(const MapEntry& m) {
  char path[4096];
  if (m.path.size() >= sizeof path) {
    return false;
  }
  memcpy(path, m.path.data(), m.path.size());
  path[m.path.size()] = '\0';
  struct stat st {};
  return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

// Opens the mapped file by path and checks it is still the mapped inode.
// Fills *st; -1 if the file is gone or was replaced.
int open_mapped_file(const MapEntry& m, struct stat* st) {
  char path[4096];
  if (m.path.size() >= sizeof path || m.path.empty() || m.path[0] != '/') {
    return -1;
  }
  memcpy(path, m.path.data(), m.path.size());
  path[m.path.size()] = '\0';
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_ino != m.inode ||
      major(st->st_dev) != m.dev_major || minor(st->st_dev) != m.dev_minor) {
    close(fd);
    return -1;
  }
  return fd;
}

struct Plan {
  uint32_t count = 0;
  uint32_t names_size = 0;
  image::FileHeader header{};
  // Regions whose protection lacks PROT_READ but hold data.
  bool needs_read[kMaxRegions];
  PageRule rule[kMaxRegions];
  uint64_t readable[kMaxRegions];  // kReadable: pages that can be read
  int swap = -1;  // swap_in_use(), asked at the first shared object
};

Plan g_plan;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

// Shared memory with no file to map again (kRegionSharedObject): its pages
// are stored; restart recreates the object once for every process mapping
// it.  file_size records how much of the object exists (past its end the
// mapping would SIGBUS, so that is not read).
void plan_shared_object(const MapEntry& m, RegionEntry* r, uint32_t i,
                        uint64_t npages) {
  r->flags &= ~image::kRegionFile;
  r->flags |= image::kRegionAnonymous | image::kRegionSharedObject;
  r->object_dev = makedev(m.dev_major, m.dev_minor);
  r->object_ino = m.inode;
  bool unreadable = (m.prot & PROT_READ) == 0;
  auto* base = reinterpret_cast<void*>(m.start);
  if (unreadable) {
    mprotect(base, m.end - m.start, m.prot | PROT_READ);
  }
  g_plan.readable[i] = readable_pages(m.start, npages);
  if (unreadable) {
    mprotect(base, m.end - m.start, m.prot);
  }
  g_plan.needs_read[i] = unreadable;
  r->file_size = m.offset + g_plan.readable[i] * image::kPageSize;
  if (g_plan.swap < 0) {
    g_plan.swap = swap_in_use() ? 1 : 0;
  }
  g_plan.rule[i] = g_plan.swap != 0 ? PageRule::kReadable : PageRule::kResident;
}

// A file-backed region: private and unchanged on disk -> kRegionFromFile
// (only the program's changes are stored); shared, on tmpfs ->
// kRegionSharedObject (stored); shared and still there ->
// kRegionSharedFile (nothing stored); shared but gone, replaced or not
// ours to open -> kRegionSharedObject; otherwise read what is readable
// (up to the end of the file).
void plan_file_region(const MapEntry& m, RegionEntry* r, uint32_t i,
                      uint64_t npages) {
  struct stat st {};
  int fd = open_mapped_file(m, &st);
  if (fd < 0 && m.shared && !names_special_file(m)) {
    plan_shared_object(m, r, i, npages);
    return;
  }
  if (fd < 0) {
    // Gone or replaced: the old inode still backs the mapping; read what
    // the kernel lets us read.
    g_plan.readable[i] = readable_pages(m.start, npages);
    return;
  }
  struct statfs fs {};
  if (m.shared && fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
    // A file in memory (/dev/shm, POSIX shm_open, MPI's shared segments):
    // its bytes are part of the computation's state, saved like shared
    // memory.  Mapping the live file back would give the restarted
    // processes what it holds now (written after the checkpoint, or gone
    // after a reboot) beside memory from the checkpoint.
    close(fd);
    plan_shared_object(m, r, i, npages);
    return;
  }
  if (m.shared) {
    r->flags |= image::kRegionSharedFile;
    r->file_size = static_cast<uint64_t>(st.st_size);
    r->object_dev = makedev(m.dev_major, m.dev_minor);
    r->object_ino = m.inode;
    g_plan.readable[i] = 0;
    close(fd);
    return;
  }
  uint64_t len = m.end - m.start;
  uint64_t file_pages = m.offset >= static_cast<uint64_t>(st.st_size)
                            ? 0
                            : (static_cast<uint64_t>(st.st_size) - m.offset +
                               image::kPageSize - 1) /
                                  image::kPageSize;
  g_plan.readable[i] = file_pages < npages ? file_pages : npages;
  uint64_t hash = 0;
  if (!m.shared && len <= kFromFileMaxBytes &&
      hash_file_range(fd, st, m.offset, len, &hash)) {
    r->flags |= image::kRegionFromFile;
    r->file_size = static_cast<uint64_t>(st.st_size);
    r->file_hash = hash;
    g_plan.rule[i] = PageRule::kPrivateChanges;
  }
  close(fd);
}

uint32_t add_name(std::string_view name) {
  uint32_t off = g_plan.names_size;
  if (name.empty() || off + name.size() > kNamesCap) {
    return off;
  }
  memcpy(g_scratch.names + off, name.data(), name.size());
  g_plan.names_size += static_cast<uint32_t>(name.size());
  return off;
}

// An incremental image's region inherits only from a predecessor's region
// of the same bounds (docs/incremental.md).  The kernel merges adjacent
// anonymous mappings that our images kept apart (restart maps each region
// on its own; a mapping replaced in the middle of another), so plain
// anonymous memory is cut where the predecessor's regions begin and end.
// More regions, same memory: restart maps them side by side.
void split_at_predecessor(uint32_t i) {
  constexpr uint32_t kPlain = image::kRegionPrivate | image::kRegionAnonymous;
  if (g_scratch.regions[i].flags != kPlain ||
      g_plan.rule[i] != PageRule::kTouched || g_plan.needs_read[i]) {
    return;
  }
  constexpr int kMaxCuts = 64;
  uint64_t cuts[kMaxCuts];
  int n = incremental::predecessor_cuts(
      g_scratch.regions[i].start, g_scratch.regions[i].end, cuts, kMaxCuts);
  for (int k = 0; k < n && g_plan.count < kMaxRegions; ++k) {
    uint32_t last = g_plan.count - 1;
    uint32_t j = g_plan.count++;
    g_scratch.regions[j] = g_scratch.regions[last];
    g_scratch.regions[last].end = cuts[k];
    g_scratch.regions[j].start = cuts[k];
    g_plan.needs_read[j] = false;
    g_plan.rule[j] = PageRule::kTouched;
    g_plan.readable[last] =
        (cuts[k] - g_scratch.regions[last].start) / image::kPageSize;
    g_plan.readable[j] =
        (g_scratch.regions[j].end - cuts[k]) / image::kPageSize;
  }
}

int build_plan(int pagemap_fd) {
  long n = read_proc_file("/proc/self/maps", g_scratch.maps, kMapsCap);
  if (n < 0) {
    return -errno;
  }
  g_plan.count = 0;
  g_plan.names_size = 0;
  image::FileHeader& h = g_plan.header;
  bool ok = for_each_map(
      std::string_view(g_scratch.maps, static_cast<size_t>(n)),
      [&](const MapEntry& m) {
        if (m.path == "[vdso]") {
          h.vdso_start = m.start;
          h.vdso_end = m.end;
          return;
        }
        if (m.path == "[vvar]") {
          h.vvar_start = m.start;
          h.vvar_end = m.end;
          return;
        }
        if (m.path == "[vvar_vclock]") {
          h.vvar_vclock_start = m.start;
          h.vvar_vclock_end = m.end;
          return;
        }
        if (m.path == "[vsyscall]" || g_plan.count >= kMaxRegions) {
          return;
        }
        uint32_t i = g_plan.count++;
        RegionEntry& r = g_scratch.regions[i];
        r = RegionEntry{};
        r.start = m.start;
        r.end = m.end;
        r.file_offset = m.offset;
        r.prot = static_cast<uint32_t>(m.prot);
        r.flags = m.shared ? image::kRegionShared : image::kRegionPrivate;
        bool named = !m.path.empty() && m.path[0] == '/' && m.inode != 0;
        bool deleted = named && ends_with(m.path, " (deleted)");
        bool file_backed = named && !deleted;
        r.flags |= file_backed ? image::kRegionFile : image::kRegionAnonymous;
        if (m.path == "[stack]") {
          r.flags |= image::kRegionStack | image::kRegionGrowsDown;
        }
        if (m.path == "[heap]") {
          r.flags |= image::kRegionHeap;
        }
        r.name_offset = add_name(m.path);
        r.name_len = g_plan.names_size - r.name_offset;
        uint64_t npages = (m.end - m.start) / image::kPageSize;
        g_plan.needs_read[i] = false;
        g_plan.rule[i] =
            m.is_private_anonymous() ? PageRule::kTouched : PageRule::kReadable;
        g_plan.readable[i] = npages;
        if (file_backed) {
          plan_file_region(m, &r, i, npages);
        } else if (deleted && m.shared) {
          // Shared anonymous memory ("/dev/zero (deleted)"), a memfd, a
          // deleted file, SysV shm.
          plan_shared_object(m, &r, i, npages);
          if (std::string_view(m.path).substr(0, 5) == "/SYSV" &&
              dmtcp::unsaved::sysv_shm_claimed(static_cast<int>(m.inode))) {
            // The sysvipc plugin saves the segment once for the whole
            // computation and attaches it again over this (empty) object.
            g_plan.readable[i] = 0;
            r.file_size = m.offset;
          }
        }
        if ((r.flags &
             (image::kRegionSharedFile | image::kRegionSharedObject)) != 0) {
          return;  // never reserve-only: restart maps the object regardless
        }
        if (excluded_bytes(m.start, m.end) == m.end - m.start) {
          r.flags |= image::kRegionNoData;
        } else if ((m.prot & PROT_READ) == 0) {
          if (any_page_present(pagemap_fd, m.start, npages)) {
            g_plan.needs_read[i] = true;
          } else {
            r.flags |= image::kRegionNoData;
          }
        }
        if ((r.flags & image::kRegionNoData) != 0) {
          // Reserved only (e.g. a library's PROT_NONE gap, "---p" on its
          // file): nothing comes from the file either.
          r.flags &= ~image::kRegionFromFile;
          r.file_hash = 0;
        }
        split_at_predecessor(i);
      });
  return ok ? 0 : -EPROTO;
}

// The populated pages of region r (rule kTouched or kPrivateChanges, with
// the same meaning as read_pagemap()) as runs of page indexes, from
// PAGEMAP_SCAN: one ioctl per region however sparse it is.  Returns the
// number of runs in g_scratch.extents, or -1: no PAGEMAP_SCAN, or too many
// runs (the caller reads pagemap page by page).
long populated_runs(int pagemap_fd, const RegionEntry& r, PageRule rule) {
  struct Runs {
    uint64_t start;
    bool private_changes;
    long n;
  } runs{r.start, rule == PageRule::kPrivateChanges, 0};
  uint64_t want = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
  int rc = page_scan::scan(
      pagemap_fd, r.start, r.end, 0, 0, want, want | PAGE_IS_FILE,
      [](void* arg, uint64_t first, uint64_t last, uint64_t c) {
        auto* x = static_cast<Runs*>(arg);
        // A private file mapping stores the pages the program changed:
        // its own copies (present and not the file's page) and swapped ones.
        bool keep = !x->private_changes || (c & PAGE_IS_SWAPPED) != 0 ||
                    (c & PAGE_IS_FILE) == 0;
        if (!keep || x->n < 0) {
          return;
        }
        uint64_t a = (first - x->start) / image::kPageSize;
        uint64_t b = (last - x->start) / image::kPageSize;
        uint64_t* e = g_scratch.extents;
        if (x->n > 0 && e[2 * (x->n - 1) + 1] == a) {
          e[2 * (x->n - 1) + 1] = b;  // adjacent, other categories
          return;
        }
        if (static_cast<size_t>(x->n) == kMaxExtents) {
          x->n = -1;
          return;
        }
        e[2 * x->n] = a;
        e[2 * x->n + 1] = b;
        ++x->n;
      },
      &runs);
  return rc == 0 ? runs.n : -1;
}

// Writes region i from its populated runs (populated_runs()), a window of
// kWindowPages at a time: windows without a populated page cost nothing,
// so a 2 TiB MAP_NORESERVE mapping with a few touched pages is as quick
// as a small one.  Only for regions the incremental tables do not cover
// (their hashes are kept per page).
int write_sparse(uint32_t i, long nruns, const uint8_t* base) {
  const RegionEntry& r = g_scratch.regions[i];
  const uint64_t npages = (r.end - r.start) / image::kPageSize;
  const uint8_t keep = (r.flags & image::kRegionFromFile) != 0 ? 2 : 1;
  const uint64_t* e = g_scratch.extents;
  uint8_t* filter = ensure_page_map(kWindowPages);
  uint64_t cursor = 0;  // pages before it are written
  for (long j = 0; j < nruns;) {
    uint64_t from = e[2 * j] > cursor ? e[2 * j] : cursor;
    uint64_t wstart = from / kWindowPages * kWindowPages;
    uint64_t wend =
        wstart + kWindowPages < npages ? wstart + kWindowPages : npages;
    memset(filter, 0, wend - wstart);
    for (long k = j; k < nruns && e[2 * k] < wend; ++k) {
      uint64_t lo = e[2 * k] > wstart ? e[2 * k] : wstart;
      uint64_t hi = e[2 * k + 1] < wend ? e[2 * k + 1] : wend;
      if (lo < hi) {
        memset(filter + (lo - wstart), keep, hi - lo);
      }
    }
    while (j < nruns && e[2 * j + 1] <= wend) {
      ++j;
    }
    cursor = wend;
    uint64_t wstart_addr = r.start + wstart * image::kPageSize;
    uint64_t wend_addr = r.start + wend * image::kPageSize;
    if (excluded_bytes(wstart_addr, wend_addr) != 0) {
      clear_excluded(wstart_addr, wend_addr, filter);
    }
    const uint8_t* source = base + wstart * image::kPageSize;
    if (is_hot(r.start, r.end)) {
      source = snapshot(wstart_addr, wend_addr - wstart_addr, filter);
    }
    if (int rc = g_writer.write_region_pages(i, source, wstart, wend - wstart,
                                             filter);
        rc != 0) {
      return rc;
    }
  }
  return 0;
}

int write_regions(int pagemap_fd) {
  for (uint32_t i = 0; i < g_plan.count; ++i) {
    const RegionEntry& r = g_scratch.regions[i];
    if ((r.flags & image::kRegionNoData) != 0) {
      continue;
    }
    if ((r.flags & image::kRegionSharedFile) != 0) {
      // The file keeps these pages; put them on disk with the image, so a
      // crash after the checkpoint cannot leave the file older than it.
      if ((r.prot & PROT_WRITE) != 0) {
        msync(reinterpret_cast<void*>(r.start), r.end - r.start, MS_SYNC);
      }
      continue;
    }
    uint64_t npages = (r.end - r.start) / image::kPageSize;
    PageRule rule = g_plan.rule[i];
    auto* base = reinterpret_cast<uint8_t*>(r.start);
    if ((rule == PageRule::kTouched || rule == PageRule::kPrivateChanges) &&
        !incremental::covers(i)) {
      long nruns = populated_runs(pagemap_fd, r, rule);
      if (nruns >= 0) {
        if (g_plan.needs_read[i]) {
          mprotect(base, r.end - r.start, static_cast<int>(r.prot) | PROT_READ);
        }
        int rc = write_sparse(i, nruns, base);
        if (g_plan.needs_read[i]) {
          mprotect(base, r.end - r.start, static_cast<int>(r.prot));
        }
        if (rc != 0) {
          return rc;
        }
        continue;
      }
    }
    uint8_t* filter = ensure_page_map(npages);
    bool have_map = false;
    if (rule == PageRule::kResident) {
      have_map = read_resident(r.start, npages, filter);
      if (have_map) {
        uint64_t readable = g_plan.readable[i];
        memset(filter + readable, 0, npages - readable);
      }
    } else if (rule != PageRule::kReadable) {
      long nruns = populated_runs(pagemap_fd, r, rule);
      have_map = nruns >= 0;
      if (have_map) {
        memset(filter, 0, npages);
        for (long j = 0; j < nruns; ++j) {
          const uint64_t* e = g_scratch.extents + 2 * j;
          memset(filter + e[0], 1, e[1] - e[0]);
        }
      } else {
        have_map = read_pagemap(pagemap_fd, r.start, npages, filter, rule);
      }
    }
    if (!have_map) {
      // Every page that can be read may hold data.  (Without pagemap a
      // kRegionFromFile region is stored whole; that is still correct.)
      uint64_t readable = g_plan.readable[i];
      memset(filter, 1, readable);
      memset(filter + readable, 0, npages - readable);
    }
    if ((r.flags & image::kRegionFromFile) != 0) {
      // Unstored pages of such a region come back from the file: a page
      // the program set to zeros must be stored, zeros and all.
      for (uint64_t p = 0; p < npages; ++p) {
        filter[p] = filter[p] != 0 ? 2 : 0;
      }
    }
    if (excluded_bytes(r.start, r.end) != 0) {
      clear_excluded(r.start, r.end, filter);
    }
    if (g_plan.needs_read[i]) {
      mprotect(base, r.end - r.start, static_cast<int>(r.prot) | PROT_READ);
    }
    const uint8_t* source = base;
    bool hot = is_hot(r.start, r.end);
    if (hot) {
      source = snapshot(r.start, r.end - r.start, filter);
    }
    // Incremental images: only what changed since the predecessor.
    incremental::filter_region(i, source, npages, filter, hot);
    int rc = g_writer.write_region(i, source, npages, filter);
    if (g_plan.needs_read[i]) {
      mprotect(base, r.end - r.start, static_cast<int>(r.prot));
    }
    if (rc != 0) {
      return rc;
    }
  }
  return 0;
}

void fill_header(const Who& who) {
  image::FileHeader& h = g_plan.header;
  memcpy(h.magic, image::kMagic, sizeof h.magic);
  h.format_version = image::kFormatVersion;
  h.header_size = sizeof h;
  h.uid = getuid();
  h.flags = rt::g_config.forked_checkpoint ? image::kHeaderForkedCheckpoint : 0;
  h.pid = who.pid;
  h.ppid = who.ppid;
  // Raw ids through the pid plugin's table (never its wrappers: they take
  // the checkpoint lock this thread holds).
  h.vpid = dmtcp_real_to_virtual_pid(h.pid);
  h.vppid = dmtcp_real_to_virtual_pid(h.ppid);
  h.vpgid =
      dmtcp_real_to_virtual_pid(static_cast<pid_t>(syscall(SYS_getpgid, 0)));
  h.vsid =
      dmtcp_real_to_virtual_pid(static_cast<pid_t>(syscall(SYS_getsid, 0)));
  h.generation = rt::g_generation.load();
  h.num_peers = rt::g_num_peers;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  h.ckpt_time_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ull +
                   static_cast<uint64_t>(now.tv_nsec);
  memcpy(h.unique_pid, rt::g_id.unique_pid, sizeof h.unique_pid);
  memcpy(h.parent_unique_pid, rt::g_id.parent_unique_pid,
         sizeof h.parent_unique_pid);
  memcpy(h.computation_id, rt::g_id.computation_id, sizeof h.computation_id);
  memcpy(h.hostname, rt::g_id.hostname, sizeof h.hostname);
  memcpy(h.progname, rt::g_id.progname, sizeof h.progname);
  h.start_brk = proc_stat_field(0, kStatStartBrk);
  h.brk = static_cast<uint64_t>(syscall(SYS_brk, 0));
  h.resume_context_addr = reinterpret_cast<uint64_t>(&rt::g_resume_ctx);
  h.restart_info_addr = reinterpret_cast<uint64_t>(&rt::g_restart_info);
  h.restart_info_size = sizeof rt::g_restart_info;
}

// prepare()'s buffers are made only where missing (see prepare()).
void* scratch_if_missing(void* p, size_t len) {
  return p != nullptr ? p : map_scratch(len);
}

// The runtime's writable segments into g_hot, the count stored last.
void publish_hot_segments() {
  int n = 0;
  AddressRange found[kMaxHot];
  FoundSegments f{found, &n};
  dl_iterate_phdr(find_own_segments, &f);
  memcpy(g_hot, found, sizeof(AddressRange) * static_cast<size_t>(n));
  // A fork before this store leaves the child with none: it looks again.
  __atomic_store_n(&g_hot_count, n, __ATOMIC_RELEASE);
}

}  // namespace

// Runs while the program's threads still run, and one of them may fork in
// the middle of it: the child inherits whatever this had done by then (and
// the parent's checkpoint thread, which would finish it, is not there).
// So each piece is made when it is missing, and the hot ranges count only
// once all of them are in (publish_hot_segments): a child once found the
// buffers made but no hot range, wrote the runtime's .bss from live memory
// while the writer's own counters there changed, and its image failed its
// checksum at restart (e2e.fork_storm, 1 run in a few hundred).
int prepare(bool compress, bool direct_io) {
  g_scratch.maps =
      static_cast<char*>(scratch_if_missing(g_scratch.maps, kMapsCap));
  g_scratch.regions = static_cast<RegionEntry*>(scratch_if_missing(
      g_scratch.regions, kMaxRegions * sizeof(RegionEntry)));
  g_scratch.names =
      static_cast<char*>(scratch_if_missing(g_scratch.names, kNamesCap));
  g_scratch.pagemap = static_cast<uint64_t*>(scratch_if_missing(
      g_scratch.pagemap, kPagemapBatch * sizeof(uint64_t)));
  g_scratch.file_buf =
      static_cast<char*>(scratch_if_missing(g_scratch.file_buf, kFileBufBytes));
  g_scratch.extents = static_cast<uint64_t*>(scratch_if_missing(
      g_scratch.extents, kMaxExtents * 2 * sizeof(uint64_t)));
  ensure_page_map(1);
  page_scan::prepare();  // without it: pagemap read page by page
  if (__atomic_load_n(&g_hot_count, __ATOMIC_ACQUIRE) == 0) {
    publish_hot_segments();
  }
  image_notes::prepare();
  image::ImageWriter::Options opt;
  opt.compress = compress;
  opt.direct_io = direct_io;
  int rc = g_writer.init(opt);
  g_writer_ready = rc == 0;
  return rc;
}

int create_temp(char* tmp, size_t cap) {
  // Never through a name someone else planted: O_EXCL|O_NOFOLLOW, under
  // a name nobody can guess (<image>.tmp.<64 random bits>), so a file or
  // link planted in a shared directory can neither receive the image nor
  // make the checkpoint fail.  The coordinator finds the temporary by its
  // prefix (progress, and removal after a writer died: round.cpp).
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = -1;
  errno = EEXIST;
  for (int tries = 0; fd < 0 && errno == EEXIST && tries < 4; ++tries) {
    unsigned long long r = 0;
    if (getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
      break;  // errno says why
    }
    snprintf(tmp, cap, "%s.tmp.%016llx", rt::g_id.ckpt_filename, r);
    fd = open(tmp, flags, 0600);
  }
  return fd >= 0 ? fd : -errno;
}

int write_image() {
  char tmp[kTempNameCap];
  int fd = create_temp(tmp, sizeof tmp);
  if (fd < 0) {
    return fd;
  }
  int rc = write_temp(fd, tmp, Who{tcb::getpid_raw(), raw::getppid()});
  rc = rc != 0 ? rc : commit_temp(tmp, rt::g_id.ckpt_filename);
  if (rc == 0) {
    incremental::image_written(rt::g_id.ckpt_filename);
  } else {
    incremental::image_failed();
  }
  return rc;
}

int write_temp(int fd, const char* tmp, const Who& who) {
  if (!g_writer_ready) {
    close(fd);
    unlink(tmp);
    return -EINVAL;
  }
  int pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  g_plan.header = image::FileHeader{};
  g_plan.swap = -1;
  // Without them the runtime's own memory would be written while it
  // changes (an image that fails its checksum at restart).
  DMTCP_ASSERT(g_hot_count > 0, "the runtime's writable segments are unknown "
               "(prepare() not run in this process?)");
  collect_excluded();
  g_frozen_count =
      threads::frozen_stack_pointers(g_frozen_sp, kMaxFrozenStacks);
  int rc = build_plan(pagemap_fd);
  if (rc == 0) {
    fill_header(who);
    // Without room for the hashes the image is simply full.
    incremental::plan(&g_plan.header, g_scratch.regions, g_plan.count,
                      pagemap_fd);
    rc = g_writer.begin(fd, g_plan.header, g_scratch.regions, g_plan.count,
                        g_scratch.names, g_plan.names_size, image_notes::data(),
                        image_notes::size(), image_notes::count());
    if (rc == 0) {
      rc = write_regions(pagemap_fd);
      // finish() also after a failed write: it ends the image, and a
      // writer left begun refuses every later round (EBUSY from init()).
      int finished = g_writer.finish();
      rc = rc != 0 ? rc : finished;
    }
  }
  release_retired();
  if (rc == 0 && fsync(fd) != 0) {
    rc = -errno;
  }
  if (close(fd) != 0 && rc == 0) {
    rc = -errno;
  }
  if (pagemap_fd >= 0) {
    close(pagemap_fd);
  }
  if (rc != 0) {
    unlink(tmp);
  }
  return rc;
}

int commit_temp(const char* tmp, const char* image) {
  int rc = 0;
  if (rename(tmp, image) != 0) {
    rc = -errno;
    unlink(tmp);
    return rc;
  }
  // The rename must reach the disk too, or a crash could bring back the
  // directory entry of the old image.
  char dir[sizeof rt::g_id.ckpt_filename];
  snprintf(dir, sizeof dir, "%s", image);
  char* slash = strrchr(dir, '/');
  if (slash != nullptr) {
    *slash = '\0';
    int dfd =
        open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  return 0;
}

const image::ImageWriter::Stats& last_stats() {
  return g_writer.stats();
}

void after_fork_in_child() {
  image::ImageWriter::after_fork_in_child();
}

void forget_after_restart() {
  g_writer.forget_after_restart();
  g_writer_ready = false;
  // Scratch that existed when the image was planned came back empty;
  // scratch mapped while it was written (a bigger snapshot or page filter)
  // is not in the image at all.  Nothing else can live at those addresses
  // (they were ours at checkpoint time), so unmapping is safe either way.
  auto drop = [](void* p, size_t len) {
    if (p != nullptr && len != 0) {
      munmap(p, len);
    }
  };
  for_each_scratch(drop);
  page_scan::forget_after_restart();
  image_notes::forget_after_restart();
  // Last: it may map a scan buffer again (page_scan::prepare()).
  incremental::after_restart();
  g_snapshot = nullptr;
  g_snapshot_cap = 0;
  g_retired_count = 0;
  g_scratch = Scratch{};
}

}  // namespace dmtcp::image_dump
