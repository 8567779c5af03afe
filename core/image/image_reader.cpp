// Reads and verifies checkpoint images.  See image_reader.h and
// docs/image-format.md.
//
// Everything in the file is untrusted: each field is checked before it is
// used, and every checksum is checked before the data it covers is believed.
// Messages tell two failures apart: "truncated at byte N (image incomplete)"
// when the file ends early (a checkpoint that died while writing), and
// "... (corrupt image)" when bytes that are there are wrong.

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#define XXH_STATIC_LINKING_ONLY   // XXH3_state_t on the stack
#include "image/image_reader.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>

namespace dmtcp::image {
namespace {

// Sanity limits for untrusted counts: far above any real process, low
// enough that a corrupt count cannot make us allocate gigabytes.
constexpr uint32_t kMaxRegions = 1u << 20;
constexpr uint32_t kMaxNamesSize = 64u << 20;
constexpr uint32_t kMaxNotesSize = 64u << 20;
// Canonical user-space limit on x86_64 (47-bit addresses).
constexpr uint64_t kMaxUserAddress = 0x800000000000ull;

// Small reads go through a buffer; larger ones (raw chunks) go straight
// from the page cache into their destination.
constexpr size_t kBufferSize = 1u << 20;
constexpr size_t kDirectReadMin = 256u << 10;
// What a refill after a seek asks for: a chunk header and then some.
constexpr size_t kRefillAfterSeek = 4096;

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

template <typename T>
uint64_t checksum_without(T value, uint64_t T::*field) {
  value.*field = 0;
  return XXH3_64bits(&value, sizeof value);
}

// A region restart maps shared must be what the writer makes: a named
// shared file mapping (kRegionSharedFile) or shared memory without a file
// (kRegionSharedObject), never both, never reserve-only or from-file, at a
// page-aligned offset (mmap needs one).
bool shared_flags_valid(const RegionEntry& r) {
  constexpr uint32_t kSharedKinds = kRegionSharedFile | kRegionSharedObject;
  if ((r.flags & kSharedKinds) == 0) {
    return true;
  }
  if ((r.flags & kSharedKinds) == kSharedKinds ||
      (r.flags & (kRegionShared | kRegionPrivate)) != kRegionShared ||
      (r.flags & (kRegionNoData | kRegionFromFile)) != 0 ||
      r.file_offset % kPageSize != 0) {
    return false;
  }
  if ((r.flags & kRegionSharedFile) != 0) {
    return (r.flags & kRegionFile) != 0 && r.name_len != 0;
  }
  return (r.flags & kRegionFile) == 0;
}

// zstd frame header descriptor bits (RFC 8878 3.1.1.1.1).
constexpr uint8_t kFhdSingleSegment = 1u << 5;
constexpr uint8_t kFhdUnusedAndReserved = (1u << 4) | (1u << 3);
constexpr size_t kZstdMagicSize = 4;

}  // namespace

ImageReader::~ImageReader() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::string_view ImageReader::region_name(uint32_t index) const {
  if (index >= regions_.size()) {
    return {};
  }
  const RegionEntry& r = regions_[index];
  return std::string_view(names_).substr(r.name_offset, r.name_len);
}

bool ImageReader::fail(std::string* error, const std::string& what) const {
  if (error != nullptr) {
    *error = path_ + ": " + what;
  }
  return false;
}

bool ImageReader::truncated(std::string* error) const {
  return fail(error,
              format("truncated at byte %" PRIu64 " (image incomplete)", pos_));
}

// Reads up to n bytes; *got says how many arrived before end of file.
// False only on a read error (with *error set).
bool ImageReader::read_some(void* dst, size_t n, size_t* got,
                            std::string* error) {
  auto* out = static_cast<uint8_t*>(dst);
  size_t done = 0;
  while (done < n) {
    if (buf_pos_ < buf_len_) {
      size_t take = std::min(n - done, buf_len_ - buf_pos_);
      memcpy(out + done, buf_.data() + buf_pos_, take);
      buf_pos_ += take;
      done += take;
      pos_ += take;
      continue;
    }
    bool direct = n - done >= kDirectReadMin;
    uint8_t* target = direct ? out + done : buf_.data();
    size_t want = direct ? n - done : std::min(buf_.size(), refill_);
    ssize_t r = ::read(fd_, target, want);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      int e = errno;
      *got = done;
      return fail(error, format("read error at byte %" PRIu64 ": %s", pos_,
                                strerror(e)));
    }
    if (r == 0) {
      break;
    }
    if (direct) {
      done += static_cast<size_t>(r);
      pos_ += static_cast<uint64_t>(r);
    } else {
      buf_pos_ = 0;
      buf_len_ = static_cast<size_t>(r);
      refill_ = refill_ < buf_.size() / 2 ? refill_ * 2 : buf_.size();
    }
  }
  *got = done;
  return true;
}

bool ImageReader::read_exact(void* dst, size_t n, std::string* error) {
  size_t got = 0;
  if (!read_some(dst, n, &got, error)) {
    return false;
  }
  if (got < n) {
    return truncated(error);
  }
  return true;
}

// Passes over n bytes (a chunk nobody wants).  The buffer first, then
// lseek; the size taken at open() tells a short file, as a read would.
bool ImageReader::skip_exact(uint64_t n, std::string* error) {
  uint64_t take = std::min<uint64_t>(n, buf_len_ - buf_pos_);
  buf_pos_ += take;
  pos_ += take;
  n -= take;
  if (n == 0) {
    return true;
  }
  if (pos_ + n > file_size_) {
    pos_ = file_size_;
    return truncated(error);
  }
  if (::lseek(fd_, static_cast<off_t>(pos_ + n), SEEK_SET) < 0) {
    return fail(error, format("seek to byte %" PRIu64 ": %s", pos_ + n,
                              strerror(errno)));
  }
  pos_ += n;
  refill_ = kRefillAfterSeek;
  return true;
}

bool ImageReader::open(const std::string& path, std::string* error) {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  path_ = path;
  regions_.clear();
  names_.clear();
  notes_blob_.clear();
  notes_.clear();
  header_ = FileHeader{};
  header_checked_ = false;
  pos_ = 0;
  buf_pos_ = buf_len_ = 0;
  data_read_ = false;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    return fail(error, format("cannot open: %s", strerror(errno)));
  }
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    return fail(error, format("cannot stat: %s", strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    return fail(error, "is a directory, not a checkpoint image");
  }
  file_size_ =
      S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : UINT64_MAX;
  posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  try {
    // No bigger than the file: a small image (or a fuzzer's input) need
    // not pay for zeroing a megabyte.
    buf_.resize(
        std::max<uint64_t>(4096, std::min<uint64_t>(kBufferSize, file_size_)));
  } catch (const std::bad_alloc&) {
    return fail(error, "out of memory for the read buffer");
  }

  // 1. The header: magic, then version (a newer layout may differ from
  //    here on), then its size and checksum, then the counts it gives.
  FileHeader h;
  size_t got = 0;
  if (!read_some(&h, sizeof h, &got, error)) {
    return false;
  }
  if (got == 0) {
    return fail(error, "empty file (image incomplete)");
  }
  if (memcmp(h.magic, kMagic, std::min(got, sizeof h.magic)) != 0) {
    return fail(error, "not a DMTCP checkpoint image");
  }
  if (got < offsetof(FileHeader, format_version) + sizeof h.format_version) {
    return truncated(error);
  }
  if (h.format_version != kFormatVersion) {
    return fail(error, format("unsupported image format version %u (this "
                              "build reads %u)",
                              h.format_version, kFormatVersion));
  }
  if (got < sizeof h) {
    return truncated(error);
  }
  if (h.header_checksum != checksum_without(h, &FileHeader::header_checksum)) {
    return fail(error, "header checksum mismatch (corrupt image)");
  }
  if (h.header_size != sizeof h) {
    return fail(error, format("header size %u, expected %zu (corrupt image)",
                              h.header_size, sizeof h));
  }
  if (h.region_count > kMaxRegions) {
    return fail(error, format("%u memory regions, more than the limit %u "
                              "(corrupt image)",
                              h.region_count, kMaxRegions));
  }
  if (h.names_size > kMaxNamesSize) {
    return fail(error, format("region names take %u bytes, more than the "
                              "limit %u (corrupt image)",
                              h.names_size, kMaxNamesSize));
  }
  if (h.notes_size > kMaxNotesSize ||
      h.notes_count > h.notes_size / sizeof(NoteHeader)) {
    return fail(error, format("%u notes in %u bytes, more than the limit %u "
                              "or than fit (corrupt image)",
                              h.notes_count, h.notes_size, kMaxNotesSize));
  }
  if ((h.flags & ~kHeaderKnownFlags) != 0) {
    return fail(error,
                format("unknown header flags 0x%x (corrupt image)", h.flags));
  }
  // The chain link (version 6): an incremental image names a predecessor
  // of an earlier generation, by identity and path; a full one names none.
  if (h.image_id[0] == 0 && h.image_id[1] == 0) {
    return fail(error, "image has no identity (corrupt image)");
  }
  size_t parent_path_len = strnlen(h.parent_path, sizeof h.parent_path);
  if (parent_path_len == sizeof h.parent_path) {
    return fail(error, "predecessor path is not terminated (corrupt image)");
  }
  if ((h.flags & kHeaderIncremental) != 0) {
    if ((h.parent_id[0] == 0 && h.parent_id[1] == 0) || h.chain_depth == 0 ||
        h.parent_generation >= h.generation ||
        h.chain_base_generation > h.parent_generation || parent_path_len == 0 ||
        (h.flags & kHeaderIncrementalMode) == 0) {
      return fail(error,
                  "incremental image with an impossible link to its "
                  "predecessor (corrupt image)");
    }
  } else if (h.parent_id[0] != 0 || h.parent_id[1] != 0 || h.chain_depth != 0 ||
             h.parent_generation != 0 || parent_path_len != 0 ||
             h.chain_base_generation != h.generation) {
    return fail(error,
                "full image with a link to a predecessor (corrupt "
                "image)");
  }
  header_ = h;
  header_checked_ = true;

  // 2. The region table and names, under one checksum.
  // The limits above keep these to tens of MiB; still, no exception leaves
  // the reader.
  std::vector<RegionEntry> regions;
  std::string names;
  std::string notes;
  try {
    regions.resize(h.region_count);
    names.resize(h.names_size);
    notes.resize(h.notes_size);
  } catch (const std::bad_alloc&) {
    return fail(error, "out of memory for the region table");
  }
  if (!read_exact(regions.data(), regions.size() * sizeof(RegionEntry),
                  error) ||
      !read_exact(names.data(), names.size(), error) ||
      !read_exact(notes.data(), notes.size(), error)) {
    return false;
  }
  XXH3_state_t st_hash;
  XXH3_64bits_reset(&st_hash);
  XXH3_64bits_update(&st_hash, regions.data(),
                     regions.size() * sizeof(RegionEntry));
  XXH3_64bits_update(&st_hash, names.data(), names.size());
  XXH3_64bits_update(&st_hash, notes.data(), notes.size());
  if (XXH3_64bits_digest(&st_hash) != h.table_checksum) {
    return fail(error, "region table checksum mismatch (corrupt image)");
  }

  // 3. Each region must be a plausible mapping, in address order.
  for (uint32_t i = 0; i < h.region_count; ++i) {
    const RegionEntry& r = regions[i];
    if (r.start >= r.end || r.start % kPageSize != 0 ||
        r.end % kPageSize != 0 || r.end > kMaxUserAddress) {
      return fail(error, format("region %u [0x%" PRIx64 ", 0x%" PRIx64
                                ") is not a valid mapping (corrupt image)",
                                i, r.start, r.end));
    }
    if (uint64_t{r.name_offset} + r.name_len > h.names_size) {
      return fail(error, format("region %u names bytes [%u, +%u) outside the "
                                "%u-byte names blob (corrupt image)",
                                i, r.name_offset, r.name_len, h.names_size));
    }
    if ((r.flags & kRegionFromFile) != 0 &&
        ((r.flags & (kRegionFile | kRegionPrivate)) !=
             (kRegionFile | kRegionPrivate) ||
         (r.flags & kRegionNoData) != 0 || r.name_len == 0)) {
      return fail(error, format("region %u is marked to come from its file "
                                "but is not a named private file mapping "
                                "(corrupt image)",
                                i));
    }
    if (!shared_flags_valid(r)) {
      return fail(error, format("region %u has an impossible combination of "
                                "shared-mapping flags 0x%x (corrupt image)",
                                i, r.flags));
    }
    if (i > 0 && r.start < regions[i - 1].end) {
      return fail(error, format("region %u at 0x%" PRIx64 " overlaps or "
                                "precedes region %u (corrupt image)",
                                i, r.start, i - 1));
    }
  }

  // 4. The notes: each header and its padded payload inside the blob,
  //    the owner a name, exactly notes_count of them filling it.
  struct Span {
    size_t owner_at, owner_len;
    uint32_t type;
    size_t at, len;
  };
  std::vector<Span> spans;
  uint64_t at = 0;
  while (at < notes.size()) {
    auto bad_note = [&](const char* what) {
      return fail(error, format("note %zu at notes byte %" PRIu64 ": %s "
                                "(corrupt image)",
                                spans.size(), at, what));
    };
    if (notes.size() - at < sizeof(NoteHeader) ||
        spans.size() >= h.notes_count) {
      return bad_note("more notes than the header lists");
    }
    NoteHeader n;
    memcpy(&n, notes.data() + at, sizeof n);
    size_t owner_len = strnlen(n.owner, sizeof n.owner);
    if (owner_len == 0 || owner_len == sizeof n.owner) {
      return bad_note("owner is not a name");
    }
    uint64_t padded =
        (uint64_t{n.size} + kNoteAlign - 1) / kNoteAlign * kNoteAlign;
    if (padded > notes.size() - at - sizeof n) {
      return bad_note("payload runs past the notes");
    }
    spans.push_back({static_cast<size_t>(at) + offsetof(NoteHeader, owner),
                     owner_len, n.type, static_cast<size_t>(at) + sizeof n,
                     n.size});
    at += sizeof n + padded;
  }
  if (spans.size() != h.notes_count) {
    return fail(error, format("%zu notes, the header lists %u (corrupt "
                              "image)",
                              spans.size(), h.notes_count));
  }

  regions_ = std::move(regions);
  names_ = std::move(names);
  notes_blob_ = std::move(notes);
  std::string_view blob(notes_blob_);
  for (const Span& sp : spans) {
    notes_.push_back({blob.substr(sp.owner_at, sp.owner_len), sp.type,
                      blob.substr(sp.at, sp.len)});
  }
  data_offset_ = pos_;
  return true;
}

// Checks a chunk header's fields against the table and the chunk before it.
bool ImageReader::check_chunk(const ChunkHeader& c, uint64_t at,
                              int64_t prev_region, uint64_t prev_end,
                              std::string* error) const {
  auto bad = [&](const std::string& what) {
    return fail(error, format("chunk at byte %" PRIu64 ": %s (corrupt image)",
                              at, what.c_str()));
  };
  if (c.region_index >= regions_.size()) {
    return bad(format("region %u does not exist", c.region_index));
  }
  const RegionEntry& r = regions_[c.region_index];
  if ((r.flags & (kRegionNoData | kRegionSharedFile)) != 0) {
    return bad(format("region %u holds no data", c.region_index));
  }
  uint64_t region_pages = (r.end - r.start) / kPageSize;
  if (c.page_count == 0 || c.page_offset >= region_pages ||
      c.page_count > region_pages - c.page_offset) {
    return bad(format("pages [%" PRIu64 ", +%u) outside region %u",
                      c.page_offset, c.page_count, c.region_index));
  }
  uint64_t raw_size = uint64_t{c.page_count} * kPageSize;
  if (raw_size > kMaxChunkBytes) {
    return bad(format("%u pages, more than one chunk may hold", c.page_count));
  }
  if (static_cast<int64_t>(c.region_index) < prev_region ||
      (static_cast<int64_t>(c.region_index) == prev_region &&
       c.page_offset < prev_end)) {
    return bad(format("region %u page %" PRIu64 " out of order", c.region_index,
                      c.page_offset));
  }
  switch (static_cast<Encoding>(c.encoding)) {
    case Encoding::kRaw:
      if (c.stored_size != raw_size) {
        return bad("raw size differs from its page count");
      }
      return true;
    case Encoding::kZstd:
      if (c.stored_size == 0 || c.stored_size > ZSTD_compressBound(raw_size)) {
        return bad("compressed size out of range");
      }
      return true;
  }
  return bad(format("unknown encoding %u", c.encoding));
}

// Decompresses a stored zstd frame into dst (exactly raw_size bytes).  The
// frame must be what our writer makes: one single-segment frame with its
// content size, no dictionary, no reserved bits: then no bit of it can
// change without changing the output (which raw_checksum catches) or
// failing here.
bool ImageReader::decompress(ZSTD_DCtx_s** dctx, const uint8_t* src,
                             size_t size, uint8_t* dst, size_t raw_size,
                             uint64_t at, std::string* error) const {
  auto bad = [&](const char* what) {
    return fail(error, format("chunk at byte %" PRIu64 ": %s (corrupt image)",
                              at, what));
  };
  ZSTD_frameHeader fh;
  if (size <= kZstdMagicSize || ZSTD_getFrameHeader(&fh, src, size) != 0 ||
      fh.frameType != ZSTD_frame || fh.frameContentSize != raw_size ||
      fh.dictID != 0 || (src[kZstdMagicSize] & kFhdSingleSegment) == 0 ||
      (src[kZstdMagicSize] & kFhdUnusedAndReserved) != 0) {
    return bad("bad compressed frame header");
  }
  if (ZSTD_findFrameCompressedSize(src, size) != size) {
    return bad("compressed frame size differs from the stored size");
  }
  if (*dctx == nullptr) {
    *dctx = ZSTD_createDCtx();
    if (*dctx == nullptr) {
      return fail(error, "out of memory for the decompressor");
    }
  }
  size_t n = ZSTD_decompressDCtx(*dctx, dst, raw_size, src, size);
  if (ZSTD_isError(n) || n != raw_size) {
    return bad("compressed data does not decode");
  }
  return true;
}

// One read_data(): the walk through the file, shared by its threads, and
// the first error.  A thread takes mu, walks one chunk (its header checked,
// hashed and counted; a small or compressed payload read), and leaves the
// expensive part (the large read, the decompression, raw_checksum) as a
// Job it does after letting go.
struct ImageReader::Walk {
  const std::function<uint8_t*(const ChunkInfo&)>* dest = nullptr;
  const std::function<void(const ChunkInfo&)>* done = nullptr;  // under mu
  const std::function<void(uint32_t, uint8_t*, size_t)>* prepare = nullptr;
  const std::function<void(const ChunkInfo&)>* skipped = nullptr;  // under mu
  bool direct = false;  // large raw payloads by pread(), outside mu

  // Protects: everything below, and the reader's file position (pos_,
  // buf_, fd_'s offset).
  std::mutex mu;
  bool stop = false;  // the trailer is checked, or something failed
  XXH3_state_t chunks_hash;
  uint64_t chunk_count = 0;
  uint64_t raw_bytes = 0;
  int64_t prev_region = -1;
  uint64_t prev_end = 0;  // first page after the previous chunk
  // The failure at the lowest file offset: jobs before it may still be
  // running when a later one is found.
  bool failed = false;
  uint64_t error_at = 0;
  int64_t error_region = -1;
  std::string error;

  void fail(uint64_t at, int64_t region, std::string what) {
    if (!failed || at < error_at) {
      error_at = at;
      error_region = region;
      error = std::move(what);
    }
    failed = true;
    stop = true;
  }
};

struct ImageReader::Job {
  enum Kind { kNone, kRead, kDecompress, kCheck };
  Kind kind = kNone;
  bool chunk = false;  // false: the trailer (or nothing yet)
  ChunkInfo info{};    // info.at: file offset of the chunk header
  uint8_t* out = nullptr;
  size_t raw_size = 0;
  uint64_t payload_at = 0;  // kRead: file offset of the raw pages
};

// Under w->mu: the next chunk, or the trailer.  False on a failure, with
// *error and job->at set (job->kind is then kNone, or names the region in
// job->region when the failure is in its data); true with job->kind kNone
// for a chunk that needs nothing more, or after the trailer (w->stop).
bool ImageReader::next_job(Walk* w, Job* job, std::vector<uint8_t>* zbuf,
                           std::string* error) {
  uint64_t at = pos_;
  job->info.at = at;
  // Both a chunk header and the trailer start with their magic.
  uint8_t head[sizeof(Trailer::magic)];
  if (!read_exact(head, sizeof head, error)) {
    return false;
  }
  uint32_t chunk_magic;
  memcpy(&chunk_magic, head, sizeof chunk_magic);

  if (chunk_magic == kChunkMagic) {
    ChunkHeader c;
    memcpy(&c, head, sizeof head);
    if (!read_exact(reinterpret_cast<uint8_t*>(&c) + sizeof head,
                    sizeof c - sizeof head, error)) {
      return false;
    }
    if (c.header_checksum !=
        checksum_without(c, &ChunkHeader::header_checksum)) {
      return fail(error, format("chunk at byte %" PRIu64 ": header "
                                "checksum mismatch (corrupt image)",
                                at));
    }
    if (!check_chunk(c, at, w->prev_region, w->prev_end, error)) {
      return false;
    }
    XXH3_64bits_update(&w->chunks_hash, &c, sizeof c);
    // From here on a failure is in this region's data (kind not kNone).
    job->kind = Job::kCheck;
    job->chunk = true;
    job->info = {at,
                 c.region_index,
                 c.page_offset,
                 c.page_count,
                 static_cast<Encoding>(c.encoding),
                 c.stored_size,
                 c.raw_checksum};
    job->raw_size = size_t{c.page_count} * kPageSize;
    bool raw = job->info.encoding == Encoding::kRaw;
    job->out = (*w->dest)(job->info);
    if (job->out == nullptr) {
      return fail(
          error, format("no memory to restore region %u into", c.region_index));
    }
    // A compressed payload goes into zbuf and the trailer's hash.
    auto read_frame = [&] {
      try {
        if (zbuf->size() < c.stored_size) {
          zbuf->resize(c.stored_size);
        }
      } catch (const std::bad_alloc&) {
        return fail(error, "out of memory for the decompression buffer");
      }
      if (!read_exact(zbuf->data(), c.stored_size, error)) {
        return false;
      }
      XXH3_64bits_update(&w->chunks_hash, zbuf->data(), c.stored_size);
      return true;
    };
    if (job->out == skip()) {
      // Nobody wants these pages.  Compressed bytes are still read: the
      // trailer's checksum covers them.
      if (raw ? !skip_exact(job->raw_size, error) : !read_frame()) {
        return false;
      }
      if (w->skipped != nullptr && *w->skipped) {
        (*w->skipped)(job->info);
      }
      job->kind = Job::kNone;
    } else {
      if (raw && w->direct && job->raw_size >= kDirectReadMin) {
        // The pages are read by the job; the walk only passes over them
        // (skip_exact() tells a file that ends early, as a read would).
        job->payload_at = pos_;
        if (!skip_exact(job->raw_size, error)) {
          return false;
        }
        job->kind = Job::kRead;
      } else if (raw) {
        if (*w->prepare) {
          (*w->prepare)(c.region_index, job->out, job->raw_size);
        }
        if (!read_exact(job->out, job->raw_size, error)) {
          return false;
        }
        job->kind = Job::kCheck;
      } else {
        if (!read_frame()) {
          return false;
        }
        job->kind = Job::kDecompress;
      }
    }
    w->prev_region = c.region_index;
    w->prev_end = c.page_offset + c.page_count;
    ++w->chunk_count;
    w->raw_bytes += job->raw_size;
    return true;
  }

  if (memcmp(head, kTrailerMagic, sizeof head) != 0) {
    return fail(error, format("byte %" PRIu64 ": neither a chunk nor the "
                              "trailer (corrupt image)",
                              at));
  }
  Trailer t;
  memcpy(&t, head, sizeof head);
  if (!read_exact(reinterpret_cast<uint8_t*>(&t) + sizeof head,
                  sizeof t - sizeof head, error)) {
    return false;
  }
  if (t.trailer_checksum != checksum_without(t, &Trailer::trailer_checksum)) {
    return fail(error, format("trailer at byte %" PRIu64 ": checksum "
                              "mismatch (corrupt image)",
                              at));
  }
  if (t.chunk_count != w->chunk_count || t.raw_bytes != w->raw_bytes) {
    return fail(error, format("trailer at byte %" PRIu64 " lists %" PRIu64
                              " chunks of %" PRIu64 " bytes, the file has "
                              "%" PRIu64 " of %" PRIu64 " (corrupt image)",
                              at, t.chunk_count, t.raw_bytes, w->chunk_count,
                              w->raw_bytes));
  }
  if (t.chunks_checksum != XXH3_64bits_digest(&w->chunks_hash)) {
    return fail(error, format("trailer at byte %" PRIu64 ": chunk "
                              "headers or compressed data differ from "
                              "what was written (corrupt image)",
                              at));
  }
  uint8_t extra;
  size_t got = 0;
  if (!read_some(&extra, 1, &got, error)) {
    return false;
  }
  if (got != 0) {
    return fail(error, format("unexpected bytes after the trailer at byte "
                              "%" PRIu64 " (corrupt image)",
                              pos_ - 1));
  }
  w->stop = true;
  return true;
}

// Outside the lock: the chunk's pages into place, then raw_checksum.
bool ImageReader::run_job(const Job& job, ZSTD_DCtx_s** dctx,
                          const std::vector<uint8_t>& zbuf,
                          std::string* error) const {
  if (job.kind == Job::kRead) {
    size_t done = 0;
    while (done < job.raw_size) {
      ssize_t r = ::pread(fd_, job.out + done, job.raw_size - done,
                          static_cast<off_t>(job.payload_at + done));
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r < 0) {
        return fail(error, format("read error at byte %" PRIu64 ": %s",
                                  job.payload_at + done, strerror(errno)));
      }
      if (r == 0) {
        // The file shrank since open() measured it.
        return fail(error,
                    format("truncated at byte %" PRIu64 " (image incomplete)",
                           job.payload_at + done));
      }
      done += static_cast<size_t>(r);
    }
  } else if (job.kind == Job::kDecompress) {
    if (!decompress(dctx, zbuf.data(), job.info.stored_size, job.out,
                    job.raw_size, job.info.at, error)) {
      return false;
    }
  }
  if (XXH3_64bits(job.out, job.raw_size) != job.info.raw_checksum) {
    return fail(error,
                format("chunk at byte %" PRIu64 " (region %u, "
                       "page %" PRIu64 "): data checksum "
                       "mismatch (corrupt image)",
                       job.info.at, job.info.region, job.info.page_offset));
  }
  return true;
}

void ImageReader::work(Walk* w) {
  ZSTD_DCtx_s* dctx = nullptr;
  std::vector<uint8_t> zbuf;
  for (;;) {
    Job job;
    std::string error;
    {
      std::lock_guard<std::mutex> lock(w->mu);
      if (w->stop) {
        break;
      }
      if (!next_job(w, &job, &zbuf, &error)) {
        w->fail(job.info.at,
                job.kind == Job::kNone ? -1 : int64_t{job.info.region},
                std::move(error));
        break;
      }
    }
    if (job.kind != Job::kNone) {
      if (job.kind != Job::kCheck && *w->prepare) {
        (*w->prepare)(job.info.region, job.out, job.raw_size);
      }
      if (!run_job(job, &dctx, zbuf, &error)) {
        std::lock_guard<std::mutex> lock(w->mu);
        w->fail(job.info.at, job.info.region, std::move(error));
        break;
      }
    }
    if (job.chunk && *w->done) {
      std::lock_guard<std::mutex> lock(w->mu);
      (*w->done)(job.info);
    }
  }
  ZSTD_freeDCtx(dctx);
}

bool ImageReader::read_data(
    const std::function<uint8_t*(uint32_t region)>& dest, std::string* error,
    const std::function<void(uint32_t region, uint8_t* at, size_t len)>&
        prepare,
    const std::function<void(const ChunkInfo&)>& skipped) {
  if (!dest) {
    return fail(error, "read_data needs a destination");
  }
  // dest is asked once per region, as it always was (under the walk's
  // lock, so last_region and base need no other).
  int64_t last_region = -1;
  uint8_t* base = nullptr;
  return walk_chunks(
      [&](const ChunkInfo& c) -> uint8_t* {
        if (static_cast<int64_t>(c.region) != last_region) {
          last_region = c.region;
          base = dest(c.region);
        }
        if (base == nullptr || base == skip()) {
          return base;
        }
        return base + c.page_offset * kPageSize;
      },
      nullptr, prepare, threads_, error, &skipped);
}

bool ImageReader::walk_chunks(
    const std::function<uint8_t*(const ChunkInfo&)>& dest,
    const std::function<void(const ChunkInfo&)>& done,
    const std::function<void(uint32_t, uint8_t*, size_t)>& prepare,
    unsigned threads, std::string* error,
    const std::function<void(const ChunkInfo&)>* skipped) {
  if (fd_ < 0 || pos_ != data_offset_ || data_read_) {
    return fail(error, "read_data needs a freshly opened image");
  }
  if (!dest) {
    return fail(error, "read_data needs a destination");
  }
  data_read_ = true;
  error_region_ = -1;
  Walk w;
  w.dest = &dest;
  w.done = &done;
  w.prepare = &prepare;
  w.skipped = skipped;
  w.direct = file_size_ != UINT64_MAX;  // a regular file: pread works
  XXH3_64bits_reset(&w.chunks_hash);

  if (threads == 0) {
    cpu_set_t cpus;
    threads = sched_getaffinity(0, sizeof cpus, &cpus) == 0
                  ? static_cast<unsigned>(CPU_COUNT(&cpus))
                  : 1;
  }
  threads = std::clamp(threads, 1u, kMaxThreads);
  if (!w.direct) {
    threads = 1;
  }
  std::vector<std::thread> helpers;
  for (unsigned i = 1; i < threads; ++i) {
    try {
      helpers.emplace_back([this, &w] { work(&w); });
    } catch (const std::system_error&) {
      break;  // fewer threads do the same work
    }
  }
  work(&w);
  for (std::thread& t : helpers) {
    t.join();
  }
  if (w.failed) {
    error_region_ = w.error_region;
    if (error != nullptr) {
      *error = std::move(w.error);
    }
    return false;
  }
  return true;
}

bool ImageReader::read_chunks(
    const std::function<uint8_t*(const ChunkInfo&)>& dest,
    const std::function<void(const ChunkInfo&)>& done, std::string* error) {
  // One thread: dest may hand every chunk the same buffer.
  return walk_chunks(dest, done, nullptr, 1, error);
}

}  // namespace dmtcp::image
