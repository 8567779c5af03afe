// Incremental checkpoints: see incremental.h and docs/incremental.md.
//
// Algorithm:
//  1. begin_round(): the coordinator names the generation it committed
//     last.  If the image written in the previous round ("pending") is of
//     that generation, it becomes the predecessor ("committed"); otherwise
//     that round failed and its image is gone, so the predecessor stays.
//  2. plan(): the image is incremental when the predecessor is of the
//     committed generation and the chain is shorter than
//     --incremental-full-every; the header names it (id, generation, path).
//     The pending table is sized for the new region table.
//  3. filter_region(), per region in the writer's walk: each page that the
//     plan may store is hashed (XXH3-128; all-zero pages are "base" without
//     a hash); pages the plan skips are "base" (zero, or the file's pages
//     of a kRegionFromFile region).  The hashes go into the pending table.
//     When the region inherits from the predecessor's, a page is stored
//     only if its state differs: data pages as data, pages that turned
//     "base" as explicit zeros (or, in a kRegionFromFile region, as the
//     file's bytes read from memory).
//     Before a region of private anonymous memory is read, the write
//     tracker registers it, reports the pages written since its last
//     call and write-protects them again.  If that last call was in the
//     predecessor's round (g_armed_generation) and the region inherits,
//     pages not written keep the predecessor's hash unread; holes are
//     still compared with it (a page dropped with MADV_DONTNEED becomes
//     a hole without a write).  Otherwise every page is hashed.
//  4. image_written()/image_failed(): the pending table describes the
//     image on disk, or nothing.
#include "runtime/incremental.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>
// XXH3-128 by value, no malloc.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "common/pagemap_scan_abi.h"
#include "common/proc_maps.h"
#include "image/image_reader.h"
#include "image/image_writer.h"
#include "runtime/page_scan.h"
#include "runtime/runtime.h"
#include "runtime/write_tracker.h"

namespace dmtcp::incremental {
namespace {

using image::kPageSize;
using image::RegionEntry;

struct Hash {
  uint64_t lo, hi;
  bool operator==(const Hash& o) const { return lo == o.lo && hi == o.hi; }
};
// Zero pages and pages the plan skips: the state a full image leaves them
// in.  A real page whose hash happens to be this one is given kBaseAlias,
// so it never reads as "base".
constexpr Hash kBase = {0, 0};
constexpr Hash kBaseAlias = {0, 1};
// After a restart: a page that was populated when memory came back, whose
// hash we do not know (it is the image's page).  A real page hashing to it
// is given kUnknownAlias.
constexpr Hash kUnknown = {0, 2};
constexpr Hash kUnknownAlias = {0, 3};
constexpr uint64_t kUntracked = UINT64_MAX;
// Hashes are kept per page of every private region, 16 bytes each, for two
// images.  Past this many pages (256 GiB of address space: 1 GiB of
// hashes per image) images are full: a huge MAP_NORESERVE mapping would
// otherwise cost a hash slot for every page it could hold (a 2 TiB one,
// 8 GiB), while the full image finds its few pages at once
// (docs/image-format.md, "Which pages are stored").
constexpr uint64_t kMaxTrackedPages = 1ull << 26;

// One image's memory as hashes: its region table, and for each region the
// index of its first page's hash (kUntracked for regions that never
// inherit).  All three arrays are mmap'd, grown, never shrunk.
struct Table {
  bool valid = false;
  uint32_t generation = 0;
  uint64_t image_id[2] = {0, 0};
  uint32_t depth = 0;
  uint32_t base_generation = 0;
  char path[image::kParentPathCap] = {};

  uint32_t count = 0;
  RegionEntry* regions = nullptr;
  size_t regions_bytes = 0;
  uint64_t* first = nullptr;
  size_t first_bytes = 0;
  Hash* hashes = nullptr;
  size_t hashes_bytes = 0;
};

Table g_tables[2];
Table* g_committed = &g_tables[0];  // the predecessor
Table* g_pending = &g_tables[1];    // the image being (or last) written
uint32_t g_last_committed = 0;
bool g_incremental_now = false;  // this image has a predecessor
// The generation of the last round whose scans write-protected memory
// (0: none).  Protection set in a later round than the predecessor's (a
// round that failed) hides writes made before it: the tracker is then
// not trusted for one round.
uint32_t g_armed_generation = 0;
bool g_tracker_trusted = false;  // this round: g_armed_generation is the
                                 // predecessor's
int g_pagemap_fd = -1;
// After a restart: the image we came back from.  Its plan's table was in
// our memory when the image was written (this file's globals are in the
// image; the arrays are not), so we know its identity and path; which of
// its pages were populated is recorded when memory comes back
// (after_restart()), and its region table is read from the image at the
// first round (begin_round(), which may allocate).
struct RestartLink {
  bool valid = false;
  uint32_t generation = 0;
  uint32_t depth = 0;
  uint32_t base_generation = 0;
  uint64_t image_id[2] = {0, 0};
  char path[image::kParentPathCap] = {};
  // Runs [start, end) of populated private anonymous pages (addresses),
  // mmap'd, left out of images.
  uint64_t* runs = nullptr;
  size_t runs_bytes = 0;
  size_t nruns = 0;
};
RestartLink g_link;
constexpr size_t kLinkRunsBytes = 4u << 20;  // 262,144 runs

// filter_region()'s mark for a page the tracker reports written.
constexpr uint8_t kWritten = 0x80;

size_t page_round(size_t n) {
  return (n + kPageSize - 1) & ~(kPageSize - 1);
}

// Arrays replaced by bigger ones while an image is planned.  They are not
// unmapped then: the plan has already read /proc/self/maps, and the kernel
// may have merged such an array with a neighbouring mapping into one
// region that the image writer still walks (a region of the runtime is
// copied whole: image_dump's snapshot()), which would then fault.  They go
// once the image is written.
struct Retired {
  void* p;
  size_t len;
};
constexpr int kMaxRetired = 6;  // the three arrays of one table, twice
Retired g_retired[kMaxRetired];
int g_retired_count = 0;

void unmap_retired() {
  for (int i = 0; i < g_retired_count; ++i) {
    munmap(g_retired[i].p, g_retired[i].len);
  }
  g_retired_count = 0;
}

// Grows *p to hold n bytes (contents are not kept).  False: no memory.
template <class T>
bool ensure(T** p, size_t* cap, size_t n) {
  n = page_round(std::max<size_t>(n, 1));
  if (n <= *cap) {
    return true;
  }
  if (*p != nullptr && g_retired_count == kMaxRetired) {
    return false;  // cannot happen: plan() retires at most three per round
  }
  void* m = mmap(nullptr, n, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) {
    return false;
  }
  if (*p != nullptr) {
    g_retired[g_retired_count++] = Retired{*p, *cap};
  }
  *p = static_cast<T*>(m);
  *cap = n;
  return true;
}

// Regions that may inherit next time (image::region_inherits' rule).
bool trackable(const RegionEntry& r) {
  constexpr uint32_t kNever = image::kRegionNoData | image::kRegionSharedFile |
                              image::kRegionSharedObject | image::kRegionShared;
  return (r.flags & kNever) == 0;
}

// The predecessor's region that region r inherits from, or nullptr.
const RegionEntry* inherited(const Table& prev, const RegionEntry& r,
                             uint64_t* first) {
  const RegionEntry* begin = prev.regions;
  const RegionEntry* end = prev.regions + prev.count;
  const RegionEntry* it = std::lower_bound(
      begin, end, r.start,
      [](const RegionEntry& e, uint64_t start) { return e.start < start; });
  if (it == end || !image::region_inherits(*it, r) ||
      prev.first[it - begin] == kUntracked) {
    return nullptr;
  }
  *first = prev.first[it - begin];
  return it;
}

// In a kRegionFromFile region "base" is the file's page, not zero: a page
// the program changed to all zeros is data there (hashed, and stored).
Hash page_state(const uint8_t* page, bool from_file) {
  if (!from_file && image::page_is_zero(page)) {
    return kBase;
  }
  XXH128_hash_t h = XXH3_128bits(page, kPageSize);
  Hash out{h.low64, h.high64};
  if (out == kBase) {
    return kBaseAlias;
  }
  return out == kUnknown ? kUnknownAlias : out;
}

}  // namespace

namespace {

void drop_link() {
  if (g_link.runs != nullptr) {
    munmap(g_link.runs, g_link.runs_bytes);
  }
  g_link = RestartLink{};
}

// Whether [a, a + kPageSize) is in a populated run of g_link (runs sorted;
// *cursor walks forward as a rises).
bool link_populated(uint64_t a, size_t* cursor) {
  while (*cursor < g_link.nruns && g_link.runs[2 * *cursor + 1] <= a) {
    ++*cursor;
  }
  return *cursor < g_link.nruns && g_link.runs[2 * *cursor] <= a;
}

// The first round after a restart from image G, which the coordinator says
// is committed: the predecessor becomes G, described by its region table
// (read from the image, checked as any image) and, for its pages, kBase
// where memory held none of the image's data once restored (a hole in
// anonymous memory: restart populates every stored page; the file's own
// page in a private file mapping) and kUnknown elsewhere.  A page the
// tracker vouches for as unwritten since then is G's page; any other is
// hashed, and stored.
void adopt_restart_image() {
  image::ImageReader reader;
  std::string error;
  if (!reader.open(g_link.path, &error)) {
    DMTCP_INFO("first image after restart is full: %s", error.c_str());
    return;
  }
  const image::FileHeader& h = reader.header();
  if (memcmp(h.image_id, g_link.image_id, sizeof h.image_id) != 0 ||
      h.generation != g_link.generation ||
      memcmp(h.unique_pid, rt::g_id.unique_pid, sizeof h.unique_pid) != 0) {
    DMTCP_INFO("first image after restart is full: %s is another image now",
               g_link.path);
    return;
  }
  const std::vector<RegionEntry>& regions = reader.regions();
  const uint32_t count = static_cast<uint32_t>(regions.size());
  uint64_t pages = 0;
  for (const RegionEntry& r : regions) {
    if (trackable(r)) {
      pages += (r.end - r.start) / kPageSize;
    }
  }
  Table& t = *g_committed;
  t.valid = false;
  t.count = 0;
  if (!ensure(&t.regions, &t.regions_bytes, count * sizeof(RegionEntry)) ||
      !ensure(&t.first, &t.first_bytes, count * sizeof(uint64_t)) ||
      !ensure(&t.hashes, &t.hashes_bytes, pages * sizeof(Hash))) {
    return;
  }
  memcpy(t.regions, regions.data(), count * sizeof(RegionEntry));
  uint64_t next = 0;
  size_t cursor = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const RegionEntry& r = regions[i];
    if (!trackable(r)) {
      t.first[i] = kUntracked;
      continue;
    }
    t.first[i] = next;
    for (uint64_t a = r.start; a < r.end; a += kPageSize, ++next) {
      t.hashes[next] = link_populated(a, &cursor) ? kUnknown : kBase;
    }
  }
  t.count = count;
  t.generation = g_link.generation;
  memcpy(t.image_id, g_link.image_id, sizeof t.image_id);
  t.depth = g_link.depth;
  t.base_generation = g_link.base_generation;
  snprintf(t.path, sizeof t.path, "%s", g_link.path);
  t.valid = true;
}

}  // namespace

void begin_round(uint32_t generation, uint32_t last_committed) {
  (void)generation;
  unmap_retired();  // the last image is written
  if (g_link.valid) {
    if (last_committed == g_link.generation && last_committed != 0 &&
        rt::g_config.incremental && !rt::g_config.forked_checkpoint) {
      adopt_restart_image();
    }
    drop_link();
  }
  static bool warned = false;
  if (rt::g_config.incremental && rt::g_config.forked_checkpoint && !warned) {
    warned = true;
    DMTCP_WARN(
        "incremental checkpoints do not work with forked ones; this "
        "process writes full images");
  }
  g_last_committed = last_committed;
  if (g_pending->valid && g_pending->generation == last_committed &&
      last_committed != 0) {
    std::swap(g_committed, g_pending);
  }
  g_pending->valid = false;
}

int plan(image::FileHeader* h, const RegionEntry* regions, uint32_t count,
         int pagemap_fd) {
  g_incremental_now = false;
  g_tracker_trusted = false;
  g_pagemap_fd = pagemap_fd;
  g_pending->valid = false;
  g_pending->count = 0;  // filter_region() does nothing until planned
  // A forked writer is a copy of this process: the hashes it would record
  // stay in the copy.  Forked processes write full images (documented).
  if (!rt::g_config.incremental || rt::g_config.forked_checkpoint) {
    return 0;
  }
  h->flags |= image::kHeaderIncrementalMode;
  h->incremental_full_every = rt::g_config.incremental_full_every;
  while (h->image_id[0] == 0 && h->image_id[1] == 0) {
    if (getrandom(h->image_id, sizeof h->image_id, 0) !=
        static_cast<ssize_t>(sizeof h->image_id)) {
      return -errno;
    }
  }
  // Room for this image's hashes: every page of every region that may
  // inherit next time.
  uint64_t pages = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (trackable(regions[i])) {
      pages += (regions[i].end - regions[i].start) / kPageSize;
    }
  }
  if (pages > kMaxTrackedPages) {
    return -E2BIG;  // written full: no hash table for that much
  }
  Table& t = *g_pending;
  t.count = 0;
  if (!ensure(&t.regions, &t.regions_bytes, count * sizeof(RegionEntry)) ||
      !ensure(&t.first, &t.first_bytes, count * sizeof(uint64_t)) ||
      !ensure(&t.hashes, &t.hashes_bytes, pages * sizeof(Hash))) {
    return -ENOMEM;
  }
  memcpy(t.regions, regions, count * sizeof(RegionEntry));
  t.count = count;
  uint64_t next = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (trackable(regions[i])) {
      t.first[i] = next;
      next += (regions[i].end - regions[i].start) / kPageSize;
    } else {
      t.first[i] = kUntracked;
    }
  }

  const Table& prev = *g_committed;
  uint32_t every = rt::g_config.incremental_full_every;
  bool chain_ok = prev.valid && prev.generation == g_last_committed &&
                  prev.generation < h->generation &&
                  (every == 0 || prev.depth + 1 < every);
  if (chain_ok) {
    g_incremental_now = true;
    g_tracker_trusted =
        g_armed_generation != 0 && g_armed_generation == prev.generation;
    h->flags |= image::kHeaderIncremental;
    memcpy(h->parent_id, prev.image_id, sizeof h->parent_id);
    h->parent_generation = prev.generation;
    h->chain_depth = prev.depth + 1;
    h->chain_base_generation = prev.base_generation;
    snprintf(h->parent_path, sizeof h->parent_path, "%s", prev.path);
  } else {
    h->chain_base_generation = h->generation;
  }
  // This round's scans protect memory again, whatever becomes of its image.
  g_armed_generation = h->generation;
  // Where the image will be (a restart from it reads it back: after_restart).
  snprintf(t.path, sizeof t.path, "%s", rt::g_id.ckpt_filename);
  t.generation = h->generation;
  memcpy(t.image_id, h->image_id, sizeof t.image_id);
  t.depth = h->chain_depth;
  t.base_generation = h->chain_base_generation;
  return 0;
}

namespace {

// Asks the write tracker about region r (private anonymous memory only) and
// marks the written pages of filter with kWritten.  True if the tracker
// vouches for the region: unmarked pages were not written since its last
// call.
bool mark_written(const RegionEntry& r, uint64_t npages, uint8_t* filter) {
  constexpr uint32_t kNotAnon = image::kRegionFile | image::kRegionFromFile;
  if ((r.flags & kNotAnon) != 0 || (r.flags & image::kRegionAnonymous) == 0) {
    return false;
  }
  struct Marks {
    uint64_t start;
    uint64_t npages;
    uint8_t* filter;
  } marks{r.start, npages, filter};
  int rc = write_tracker::collect_and_rearm(
      g_pagemap_fd, r.start, r.end,
      [](void* arg, uint64_t first, uint64_t last) {
        auto* m = static_cast<Marks*>(arg);
        uint64_t a = (first - m->start) / kPageSize;
        uint64_t b = (last - m->start) / kPageSize;
        for (uint64_t i = a; i < b && i < m->npages; ++i) {
          m->filter[i] |= kWritten;
        }
      },
      &marks);
  return rc == 0;
}

}  // namespace

void filter_region(uint32_t index, const uint8_t* source, uint64_t npages,
                   uint8_t* filter, bool copy) {
  Table& t = *g_pending;
  if (index >= t.count || t.first[index] == kUntracked) {
    return;
  }
  const RegionEntry& r = t.regions[index];
  Hash* now = t.hashes + t.first[index];
  uint64_t prev_first = 0;
  const RegionEntry* prev =
      g_incremental_now ? inherited(*g_committed, r, &prev_first) : nullptr;
  bool from_file = (r.flags & image::kRegionFromFile) != 0;
  // Protect again before reading: a write from here on shows next time.
  bool tracked = !copy && mark_written(r, npages, filter);
  bool skip_unwritten = tracked && g_tracker_trusted && prev != nullptr;
  if (prev == nullptr) {
    for (uint64_t i = 0; i < npages; ++i) {
      filter[i] &= ~kWritten;
      if (filter[i] == 0) {
        now[i] = kBase;
        continue;
      }
      now[i] = page_state(source + i * kPageSize, from_file);
      if (from_file) {
        filter[i] = 2;  // a private page of zeros is not the file's page
      }
    }
    return;
  }
  const Hash* before = g_committed->hashes + prev_first;
  for (uint64_t i = 0; i < npages; ++i) {
    bool written = (filter[i] & kWritten) != 0;
    filter[i] &= ~kWritten;
    Hash s = kBase;
    if (filter[i] != 0) {
      s = skip_unwritten && !written
              ? before[i]
              : page_state(source + i * kPageSize, from_file);
    }
    now[i] = s;
    if (s == before[i]) {
      filter[i] = 0;  // as in the predecessor
    } else if (!(s == kBase)) {
      filter[i] = 2;  // new data
    } else if (from_file) {
      // Back to the file's bytes (MADV_DONTNEED on a private file
      // mapping): those are what memory holds now.
      filter[i] = 2;
    } else {
      filter[i] = image::kStoreZeroPage;
    }
  }
}

int predecessor_cuts(uint64_t start, uint64_t end, uint64_t* cuts, int max) {
  const Table& prev = *g_committed;
  if (!rt::g_config.incremental || !prev.valid) {
    return 0;
  }
  const RegionEntry* begin = prev.regions;
  const RegionEntry* stop = prev.regions + prev.count;
  // The first region that ends after start.
  const RegionEntry* it = std::lower_bound(
      begin, stop, start,
      [](const RegionEntry& e, uint64_t at) { return e.end <= at; });
  int n = 0;
  uint64_t last = start;
  for (; it != stop && it->start < end && n < max; ++it) {
    for (uint64_t at : {it->start, it->end}) {
      if (at > last && at < end && n < max) {
        cuts[n++] = at;
        last = at;
      }
    }
  }
  return n;
}

bool covers(uint32_t index) {
  const Table& t = *g_pending;
  return index < t.count && t.first[index] != kUntracked;
}

void image_written(const char* path) {
  unmap_retired();
  if (g_pending->count == 0) {
    return;  // not planned: no incremental mode
  }
  snprintf(g_pending->path, sizeof g_pending->path, "%s", path);
  g_pending->valid = true;
}

void image_failed() {
  unmap_retired();
  g_pending->valid = false;
}

void scratch(void (*f)(void* p, size_t len, void* arg), void* arg) {
  for (Table& t : g_tables) {
    f(t.regions, t.regions_bytes, arg);
    f(t.first, t.first_bytes, arg);
    f(t.hashes, t.hashes_bytes, arg);
  }
  f(g_link.runs, g_link.runs_bytes, arg);
}

namespace {

void add_link_run(void*, uint64_t first, uint64_t last) {
  size_t cap = g_link.runs_bytes / (2 * sizeof(uint64_t));
  if (g_link.nruns > 0 && g_link.runs[2 * g_link.nruns - 1] == first) {
    g_link.runs[2 * g_link.nruns - 1] = last;
    return;
  }
  if (g_link.nruns == cap) {
    g_link.valid = false;  // too fragmented to record: a full image next
    return;
  }
  g_link.runs[2 * g_link.nruns] = first;
  g_link.runs[2 * g_link.nruns + 1] = last;
  ++g_link.nruns;
}

void add_populated(void* arg, uint64_t first, uint64_t last, uint64_t) {
  add_link_run(arg, first, last);
}

// A private file mapping's pages that are not the file's.
void add_private(void* arg, uint64_t first, uint64_t last, uint64_t c) {
  if ((c & PAGE_IS_SWAPPED) != 0 || (c & PAGE_IS_FILE) == 0) {
    add_link_run(arg, first, last);
  }
}

// Right after a restart from an image written in incremental mode, before
// the program runs again: records which private anonymous pages memory
// holds and write-protects them, so that the first image after the
// restart can name that image as its predecessor (docs/incremental.md,
// "Across a restart").
void record_restart_image(const Table& image_table) {
  g_link.generation = image_table.generation;
  g_link.depth = image_table.depth;
  g_link.base_generation = image_table.base_generation;
  memcpy(g_link.image_id, image_table.image_id, sizeof g_link.image_id);
  snprintf(g_link.path, sizeof g_link.path, "%s", image_table.path);
  void* runs = mmap(nullptr, kLinkRunsBytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  constexpr size_t kMapsBytes = 8u << 20;
  void* maps = mmap(nullptr, kMapsBytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  int pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  long n = maps == MAP_FAILED
               ? -1
               : read_proc_file("/proc/self/maps", static_cast<char*>(maps),
                                kMapsBytes);
  if (runs == MAP_FAILED || n < 0 || pagemap_fd < 0 || !page_scan::prepare()) {
    if (runs != MAP_FAILED) {
      munmap(runs, kLinkRunsBytes);
    }
  } else {
    g_link.runs = static_cast<uint64_t*>(runs);
    g_link.runs_bytes = kLinkRunsBytes;
    g_link.valid = true;
    bool ok = for_each_map(
        std::string_view(static_cast<char*>(maps), static_cast<size_t>(n)),
        [&](const MapEntry& m) {
          if (!g_link.valid || m.shared || (m.prot & PROT_READ) == 0) {
            return;
          }
          bool anonymous = m.is_private_anonymous();
          // Registered and protected: unwritten pages stay the image's.
          if (anonymous &&
              write_tracker::collect_and_rearm(pagemap_fd, m.start, m.end,
                                               add_link_run, nullptr) == 0) {
            return;
          }
          // Not trackable: its pages are hashed at every checkpoint, but
          // which hold the image's data still matters: in anonymous
          // memory the populated pages (holes are the image's zeros), in
          // a private file mapping the pages that are not the file's (as
          // image_dump's PageRule::kPrivateChanges).
          constexpr uint64_t kAny = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
          int rc = page_scan::scan(
              pagemap_fd, m.start, m.end, 0, 0, kAny, kAny | PAGE_IS_FILE,
              anonymous ? add_populated : add_private, nullptr);
          if (rc != 0) {
            g_link.valid = false;
          }
        });
    if (!ok || !g_link.valid) {
      drop_link();
    } else {
      g_armed_generation = g_link.generation;
    }
  }
  if (maps != MAP_FAILED) {
    munmap(maps, kMapsBytes);
  }
  if (pagemap_fd >= 0) {
    close(pagemap_fd);
  }
}

}  // namespace

void after_restart() {
  // The tables describe the image we restarted from when it was planned
  // in incremental mode (plan() leaves count 0 otherwise).
  Table image_table = *g_pending;
  bool link = image_table.count != 0 && image_table.generation != 0 &&
              image_table.path[0] != '\0';
  forget_after_restart();
  if (link && rt::g_config.incremental && !rt::g_config.forked_checkpoint) {
    record_restart_image(image_table);
  }
}

void forget_after_restart() {
  write_tracker::forget_after_restart();
  g_armed_generation = 0;
  g_link = RestartLink{};  // its runs were scratch: image_dump unmapped them
  // The tables were left out of the image; image_dump unmaps the ranges
  // (scratch()) restart mapped empty there.  Arrays retired in the round
  // of the image were ours too (left out as well).
  unmap_retired();
  for (Table& t : g_tables) {
    t = Table{};
  }
  g_incremental_now = false;
}

void forget_after_fork() {
  write_tracker::forget_after_fork();
  g_armed_generation = 0;
  for (Table& t : g_tables) {
    t.valid = false;
  }
  g_incremental_now = false;
}

}  // namespace dmtcp::incremental
