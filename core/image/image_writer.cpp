// Writes checkpoint images.  See image_writer.h and docs/image-format.md.
//
// Algorithm of write_region():
//  1. Walk the region a page at a time.  A page is skipped when pagemap said
//     it was never populated (may_have_data[i] == 0) or when all its words
//     are zero; restart gets zero there from fresh anonymous memory.
//  2. Runs of data pages become chunks of at most kMaxChunkBytes.
//  3. Each chunk is hashed (raw_checksum).  Unless the incompressibility
//     heuristic says to skip, it is compressed into an mmap'd arena and kept
//     compressed only if that saves at least 3%.
//  4. Chunk headers and payloads are queued as iovecs and written with
//     writev: raw payloads straight from the application's memory, no copy.
//     The queue is flushed when full and at the end of every region.  Where
//     the file allows direct I/O, the flush copies them into one reused
//     buffer instead, written with O_DIRECT (direct_output.h): cheaper than
//     the kernel's copy into new page-cache pages.
//
// Single-threaded: compression runs in the checkpoint thread.
//
// Nothing after init() calls malloc, new or stdio: the user threads are
// frozen and one of them may hold the malloc lock.  The Impl, the arena,
// the region shapes and zstd's workspace all come from mmap.

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_createCCtx_advanced, ZSTD_customMem
#define XXH_STATIC_LINKING_ONLY   // XXH3_state_t by value, no malloc
#include "image/image_writer.h"

#include "image/direct_output.h"

#include <emmintrin.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <new>

namespace dmtcp::image {
namespace {

// Chunks per writev batch; two iovecs each (header, payload).
constexpr int kBatchChunks = 256;
constexpr int kBatchIovs = 2 * kBatchChunks + 3;
static_assert(kBatchIovs <= IOV_MAX);

// Compression is kept only if it saves at least 3% (stored < 97% of raw):
// below that, decompressing costs more at restart than reading the bytes.
constexpr uint64_t kKeepNumerator = 97;
constexpr uint64_t kKeepDenominator = 100;

// Incompressibility heuristic: after a chunk of N bytes does not compress,
// the following kFirstSkip * N bytes are stored raw without trying; each
// further failed probe doubles the factor up to kMaxSkip.  Random data then
// pays one compression per 65 chunks (~1.5%), and data turning compressible
// again is noticed within kMaxSkip chunks.  The budget is in bytes, not
// chunks, so a small random run (a few pages between zero pages) cannot
// switch compression off for a large compressible region after it; a chunk
// larger than what is left of the budget is probed.
constexpr uint64_t kFirstSkip = 8;
// Disk writeback is started every this many bytes (sync_file_range).
constexpr uint64_t kWritebackBatch = 32ull << 20;
constexpr uint64_t kMaxSkip = 64;

// zstd's window covers the largest chunk, so every frame is "single
// segment" (no window descriptor); the reader insists on that, which leaves
// no frame-header bits that could flip without changing the output.
constexpr int kWindowLog = 22;
static_assert((1ull << kWindowLog) >= kMaxChunkBytes);

// Every mapping a writer makes is listed here, tagged with its writer, so
// the checkpoint can leave them out of the image (owned_ranges) and a
// restarted process can drop them without touching them
// (forget_after_restart).  Fixed size, no malloc; a mapping that does not
// fit is simply not listed (it is then saved and restored like any memory).
struct OwnedMapping {
  const void* owner;
  uint64_t start;
  uint64_t len;
};
constexpr int kMaxOwned = 64;
OwnedMapping g_owned[kMaxOwned];
int g_owned_count = 0;
// Protects: g_owned, g_owned_count.  A spinlock: it is taken only around a
// few stores, and a pthread mutex saved mid-checkpoint would be no better.
std::atomic_flag g_owned_lock = ATOMIC_FLAG_INIT;

class OwnedLock {
 public:
  OwnedLock() {
    while (g_owned_lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~OwnedLock() { g_owned_lock.clear(std::memory_order_release); }
};

void* map_bytes(const void* owner, size_t n) {
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return nullptr;
  }
  OwnedLock lock;
  if (g_owned_count < kMaxOwned) {
    g_owned[g_owned_count++] =
        OwnedMapping{owner, reinterpret_cast<uint64_t>(p), n};
  }
  return p;
}

void unmap_bytes(void* p, size_t n) {
  if (p == nullptr || n == 0) {
    return;
  }
  {
    OwnedLock lock;
    for (int i = 0; i < g_owned_count; ++i) {
      if (g_owned[i].start == reinterpret_cast<uint64_t>(p)) {
        g_owned[i] = g_owned[--g_owned_count];
        break;
      }
    }
  }
  munmap(p, n);
}

size_t round_to_pages(size_t n) {
  return (n + kPageSize - 1) & ~(kPageSize - 1);
}

// zstd's allocator: every block is its own mapping with its length in a
// 64-byte prefix (64 keeps zstd's workspace cache-line aligned).  zstd
// allocates its workspace once and reuses it, so this is rarely called.
// opaque is the owning ImageWriter.
constexpr size_t kAllocPrefix = 64;

void* zstd_alloc(void* owner, size_t n) {
  size_t total = round_to_pages(n + kAllocPrefix);
  auto* p = static_cast<uint8_t*>(map_bytes(owner, total));
  if (p == nullptr) {
    return nullptr;
  }
  memcpy(p, &total, sizeof total);
  return p + kAllocPrefix;
}

void zstd_free(void*, void* ptr) {
  if (ptr == nullptr) {
    return;
  }
  auto* p = static_cast<uint8_t*>(ptr) - kAllocPrefix;
  size_t total;
  memcpy(&total, p, sizeof total);
  unmap_bytes(p, total);
}

// Writes every byte of iov[0..n) (iovecs are consumed).  0 or -errno.
int write_all(int fd, iovec* iov, int n) {
  while (n > 0 && iov->iov_len == 0) {
    ++iov;
    --n;
  }
  while (n > 0) {
    ssize_t w = writev(fd, iov, std::min(n, IOV_MAX));
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -errno;
    }
    if (w == 0) {
      return -EIO;
    }
    auto left = static_cast<size_t>(w);
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
    while (n > 0 && iov->iov_len == 0) {
      ++iov;
      --n;
    }
  }
  return 0;
}

template <typename T>
uint64_t checksum_without(T value, uint64_t T::*field) {
  value.*field = 0;
  return XXH3_64bits(&value, sizeof value);
}

struct RegionShape {
  uint64_t npages;
  uint32_t flags;
  // The region's first page modulo kMaxChunkBytes / kPageSize: a run of data
  // is cut where the address is kMaxChunkBytes-aligned (see write_region).
  uint32_t start_phase;
};

}  // namespace

// Zero pages must cost no more than reading them: OR 256 bytes at a time in
// SSE2 registers (x86_64 baseline) and stop at the first nonzero block.
// Unaligned loads: callers' memory need not be page aligned.
bool page_is_zero(const uint8_t* page) {
  constexpr size_t kBlock = 256;
  const __m128i zero = _mm_setzero_si128();
  for (size_t off = 0; off < kPageSize; off += kBlock) {
    const auto* v = reinterpret_cast<const __m128i*>(page + off);
    __m128i a = _mm_or_si128(_mm_loadu_si128(v + 0), _mm_loadu_si128(v + 1));
    __m128i b = _mm_or_si128(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3));
    for (int i = 4; i < static_cast<int>(kBlock / 16); i += 4) {
      a = _mm_or_si128(
          a, _mm_or_si128(_mm_loadu_si128(v + i), _mm_loadu_si128(v + i + 1)));
      b = _mm_or_si128(b, _mm_or_si128(_mm_loadu_si128(v + i + 2),
                                       _mm_loadu_si128(v + i + 3)));
    }
    __m128i eq = _mm_cmpeq_epi8(_mm_or_si128(a, b), zero);
    if (_mm_movemask_epi8(eq) != 0xffff) {
      return false;
    }
  }
  return true;
}

namespace {
// One page of zeros: the source of pages stored as zero (filter 3).
alignas(4096) const uint8_t kZeroPage[kPageSize] = {};
}  // namespace

struct ImageWriter::Impl {
  // Streamed over every ChunkHeader as written and every compressed payload
  // (Trailer::chunks_checksum).
  XXH3_state_t chunks_hash;
  XXH3_state_t table_hash;

  Options options;
  ZSTD_CCtx* cctx = nullptr;

  // Compressed payloads waiting in the batch; reset at every flush.
  uint8_t* arena = nullptr;
  size_t arena_cap = 0;
  size_t arena_used = 0;

  // The writev batch: headers live here until written.
  ChunkHeader headers[kBatchChunks];
  int nheaders = 0;
  iovec iov[kBatchIovs];
  int niov = 0;

  // Copy of each region's size and flags from begin(), to check callers.
  RegionShape* shapes = nullptr;
  size_t shapes_bytes = 0;
  uint32_t region_count = 0;
  // The shapes begin() outgrew, unmapped only by finish(): the caller
  // planned the image before begin(), and the kernel may have merged the
  // old mapping into a neighbouring region of that plan (the runtime's
  // .bss), which unmapping it mid-image would cut a hole in (SIGSEGV
  // while that region is copied).
  RegionShape* retired_shapes = nullptr;
  size_t retired_shapes_bytes = 0;

  // Direct I/O: the buffer (mapped by init() when options.direct_io) and
  // the output using it, active from begin() to finish() where possible.
  uint8_t* out_buf = nullptr;
  DirectOutput out;

  int fd = -1;
  uint64_t written = 0;         // bytes of chunks written since begin()
  uint64_t writeback_from = 0;  // start of the range not yet handed to disk
  bool warmed_up = false;       // zstd workspace allocated (init)
  bool begun = false;
  int failed = 0;  // first -errno; every later call returns it
  int64_t last_region = -1;
  uint64_t next_page = 0;  // of last_region: where the next part may start
  uint64_t chunk_count = 0;
  uint64_t raw_bytes = 0;
  uint64_t skip_bytes = 0;  // stored raw without probing, then probe again
  uint64_t skip_factor = kFirstSkip;
};

ImageWriter::~ImageWriter() {
  if (impl_ == nullptr) {
    return;
  }
  ZSTD_freeCCtx(impl_->cctx);
  unmap_bytes(impl_->arena, impl_->arena_cap);
  unmap_bytes(impl_->out_buf, DirectOutput::kBufferBytes);
  unmap_bytes(impl_->shapes, impl_->shapes_bytes);
  unmap_bytes(impl_->retired_shapes, impl_->retired_shapes_bytes);
  impl_->~Impl();
  unmap_bytes(impl_, round_to_pages(sizeof(Impl)));
}

int ImageWriter::init(const Options& options) {
  if (impl_ == nullptr) {
    void* mem = map_bytes(this, round_to_pages(sizeof(Impl)));
    if (mem == nullptr) {
      return -ENOMEM;
    }
    impl_ = new (mem) Impl;
  }
  Impl& s = *impl_;
  if (s.begun) {
    return -EBUSY;
  }
  s.options = options;
  if (options.direct_io && s.out_buf == nullptr) {
    s.out_buf =
        static_cast<uint8_t*>(map_bytes(this, DirectOutput::kBufferBytes));
    if (s.out_buf == nullptr) {
      return -ENOMEM;
    }
  }
  if (!options.compress) {
    return 0;
  }
  if (s.cctx == nullptr) {
    ZSTD_customMem mem = {zstd_alloc, zstd_free, this};
    s.cctx = ZSTD_createCCtx_advanced(mem);
    if (s.cctx == nullptr) {
      return -ENOMEM;
    }
  }
  if (s.arena == nullptr) {
    size_t cap = round_to_pages(2 * ZSTD_compressBound(kMaxChunkBytes));
    s.arena = static_cast<uint8_t*>(map_bytes(this, cap));
    if (s.arena == nullptr) {
      return -ENOMEM;
    }
    s.arena_cap = cap;
  }
  int level = std::clamp(options.zstd_level, 1, ZSTD_maxCLevel());
  if (ZSTD_isError(
          ZSTD_CCtx_reset(s.cctx, ZSTD_reset_session_and_parameters)) ||
      ZSTD_isError(
          ZSTD_CCtx_setParameter(s.cctx, ZSTD_c_compressionLevel, level)) ||
      ZSTD_isError(
          ZSTD_CCtx_setParameter(s.cctx, ZSTD_c_windowLog, kWindowLog)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(s.cctx, ZSTD_c_contentSizeFlag, 1)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(s.cctx, ZSTD_c_checksumFlag, 0))) {
    return -EINVAL;
  }
  if (!s.warmed_up) {
    // zstd sizes its workspace at the first compression.  Do that now, so
    // every mapping the writer will use exists (and is listed by
    // owned_ranges) before the caller plans the image: memory that appeared
    // in the middle of writing would be saved while it changes.
    void* zeros = mmap(nullptr, kMaxChunkBytes, PROT_READ,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (zeros == MAP_FAILED) {
      return -ENOMEM;
    }
    size_t r =
        ZSTD_compress2(s.cctx, s.arena, s.arena_cap, zeros, kMaxChunkBytes);
    munmap(zeros, kMaxChunkBytes);
    if (ZSTD_isError(r)) {
      return -EINVAL;
    }
    s.warmed_up = true;
  }
  return 0;
}

int ImageWriter::begin(int fd, FileHeader header, const RegionEntry* regions,
                       uint32_t region_count, const char* names,
                       uint32_t names_size, const uint8_t* notes,
                       uint32_t notes_size, uint32_t notes_count) {
  if (impl_ == nullptr || impl_->begun || fd < 0 ||
      (region_count != 0 && regions == nullptr) ||
      (names_size != 0 && names == nullptr) ||
      (notes_size != 0 && notes == nullptr)) {
    return -EINVAL;
  }
  Impl& s = *impl_;

  size_t shapes_bytes =
      round_to_pages(std::max<size_t>(1, region_count) * sizeof(RegionShape));
  if (shapes_bytes > s.shapes_bytes) {
    unmap_bytes(s.retired_shapes, s.retired_shapes_bytes);
    s.retired_shapes = s.shapes;
    s.retired_shapes_bytes = s.shapes_bytes;
    s.shapes_bytes = 0;
    s.shapes = static_cast<RegionShape*>(map_bytes(this, shapes_bytes));
    if (s.shapes == nullptr) {
      return -ENOMEM;
    }
    s.shapes_bytes = shapes_bytes;
  }
  for (uint32_t i = 0; i < region_count; ++i) {
    const RegionEntry& r = regions[i];
    uint64_t pages = r.end > r.start ? (r.end - r.start) / kPageSize : 0;
    auto phase = static_cast<uint32_t>((r.start / kPageSize) %
                                       (kMaxChunkBytes / kPageSize));
    s.shapes[i] = RegionShape{pages, r.flags, phase};
  }

  memcpy(header.magic, kMagic, sizeof header.magic);
  header.format_version = kFormatVersion;
  // Every image has an identity of its own, which an incremental successor
  // names (image_format.h); the caller may have chosen it already.
  while (header.image_id[0] == 0 && header.image_id[1] == 0) {
    if (getrandom(header.image_id, sizeof header.image_id, 0) !=
        static_cast<ssize_t>(sizeof header.image_id)) {
      return errno != 0 ? -errno : -EIO;
    }
  }
  if ((header.flags & kHeaderIncremental) == 0) {
    header.chain_base_generation = header.generation;
  }
  header.header_size = sizeof(FileHeader);
  header.region_count = region_count;
  header.names_size = names_size;
  header.notes_size = notes_size;
  header.notes_count = notes_count;
  XXH3_64bits_reset(&s.table_hash);
  XXH3_64bits_update(&s.table_hash, regions,
                     size_t{region_count} * sizeof(RegionEntry));
  XXH3_64bits_update(&s.table_hash, names, names_size);
  XXH3_64bits_update(&s.table_hash, notes, notes_size);
  header.table_checksum = XXH3_64bits_digest(&s.table_hash);
  header.header_checksum =
      checksum_without(header, &FileHeader::header_checksum);

  iovec iov[4] = {
      {&header, sizeof header},
      {const_cast<RegionEntry*>(regions),
       size_t{region_count} * sizeof(RegionEntry)},
      {const_cast<char*>(names), names_size},
      {const_cast<uint8_t*>(notes), notes_size},
  };
  bool direct = s.options.direct_io && s.out.start(fd, s.out_buf);
  int rc = direct ? s.out.append_all(iov, 4) : write_all(fd, iov, 4);
  if (rc != 0) {
    s.out.finish();
    return rc;
  }

  s.fd = fd;
  s.written = sizeof(FileHeader) + size_t{region_count} * sizeof(RegionEntry) +
              names_size + notes_size;
  s.writeback_from = 0;
  s.region_count = region_count;
  s.begun = true;
  s.failed = 0;
  s.last_region = -1;
  s.chunk_count = 0;
  s.raw_bytes = 0;
  s.skip_bytes = 0;
  s.skip_factor = kFirstSkip;
  s.nheaders = 0;
  s.niov = 0;
  s.arena_used = 0;
  XXH3_64bits_reset(&s.chunks_hash);
  stats_ = Stats{};
  return 0;
}

int ImageWriter::flush() {
  Impl& s = *impl_;
  uint64_t bytes = 0;
  for (int i = 0; i < s.niov; ++i) {
    bytes += s.iov[i].iov_len;
  }
  int rc = s.out.active() ? s.out.append_all(s.iov, s.niov)
                          : write_all(s.fd, s.iov, s.niov);
  s.niov = 0;
  s.nheaders = 0;
  s.arena_used = 0;
  if (rc != 0) {
    s.failed = rc;
    return rc;
  }
  // Start the disk writing now, in the background, while we compress the
  // next batch: the caller's final fsync then finds little left to do.
  // (Advisory: a file system that does not support it loses nothing.)
  s.written += bytes;
  if (!s.out.active() && s.written - s.writeback_from >= kWritebackBatch) {
    sync_file_range(s.fd, static_cast<off_t>(s.writeback_from),
                    static_cast<off_t>(s.written - s.writeback_from),
                    SYNC_FILE_RANGE_WRITE);
    s.writeback_from = s.written;
  }
  return 0;
}

// Decides how one run of data pages is stored, queues it, and flushes the
// batch when full.
int ImageWriter::emit_chunk(uint32_t index, uint64_t first_page,
                            const uint8_t* data, uint64_t npages) {
  Impl& s = *impl_;
  size_t raw_size = npages * kPageSize;
  bool try_compress = s.options.compress;
  if (try_compress && raw_size <= s.skip_bytes) {
    s.skip_bytes -= raw_size;
    try_compress = false;
  }
  size_t bound = try_compress ? ZSTD_compressBound(raw_size) : 0;
  if (s.nheaders == kBatchChunks || s.arena_used + bound > s.arena_cap) {
    if (int rc = flush(); rc != 0) {
      return rc;
    }
  }

  ChunkHeader& h = s.headers[s.nheaders];
  h = ChunkHeader{};
  h.magic = kChunkMagic;
  h.region_index = index;
  h.page_offset = first_page;
  h.page_count = static_cast<uint32_t>(npages);
  h.encoding = static_cast<uint32_t>(Encoding::kRaw);
  h.stored_size = raw_size;
  h.raw_checksum = XXH3_64bits(data, raw_size);
  const void* payload = data;

  if (try_compress) {
    uint8_t* out = s.arena + s.arena_used;
    ++stats_.compress_tries;
    size_t n = ZSTD_compress2(s.cctx, out, bound, data, raw_size);
    if (!ZSTD_isError(n) && n * kKeepDenominator < raw_size * kKeepNumerator) {
      h.encoding = static_cast<uint32_t>(Encoding::kZstd);
      h.stored_size = n;
      payload = out;
      s.arena_used += n;
      s.skip_bytes = 0;
      s.skip_factor = kFirstSkip;
    } else {
      s.skip_bytes = raw_size * s.skip_factor;
      s.skip_factor = std::min(s.skip_factor * 2, kMaxSkip);
    }
  }
  h.header_checksum = checksum_without(h, &ChunkHeader::header_checksum);
  XXH3_64bits_update(&s.chunks_hash, &h, sizeof h);
  if (payload != data) {
    // Compressed bytes are covered too: some bits of a zstd frame can flip
    // without changing what it decodes to, and a damaged image must never
    // read back as good.  (Raw payloads are covered by raw_checksum.)
    XXH3_64bits_update(&s.chunks_hash, payload, h.stored_size);
  }
  ++s.nheaders;

  s.iov[s.niov++] = iovec{&h, sizeof h};
  s.iov[s.niov++] = iovec{const_cast<void*>(payload), h.stored_size};

  ++s.chunk_count;
  s.raw_bytes += raw_size;
  ++stats_.chunks;
  stats_.raw_bytes += raw_size;
  stats_.stored_bytes += h.stored_size;
  return 0;
}

int ImageWriter::write_region(uint32_t index, const uint8_t* base,
                              uint64_t npages, const uint8_t* may_have_data) {
  if (impl_ != nullptr && impl_->begun && index < impl_->region_count &&
      npages != impl_->shapes[index].npages) {
    return -EINVAL;
  }
  return write_region_pages(index, base, 0, npages, may_have_data);
}

int ImageWriter::write_region_pages(uint32_t index, const uint8_t* base,
                                    uint64_t first, uint64_t npages,
                                    const uint8_t* may_have_data) {
  if (impl_ == nullptr || !impl_->begun) {
    return -EINVAL;
  }
  Impl& s = *impl_;
  if (s.failed != 0) {
    return s.failed;
  }
  // Chunks must come in region order, each page once; the reader insists.
  bool same = static_cast<int64_t>(index) == s.last_region;
  if (index >= s.region_count ||
      (!same && static_cast<int64_t>(index) < s.last_region) ||
      (same && first < s.next_page) ||
      first + npages > s.shapes[index].npages || first + npages < first) {
    return -EINVAL;
  }
  s.last_region = index;
  s.next_page = first + npages;
  // Reservations have no contents; a shared file mapping's are the file's.
  if ((s.shapes[index].flags & (kRegionNoData | kRegionSharedFile)) != 0 ||
      npages == 0) {
    return 0;
  }
  if (base == nullptr) {
    return -EINVAL;
  }
  // From here on, i is a page of the region (chunks name their page
  // offset in it), and base the region's start.
  base -= first * kPageSize;

  // A chunk ends at the latest where the address is kMaxChunkBytes-aligned,
  // so a long run of data becomes aligned 4 MiB chunks: restart reads each
  // into whole 2 MiB huge pages (docs/restore.md, "Reading memory back").
  constexpr uint64_t kChunkPages = kMaxChunkBytes / kPageSize;
  const uint64_t phase = s.shapes[index].start_phase;
  uint64_t run_start = 0;
  uint64_t run_len = 0;
  for (uint64_t i = first; i < first + npages; ++i) {
    const uint8_t* page = base + i * kPageSize;
    uint8_t filter = may_have_data != nullptr ? may_have_data[i - first] : 1;
    if (filter == kStoreZeroPage) {
      // Zero now, data in the predecessor: stored as a page of zeros of
      // our own, without reading the program's (which may not be readable).
      if (run_len > 0) {
        int rc =
            emit_chunk(index, run_start, base + run_start * kPageSize, run_len);
        if (rc != 0) {
          return rc;
        }
        run_len = 0;
      }
      if (int rc = emit_chunk(index, i, kZeroPage, 1); rc != 0) {
        return rc;
      }
      continue;
    }
    bool zero = filter == 0 || (filter == 1 && page_is_zero(page));
    if (zero) {
      ++stats_.zero_pages;
    } else {
      if (run_len == 0) {
        run_start = i;
      }
      ++run_len;
    }
    bool boundary = (phase + i + 1) % kChunkPages == 0;
    if (run_len > 0 && (zero || boundary || run_len == kChunkPages)) {
      int rc =
          emit_chunk(index, run_start, base + run_start * kPageSize, run_len);
      if (rc != 0) {
        return rc;
      }
      run_len = 0;
    }
  }
  if (run_len > 0) {
    if (int rc =
            emit_chunk(index, run_start, base + run_start * kPageSize, run_len);
        rc != 0) {
      return rc;
    }
  }
  // Payloads point into the caller's memory: nothing stays queued past the
  // call that named it.
  return flush();
}

int ImageWriter::owned_ranges(OwnedRange* out, int max) {
  OwnedLock lock;
  int n = 0;
  for (int i = 0; i < g_owned_count && n < max; ++i) {
    out[n++] = OwnedRange{g_owned[i].start, g_owned[i].len};
  }
  return n;
}

void ImageWriter::after_fork_in_child() {
  g_owned_lock.clear(std::memory_order_release);
}

void ImageWriter::forget_after_restart() {
  // The mappings were left out of the image, so after restart impl_ and
  // everything it points to are gone: drop the pointers, touch nothing.
  {
    OwnedLock lock;
    for (int i = 0; i < g_owned_count;) {
      if (g_owned[i].owner == this) {
        g_owned[i] = g_owned[--g_owned_count];
      } else {
        ++i;
      }
    }
  }
  impl_ = nullptr;
  stats_ = Stats{};
}

int ImageWriter::finish() {
  if (impl_ == nullptr || !impl_->begun) {
    return -EINVAL;
  }
  Impl& s = *impl_;
  s.begun = false;
  unmap_bytes(s.retired_shapes, s.retired_shapes_bytes);
  s.retired_shapes = nullptr;
  s.retired_shapes_bytes = 0;
  if (s.failed != 0) {
    s.out.finish();
    return s.failed;
  }
  if (int rc = flush(); rc != 0) {
    s.out.finish();
    return rc;
  }
  Trailer t{};
  memcpy(t.magic, kTrailerMagic, sizeof t.magic);
  t.chunk_count = s.chunk_count;
  t.raw_bytes = s.raw_bytes;
  t.chunks_checksum = XXH3_64bits_digest(&s.chunks_hash);
  t.trailer_checksum = checksum_without(t, &Trailer::trailer_checksum);
  iovec iov = {&t, sizeof t};
  if (!s.out.active()) {
    return write_all(s.fd, &iov, 1);
  }
  int rc = s.out.append_all(&iov, 1);
  int finished = s.out.finish();
  stats_.direct_io = s.out.went_direct();
  return rc != 0 ? rc : finished;
}

}  // namespace dmtcp::image
