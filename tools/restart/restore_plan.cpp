// Algorithm (the part of restart that still has libc; the restorer does the
// rest):
//  1. Snapshot our own mappings; check the kernel's special mappings have
//     the sizes the image expects (else a clear error: another kernel).
//  2. Reserve, PROT_NONE, every free part of what the image will occupy:
//     its regions, its vDSO/vvar spots, the program-break range and the
//     stack's room to grow.  From now on the kernel places nothing there.
//  3. One staging pool holds a private copy of every region with data; the
//     reader fills it and verifies every checksum.  A region that comes
//     back from its file (kRegionFromFile) is first mapped privately from
//     that file, after checking the file's size and content hash; the
//     stored pages (the program's own changes) go over it.  A shared
//     mapping (kRegionSharedFile, kRegionSharedObject) is staged as a
//     MAP_SHARED mapping of the descriptor shared_mappings.cpp prepared
//     before the fork; the reader writes a shared object's pages into it
//     only if this image fills that object.  A corrupt or truncated image,
//     or a changed file, stops here with nothing lost.  The reader uses one
//     thread per CPU, and huge pages where a chunk fills them (staging at
//     the target's offset within 2 MiB; docs/restore.md, "Reading memory
//     back").
//  4. Copy the restorer code to a fresh spot with its own stack, fill its
//     Args (moves, fresh maps, keep list, brk, restart info), unregister
//     glibc's rseq area (it is about to vanish), block signals and jump.
#include "tools/restart/restore_plan.h"

#include <fcntl.h>
#include <linux/rseq.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/proc_maps.h"
#include "restore_raw/restorer.h"
#include "runtime/runtime.h"
#include "tools/restart/chain.h"
#include "tools/restart/lazy_pages.h"
#include "tools/restart/shared_mappings.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

extern "C" {
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
}

namespace dmtcp::restart {
namespace {

using image::FileHeader;
using image::kPageSize;
using image::RegionEntry;
using restorer::Args;
using restorer::FreshMap;
using restorer::Move;
using restorer::Range;

constexpr uint64_t kStackRoom = 8ull << 20;  // main stack may grow this much

struct Span {
  uint64_t start;
  uint64_t end;
};

uint64_t page_up(uint64_t v) {
  return (v + kPageSize - 1) & ~(kPageSize - 1);
}

// The largest brk() step the kernel grants, for the restorer's walk of the
// program break (restorer.cpp).  Under the default overcommit heuristic
// (vm.overcommit_memory 0) one request may not exceed RAM plus swap; mode
// 1 sets no limit.  Strict accounting (2) counts what is mapped already,
// and an unreadable setting says nothing: 0 then, and the restorer finds
// its steps by doubling.  The margin covers memory a balloon takes away
// between now and the walk (a refused step is halved, which costs more).
uint64_t brk_step_limit() {
  char mode = 0;
  int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &mode, 1) != 1) {
      mode = 0;
    }
    close(fd);
  }
  if (mode == '1') {
    return uint64_t{1} << 40;
  }
  struct sysinfo si = {};
  if (mode != '0' || sysinfo(&si) != 0) {
    return 0;
  }
  constexpr uint64_t kMargin = uint64_t{256} << 20;
  constexpr uint64_t kAlign = uint64_t{2} << 20;
  uint64_t limit = (uint64_t{si.totalram} + si.totalswap) * si.mem_unit;
  return limit > 2 * kMargin ? (limit - kMargin) & ~(kAlign - 1) : 0;
}

std::vector<Span> merge(std::vector<Span> v) {
  std::sort(v.begin(), v.end(),
            [](const Span& a, const Span& b) { return a.start < b.start; });
  std::vector<Span> out;
  for (const Span& s : v) {
    if (s.start >= s.end) {
      continue;
    }
    if (!out.empty() && s.start <= out.back().end) {
      out.back().end = std::max(out.back().end, s.end);
    } else {
      out.push_back(s);
    }
  }
  return out;
}

// What we find in our own address space.
struct Current {
  std::vector<Span> maps;
  Span vdso{0, 0};
  Span vvar{0, 0};
  Span vvar_vclock{0, 0};
  uint64_t start_brk = 0;
  uint64_t brk = 0;
};

bool read_current(Current* cur, std::string* error) {
  constexpr size_t kCap = 16u << 20;
  std::unique_ptr<char[]> buf(new char[kCap]);
  long n = read_proc_file("/proc/self/maps", buf.get(), kCap);
  if (n < 0) {
    *error = std::string("reading /proc/self/maps: ") + strerror(errno);
    return false;
  }
  for_each_map(std::string_view(buf.get(), static_cast<size_t>(n)),
               [&](const MapEntry& m) {
                 if (m.path == "[vdso]") {
                   cur->vdso = {m.start, m.end};
                 } else if (m.path == "[vvar]") {
                   cur->vvar = {m.start, m.end};
                 } else if (m.path == "[vvar_vclock]") {
                   cur->vvar_vclock = {m.start, m.end};
                 }
                 if (m.end <= 0x800000000000ull) {
                   cur->maps.push_back({m.start, m.end});
                 }
               });
  char stat[4096];
  n = read_proc_file("/proc/self/stat", stat, sizeof stat - 1);
  if (n <= 0) {
    *error = "reading /proc/self/stat failed";
    return false;
  }
  stat[n] = '\0';
  const char* p = strrchr(stat, ')');
  int field = 2;
  while (p != nullptr && *p != '\0' && field < 47) {
    if (*p++ == ' ') {
      ++field;
    }
  }
  cur->start_brk = p != nullptr ? strtoull(p, nullptr, 10) : 0;
  cur->brk = static_cast<uint64_t>(syscall(SYS_brk, 0));
  return true;
}

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%lx", static_cast<unsigned long>(v));
  return buf;
}

// True when no span meets [start, end).
bool map_clear_of(const std::vector<Span>& spans, uint64_t start,
                  uint64_t end) {
  return std::none_of(spans.begin(), spans.end(), [&](const Span& m) {
    return m.start < end && m.end > start;
  });
}

std::string hex_range(uint64_t start, uint64_t end) {
  char buf[64];
  snprintf(buf, sizeof buf, "%lx-%lx", static_cast<unsigned long>(start),
           static_cast<unsigned long>(end));
  return buf;
}

// Our mappings now (below the x86_64 user top), sorted and merged.
bool current_maps(std::vector<Span>* out, std::string* error) {
  constexpr size_t kCap = 16u << 20;
  std::unique_ptr<char[]> buf(new char[kCap]);
  long n = read_proc_file("/proc/self/maps", buf.get(), kCap);
  if (n < 0) {
    *error = std::string("reading /proc/self/maps: ") + strerror(errno);
    return false;
  }
  out->clear();
  for_each_map(std::string_view(buf.get(), static_cast<size_t>(n)),
               [&](const MapEntry& m) {
                 if (m.end <= 0x800000000000ull) {
                   out->push_back({m.start, m.end});
                 }
               });
  *out = merge(*out);
  return true;
}

constexpr uint64_t kHugePage = 2ull << 20;

// Whether private anonymous memory gets transparent huge pages here only
// when asked (MADV_HUGEPAGE), always, or never.
enum class Thp { kNever, kMadvise, kAlways };

Thp thp_mode() {
  char buf[128];
  long n = read_proc_file("/sys/kernel/mm/transparent_hugepage/enabled", buf,
                          sizeof buf - 1);
  if (n <= 0) {
    return Thp::kNever;
  }
  buf[n] = '\0';
  if (strstr(buf, "[always]") != nullptr) {
    return Thp::kAlways;
  }
  return strstr(buf, "[madvise]") != nullptr ? Thp::kMadvise : Thp::kNever;
}

// Private anonymous memory with data, big enough to hold a huge page: it
// is staged at the same offset within 2 MiB as its target, so huge pages
// it is read into stay whole when the restorer moves it there.
bool huge_candidate(const RegionEntry& r) {
  constexpr uint32_t kNotPlain =
      image::kRegionNoData | image::kRegionFile | image::kRegionShared |
      image::kRegionSharedFile | image::kRegionSharedObject |
      image::kRegionFromFile;
  return (r.flags & kNotPlain) == 0 && r.end - r.start >= kHugePage;
}

// Maps `len` bytes anonymously where neither we nor the image (`avoid`)
// have anything.  The restorer keeps these mappings while it places the
// image, so they must not lie where the image goes.  The kernel's own
// choice is not enough: what we unmapped since the reservation (reader
// buffers) leaves holes in it, and without randomization a restarted
// program's later mappings sit exactly where ours do.  Highest gap first,
// not within kStackRoom + 1 MiB under our own stack.
uint64_t map_clear(uint64_t len, int prot, const std::vector<Span>& avoid,
                   const char* what, std::string* error) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::vector<Span> taken;
    if (!current_maps(&taken, error)) {
      return 0;
    }
    uint64_t top = 0x7ffffffff000ull;
    if (!taken.empty()) {
      // The last mapping below the top is our stack (the vsyscall page is
      // above the user top and was skipped).
      top = taken.back().start - kStackRoom - (1u << 20);
    }
    taken.insert(taken.end(), avoid.begin(), avoid.end());
    taken = merge(taken);
    uint64_t at = 0;
    uint64_t ceiling = top;
    for (size_t i = taken.size(); i-- > 0 && at == 0;) {
      uint64_t gap_end = ceiling;  // the mapping above, or our top
      uint64_t gap_start = taken[i].end;
      if (gap_end > gap_start && gap_end - gap_start >= len + 2 * kPageSize) {
        at = (gap_end - kPageSize - len) & ~(kPageSize - 1);
      }
      ceiling = std::min(ceiling, taken[i].start);
    }
    if (at == 0) {
      errno = ENOMEM;
      break;
    }
    void* p =
        mmap(reinterpret_cast<void*>(at), len, prot,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
             -1, 0);
    if (p != MAP_FAILED) {
      return at;
    }
    if (errno != EEXIST) {
      break;
    }
  }
  *error = std::string(what) + ": no room clear of the image (" +
           strerror(errno) + ")";
  return 0;
}

// Reserves [start, end) PROT_NONE where it is free.  Our own heap may have
// grown into it since we looked: on EEXIST the range is halved until the
// occupied pages are found and left alone (they are ours, and nothing new
// can be placed there either).
bool reserve(uint64_t start, uint64_t end, std::string* error) {
  if (start >= end) {
    return true;
  }
  void* p = mmap(
      reinterpret_cast<void*>(start), end - start, PROT_NONE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != MAP_FAILED) {
    return true;
  }
  if (errno != EEXIST) {
    *error = "reserving " + hex_range(start, end) +
             " for the image: " + strerror(errno);
    return false;
  }
  if (end - start == kPageSize) {
    return true;
  }
  uint64_t mid = start + ((end - start) / 2 & ~(kPageSize - 1));
  if (mid == start) {
    mid = start + kPageSize;
  }
  return reserve(start, mid, error) && reserve(mid, end, error);
}

// Reserves the free parts of `want` (sorted, merged), skipping what was
// mapped when we looked.
bool reserve_free_parts(const std::vector<Span>& want,
                        const std::vector<Span>& mapped, std::string* error) {
  for (const Span& w : want) {
    uint64_t cursor = w.start;
    for (const Span& m : mapped) {
      if (m.end <= cursor || m.start >= w.end) {
        continue;
      }
      if (m.start > cursor && !reserve(cursor, m.start, error)) {
        return false;
      }
      cursor = std::max(cursor, m.end);
    }
    if (cursor < w.end && !reserve(cursor, w.end, error)) {
      return false;
    }
  }
  return true;
}

bool check_special(const char* name, uint64_t img_start, uint64_t img_end,
                   const Span& cur, std::string* error) {
  uint64_t img_len = img_end - img_start;
  uint64_t cur_len = cur.end - cur.start;
  if (img_len != cur_len) {
    *error = std::string("this kernel's ") + name + " is " +
             std::to_string(cur_len / kPageSize) + " pages, the image's " +
             std::to_string(img_len / kPageSize) +
             ": it was checkpointed under another kernel";
    return false;
  }
  return true;
}

// Maps a kRegionFromFile region's file privately at `at` after checking it
// is the file the image was taken with (size and content hash).
bool map_from_file(const image::ImageReader& reader, uint32_t index,
                   uint64_t at, std::string* error) {
  const RegionEntry& r = reader.regions()[index];
  std::string path(reader.region_name(index));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    *error = path +
             " is gone (the image needs it: it was mapped from that "
             "file): " +
             strerror(errno);
    if (fd >= 0) {
      close(fd);
    }
    return false;
  }
  uint64_t len = r.end - r.start;
  uint64_t end = std::min<uint64_t>(r.file_offset + len,
                                    static_cast<uint64_t>(st.st_size));
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  std::vector<char> buf(1u << 20);
  for (uint64_t pos = r.file_offset; pos < end;) {
    size_t want = std::min<uint64_t>(end - pos, buf.size());
    ssize_t got = pread(fd, buf.data(), want, static_cast<off_t>(pos));
    if (got <= 0) {
      break;
    }
    XXH3_64bits_update(&state, buf.data(), static_cast<size_t>(got));
    pos += static_cast<uint64_t>(got);
  }
  uint64_t hash = XXH3_64bits_digest(&state) | 1;
  if (static_cast<uint64_t>(st.st_size) != r.file_size || hash != r.file_hash) {
    close(fd);
    *error = path +
             " has changed since the checkpoint (the program had it "
             "mapped; restore the same file to restart)";
    return false;
  }
  void* p =
      mmap(reinterpret_cast<void*>(at), len, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_FIXED, fd, static_cast<off_t>(r.file_offset));
  close(fd);
  if (p == MAP_FAILED) {
    *error = "mapping " + path + ": " + strerror(errno);
    return false;
  }
  return true;
}

// Maps a shared region (file or object) from the descriptor prepared before
// the fork at `at`; *dest is where its stored pages go (skip() when another
// image fills the object, or for a file: it has no stored pages).
bool map_shared(const image::ImageReader& reader, uint32_t index, uint64_t at,
                uint64_t* dest, std::string* error) {
  const RegionEntry& r = reader.regions()[index];
  std::optional<SharedMapping> m = shared_mapping_for(&reader, index);
  if (!m) {
    *error = "internal: shared region " + std::to_string(index) + " (" +
             std::string(reader.region_name(index)) + ") was not prepared";
    return false;
  }
  bool file = (r.flags & image::kRegionSharedFile) != 0;
  // A file gets its own protection now (a failure shows before the point
  // of no return); an object must be writable until it is filled.
  int prot = static_cast<int>(r.prot);
  if (!file) {
    prot |= PROT_READ | PROT_WRITE;
  }
  void* p =
      mmap(reinterpret_cast<void*>(at), r.end - r.start, prot,
           MAP_SHARED | MAP_FIXED, m->fd, static_cast<off_t>(r.file_offset));
  if (p == MAP_FAILED) {
    *error = "mapping " + std::string(reader.region_name(index)) +
             " shared: " + strerror(errno);
    return false;
  }
  *dest = !file && m->fill
              ? at
              : reinterpret_cast<uint64_t>(image::ImageReader::skip());
  return true;
}

// The shared objects this process maps, kept open in the protected range
// for the file plugin (RestartInfo::objects): a memfd the program both
// maps and holds an fd to must be one object again, not two.  Only when
// the coordinator connection is protected (so the range is ours); an
// object that does not fit is simply not handed over.
void hand_over_objects(const image::ImageReader& reader, RestartInfo* info) {
  info->object_count = 0;
  if (info->coord_fd < rt::kProtectedFdBase ||
      info->coord_fd >= rt::kProtectedFdEnd) {
    return;
  }
  const std::vector<RegionEntry>& regions = reader.regions();
  for (uint32_t i = 0; i < regions.size(); ++i) {
    const RegionEntry& r = regions[i];
    if ((r.flags & image::kRegionSharedObject) == 0 ||
        info->object_count == kRestartObjectsMax) {
      continue;
    }
    bool known = false;
    for (uint32_t k = 0; k < info->object_count; ++k) {
      known = known || (info->objects[k].dev == r.object_dev &&
                        info->objects[k].ino == r.object_ino);
    }
    std::optional<SharedMapping> m = shared_mapping_for(&reader, i);
    if (known || !m || m->fd < 0) {
      continue;
    }
    int fd = fcntl(m->fd, F_DUPFD_CLOEXEC, rt::kProtectedFdBase);
    if (fd < 0 || fd >= rt::kProtectedFdEnd) {
      if (fd >= 0) {
        close(fd);
      }
      break;
    }
    info->objects[info->object_count++] = {r.object_dev, r.object_ino, fd, 0};
  }
}

void unregister_rseq() {
  if (&__rseq_size == nullptr || __rseq_size == 0) {
    return;
  }
  char* area = static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset;
  unsigned int len = __rseq_size < 32 ? 32 : __rseq_size;
  syscall(SYS_rseq, area, len, RSEQ_FLAG_UNREGISTER, 0x53053053);
}

}  // namespace

bool restore_in_place(image::ImageReader* reader, RestartInfo* info,
                      std::string* error) {
  const FileHeader& h = reader->header();
  const std::vector<RegionEntry>& regions = reader->regions();
  Current cur;
  if (!read_current(&cur, error)) {
    return false;
  }
  info->lazy_fd = -1;
  // Lazy restart (docs/lazy-restart.md): large private anonymous regions
  // are mapped empty and filled by a helper process.  Not for a chain of
  // incremental images (their pages come from several files), nor when
  // the runtime in the image is too old to wait for residency, nor
  // without the protected fd range.
  std::vector<char> lazy(regions.size(), 0);
  std::unique_ptr<lazy::LazyPages> lazy_pages;
  if (lazy::requested() && (h.flags & image::kHeaderIncremental) == 0 &&
      h.restart_info_size >= sizeof(RestartInfo) &&
      info->coord_fd >= rt::kProtectedFdBase &&
      info->coord_fd < rt::kProtectedFdEnd) {
    for (size_t i = 0; i < regions.size(); ++i) {
      lazy[i] = lazy::region_is_lazy(regions[i]) ? 1 : 0;
    }
    if (std::find(lazy.begin(), lazy.end(), 1) != lazy.end()) {
      lazy_pages = std::make_unique<lazy::LazyPages>();
      if (!lazy_pages->open(error)) {
        return false;
      }
    }
  }
  // 1. Special mappings must match in size (their code and data layout).
  struct SpecialPair {
    const char* name;
    uint64_t img_start, img_end;
    Span cur;
  } specials[] = {
      {"[vvar]", h.vvar_start, h.vvar_end, cur.vvar},
      {"[vvar_vclock]", h.vvar_vclock_start, h.vvar_vclock_end,
       cur.vvar_vclock},
      {"[vdso]", h.vdso_start, h.vdso_end, cur.vdso},
  };
  for (const auto& s : specials) {
    if (!check_special(s.name, s.img_start, s.img_end, s.cur, error)) {
      return false;
    }
  }

  // 2. Reserve where the image goes.
  std::vector<Span> want;
  uint64_t stack_room_start = 0;
  uint64_t stack_room_end = 0;
  for (size_t i = 0; i < regions.size(); ++i) {
    const RegionEntry& r = regions[i];
    want.push_back({r.start, r.end});
    if ((r.flags & image::kRegionStack) != 0) {
      uint64_t low = r.start > kStackRoom ? r.start - kStackRoom : 0;
      // Only down to the region below, keeping a guard page.
      uint64_t floor = i > 0 ? regions[i - 1].end + kPageSize : kPageSize;
      stack_room_start = std::max(low, floor);
      stack_room_end = stack_room_start < r.start ? r.start : 0;
      if (stack_room_end != 0) {
        want.push_back({stack_room_start, stack_room_end});
      }
    }
  }
  for (const auto& s : specials) {
    if (s.img_start != 0) {
      want.push_back({s.img_start, s.img_end});
    }
  }
  // The image's break, exactly (glibc's __curbrk need not be page
  // aligned); 0 when it lies below our start_brk, where the kernel's
  // break cannot go.
  uint64_t target_brk = h.brk > cur.start_brk ? h.brk : 0;
  uint64_t brk_top = std::max(cur.brk, target_brk);
  if (brk_top > cur.start_brk) {
    // One extra page: the kernel wants it free above the new break.
    want.push_back({cur.start_brk, page_up(brk_top) + kPageSize});
  }
  want = merge(want);
  if (!reserve_free_parts(want, merge(cur.maps), error)) {
    return false;
  }

  // 3. Stage and verify every region's data.  The pool starts 2 MiB
  //    aligned and each huge-page candidate gets up to 2 MiB of slack in
  //    front, to sit at its target's offset within 2 MiB.
  uint64_t pool_len = 0;
  for (const RegionEntry& r : regions) {
    if ((r.flags & image::kRegionNoData) == 0 && !lazy[&r - regions.data()]) {
      pool_len += r.end - r.start + (huge_candidate(r) ? kHugePage : 0);
    }
  }
  uint64_t pool_map = 0;  // what is mapped; the restorer unmaps it all
  uint64_t pool = 0;      // 2 MiB aligned, inside it
  if (pool_len != 0) {
    pool_len += kHugePage;
    pool_map = map_clear(pool_len, PROT_NONE, want, "staging memory", error);
    if (pool_map == 0) {
      return false;
    }
    pool = (pool_map + kHugePage - 1) & ~(kHugePage - 1);
  }
  const Thp thp = thp_mode();
  std::vector<char> huge(regions.size(), 0);
  std::vector<uint64_t> staged(regions.size(), 0);
  std::vector<Move> moves;
  std::vector<FreshMap> fresh;
  uint64_t off = 0;
  for (size_t i = 0; i < regions.size(); ++i) {
    const RegionEntry& r = regions[i];
    uint64_t len = r.end - r.start;
    if ((r.flags & image::kRegionNoData) != 0 || lazy[i]) {
      // Lazy: mapped empty where it goes; its chunks are recorded below.
      fresh.push_back({r.start, len, r.prot, 0});
      if (lazy[i]) {
        staged[i] = reinterpret_cast<uint64_t>(image::ImageReader::skip());
      }
      continue;
    }
    if (huge_candidate(r)) {
      off += (r.start - (pool + off)) & (kHugePage - 1);
      huge[i] = thp == Thp::kMadvise;
    }
    staged[i] = pool + off;
    if ((r.flags & (image::kRegionSharedFile | image::kRegionSharedObject)) !=
        0) {
      if (!map_shared(*reader, static_cast<uint32_t>(i), pool + off, &staged[i],
                      error)) {
        return false;
      }
    } else if ((r.flags & image::kRegionFromFile) != 0) {
      if (!map_from_file(*reader, static_cast<uint32_t>(i), pool + off,
                         error)) {
        return false;
      }
    } else if (mmap(reinterpret_cast<void*>(pool + off), len,
                    PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
                    0) == MAP_FAILED) {
      *error = std::string("staging memory: ") + strerror(errno);
      return false;
    }
    moves.push_back({pool + off, r.start, len, r.prot, 0});
    off += len;
  }
  if (stack_room_end > stack_room_start) {
    fresh.push_back({stack_room_start, stack_room_end - stack_room_start,
                     PROT_READ | PROT_WRITE, 0});
  }
  // An incremental image's predecessors first (chain.h), then its own.
  if (!read_chain(*reader, staged, error)) {
    return false;
  }
  // Huge pages only where a chunk covers a whole aligned 2 MiB (the writer
  // cuts chunks at 4 MiB-aligned addresses): a page of data alone in
  // 2 MiB must not cost 2 MiB.  Then the regions go back to asking for
  // none (in madvise mode that is what not asking means; MADV_HUGEPAGE of
  // the program's own is not in the image).
  // Written by the reader's threads.
  std::unique_ptr<std::atomic<bool>[]> asked(
      new std::atomic<bool>[regions.size()]());
  auto prepare = [&](uint32_t region, uint8_t* at, size_t len) {
    if (huge[region] == 0) {
      return;
    }
    uint64_t a = reinterpret_cast<uint64_t>(at);
    uint64_t lo = (a + kHugePage - 1) & ~(kHugePage - 1);
    uint64_t hi = (a + len) & ~(kHugePage - 1);
    if (lo < hi &&
        madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE) == 0) {
      asked[region].store(true, std::memory_order_relaxed);
    }
  };
  if (const char* v = getenv("DMTCP_RESTART_THREADS"); v != nullptr && *v) {
    reader->set_threads(static_cast<unsigned>(strtoul(v, nullptr, 10)));
  }
  if (const char* v = getenv("DMTCP_RESTART_THP"); v != nullptr && *v == '0') {
    std::fill(huge.begin(), huge.end(), 0);
  }
  auto skipped = [&](const image::ImageReader::ChunkInfo& c) {
    if (lazy[c.region]) {
      lazy_pages->add(c, regions[c.region].start);
    }
  };
  if (!reader->read_data(
          [&](uint32_t region) {
            return reinterpret_cast<uint8_t*>(staged[region]);
          },
          error, prepare, skipped)) {
    return false;
  }
  // This also merges the region back into one mapping, which the
  // restorer's mremap needs: a failure must show now, not past the point
  // of no return.
  for (size_t i = 0; i < regions.size(); ++i) {
    if (asked[i].load(std::memory_order_relaxed) &&
        madvise(reinterpret_cast<void*>(staged[i]),
                regions[i].end - regions[i].start, MADV_NOHUGEPAGE) != 0) {
      *error =
          std::string("staging memory: MADV_NOHUGEPAGE: ") + strerror(errno);
      return false;
    }
  }

  // 4. The restorer's own area: code | args, moves, fresh, restart info,
  //    parking for the special mappings | stack.
  uint64_t code_len =
      static_cast<uint64_t>(__stop_dmtcp_restorer - __start_dmtcp_restorer);
  uint64_t code_pages = page_up(code_len);
  std::vector<Range> lazy_ranges;
  if (lazy_pages && !lazy_pages->empty()) {
    lazy_ranges = lazy_pages->ranges();
  }
  uint64_t data_len = page_up(
      sizeof(Args) + moves.size() * sizeof(Move) +
      fresh.size() * sizeof(FreshMap) + lazy_ranges.size() * sizeof(Range) +
      sizeof(RestartInfo) + 64);
  uint64_t park_len = 0;
  for (const auto& s : specials) {
    park_len += s.cur.end - s.cur.start;
  }
  park_len = page_up(park_len);
  constexpr uint64_t kStackLen = 256 * 1024;
  uint64_t blob_len = code_pages + data_len + park_len + kStackLen;
  auto blob = map_clear(blob_len, PROT_READ | PROT_WRITE, want,
                        "restorer memory", error);
  if (blob == 0) {
    return false;
  }
  void* bp = reinterpret_cast<void*>(blob);
  memcpy(bp, __start_dmtcp_restorer, code_len);
  mprotect(bp, code_pages, PROT_READ | PROT_EXEC);
  auto* args = reinterpret_cast<Args*>(blob + code_pages);
  memset(args, 0, sizeof *args);
  auto* move_arr = reinterpret_cast<Move*>(args + 1);
  std::copy(moves.begin(), moves.end(), move_arr);
  auto* fresh_arr = reinterpret_cast<FreshMap*>(move_arr + moves.size());
  std::copy(fresh.begin(), fresh.end(), fresh_arr);
  auto* lazy_arr = reinterpret_cast<Range*>(fresh_arr + fresh.size());
  std::copy(lazy_ranges.begin(), lazy_ranges.end(), lazy_arr);
  auto* info_copy = reinterpret_cast<RestartInfo*>(
      (reinterpret_cast<uint64_t>(lazy_arr + lazy_ranges.size()) + 15) &
      ~uint64_t{15});
  uint64_t park = blob + code_pages + data_len;
  mprotect(reinterpret_cast<void*>(park), park_len, PROT_NONE);
  uint64_t stack_top = blob + blob_len - 64;

  hand_over_objects(*reader, info);
  args->lazy_uffd = -1;
  args->lazy_ready_fd = -1;
  if (!lazy_ranges.empty()) {
    // The helper starts now: the restorer's byte tells it the ranges are
    // registered.  Its descriptors go into the protected range, which the
    // point of no return leaves open.
    if (!lazy_pages->move_fds(rt::kProtectedFdBase, rt::kProtectedFdEnd,
                              error) ||
        !lazy_pages->start_helper(*reader, error)) {
      return false;
    }
    args->lazy_ranges = lazy_arr;
    args->lazy_range_count = lazy_ranges.size();
    args->lazy_uffd = lazy_pages->uffd();
    args->lazy_ready_fd = lazy_pages->ready_fd();
    info->lazy_fd = lazy_pages->resident_fd();
  }
  info->restorer_start = blob;
  info->restorer_len = blob_len;
  memcpy(info_copy, info, sizeof *info);

  args->moves = move_arr;
  args->move_count = moves.size();
  args->fresh = fresh_arr;
  args->fresh_count = fresh.size();
  args->pool_start = pool_map;
  args->pool_len = pool_len;
  args->cur_start_brk = cur.start_brk;
  args->restart_info = info_copy;
  args->restart_info_size =
      std::min<uint64_t>(sizeof(RestartInfo), h.restart_info_size);
  args->restart_info_dest = h.restart_info_addr;
  args->resume_context_addr = h.resume_context_addr;
  std::string prefix = "dmtcp_restart: restoring " + std::string(h.progname) +
                       " failed past the point of no return; step, errno:";
  prefix.resize(std::min<size_t>(prefix.size(), sizeof args->fail_prefix));
  memcpy(args->fail_prefix, prefix.data(), prefix.size());
  args->fail_prefix_len = static_cast<uint32_t>(prefix.size());

  uint64_t park_cursor = park;
  for (const auto& s : specials) {
    if (s.cur.end == s.cur.start) {
      continue;
    }
    auto& sm = args->special[args->special_count++];
    sm.cur_start = s.cur.start;
    sm.len = s.cur.end - s.cur.start;
    sm.park = park_cursor;
    sm.target = s.img_start;
    park_cursor += sm.len;
  }
  std::vector<Span> keep = {{blob, blob + blob_len}};
  if (pool_len != 0) {
    keep.push_back({pool_map, pool_map + pool_len});
  }
  for (const auto& s : specials) {
    if (s.cur.end != s.cur.start) {
      keep.push_back(s.cur);
    }
  }
  keep = merge(keep);
  if (keep.size() > restorer::kMaxKeep) {
    *error = "internal: too many ranges to keep";
    return false;
  }
  for (const Span& k : keep) {
    args->keep[args->keep_count++] = {k.start, k.end};
  }
  // The restorer walks the break up from start_brk after everything but
  // the keep list is gone and the special mappings are at their targets:
  // the kernel refuses a brk() with a mapping less than a page above it.
  if (h.brk != cur.start_brk) {
    std::vector<Span> present = keep;
    for (const auto& s : specials) {
      if (s.img_start != 0) {
        present.push_back({s.img_start, s.img_end});
      }
    }
    std::string why;
    if (target_brk == 0) {
      why = "below ours at 0x" + hex(cur.start_brk);
    } else if (!map_clear_of(present, cur.start_brk,
                             page_up(target_brk) + kPageSize)) {
      why = "a mapping lies in the way";
      target_brk = 0;
    }
    if (!why.empty()) {
      DMTCP_WARN(
          "%s: the program break 0x%lx cannot be restored exactly (%s);"
          " the heap grows elsewhere",
          h.progname, static_cast<unsigned long>(h.brk), why.c_str());
    }
  }
  args->target_brk = target_brk;
  args->brk_step = brk_step_limit();

  // Point of no return.  Only stdin/out/err, the coordinator connection
  // and the restored objects (both in the protected range) go on into the
  // program (the image file and anything else of ours would take fd
  // numbers the program may want back).
  int keep_fd = info->coord_fd;
  if (keep_fd >= rt::kProtectedFdBase && keep_fd < rt::kProtectedFdEnd) {
    syscall(SYS_close_range, 3u,
            static_cast<unsigned>(rt::kProtectedFdBase - 1), 0u);
    syscall(SYS_close_range, static_cast<unsigned>(rt::kProtectedFdEnd), ~0u,
            0u);
  } else {
    if (keep_fd > 3) {
      syscall(SYS_close_range, 3u, static_cast<unsigned>(keep_fd - 1), 0u);
    }
    syscall(SYS_close_range, static_cast<unsigned>(keep_fd + 1), ~0u, 0u);
  }
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  unregister_rseq();
  auto entry = blob + static_cast<uint64_t>(
                          reinterpret_cast<char*>(&dmtcp_restorer_main) -
                          __start_dmtcp_restorer);
  asm volatile(
      "mov %0, %%rsp\n\t"
      "mov %1, %%rdi\n\t"
      "call *%2\n\t"
      "ud2\n\t"
      :
      : "r"(stack_top & ~uint64_t{15}), "r"(args), "r"(entry)
      : "memory");
  __builtin_unreachable();
}

}  // namespace dmtcp::restart
