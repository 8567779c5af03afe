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
//  4. image_written()/image_failed(): the pending table describes the
//     image on disk, or nothing.
#include "runtime/incremental.h"

#include <sys/mman.h>
#include <sys/random.h>
// XXH3-128 by value, no malloc.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "image/image_writer.h"
#include "runtime/runtime.h"

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
constexpr uint64_t kUntracked = UINT64_MAX;

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
  return out == kBase ? kBaseAlias : out;
}

}  // namespace

void begin_round(uint32_t generation, uint32_t last_committed) {
  (void)generation;
  unmap_retired();  // the last image is written
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

int plan(image::FileHeader* h, const RegionEntry* regions, uint32_t count) {
  g_incremental_now = false;
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
    h->flags |= image::kHeaderIncremental;
    memcpy(h->parent_id, prev.image_id, sizeof h->parent_id);
    h->parent_generation = prev.generation;
    h->chain_depth = prev.depth + 1;
    h->chain_base_generation = prev.base_generation;
    snprintf(h->parent_path, sizeof h->parent_path, "%s", prev.path);
  } else {
    h->chain_base_generation = h->generation;
  }
  t.generation = h->generation;
  memcpy(t.image_id, h->image_id, sizeof t.image_id);
  t.depth = h->chain_depth;
  t.base_generation = h->chain_base_generation;
  return 0;
}

void filter_region(uint32_t index, const uint8_t* source, uint64_t npages,
                   uint8_t* filter) {
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
  if (prev == nullptr) {
    for (uint64_t i = 0; i < npages; ++i) {
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
    Hash s =
        filter[i] != 0 ? page_state(source + i * kPageSize, from_file) : kBase;
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
}

void forget_after_restart() {
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
  for (Table& t : g_tables) {
    t.valid = false;
  }
  g_incremental_now = false;
}

}  // namespace dmtcp::incremental
