// Writes a checkpoint image (image_format.h) from live memory.
//
// Runs in the checkpoint thread while user threads are suspended and may hold
// the malloc lock: after init() nothing here calls malloc.  Buffers and the
// zstd context live in memory from mmap.
#pragma once

#include <cstdint>

#include "image/image_format.h"

namespace dmtcp::image {

// Whether the 4096 bytes at page are all zero (stops at the first nonzero
// 256-byte block).
bool page_is_zero(const uint8_t* page);

// ImageWriter::write_region's page filter: store a page of zeros.
inline constexpr uint8_t kStoreZeroPage = 3;

class ImageWriter {
 public:
  struct Options {
    bool compress = true;
    int zstd_level = 1;
    // Write with O_DIRECT where the file system allows it (DirectOutput).
    bool direct_io = true;
  };
  struct Stats {
    uint64_t raw_bytes = 0;     // bytes of data pages stored
    uint64_t stored_bytes = 0;  // bytes written for them (after compression)
    uint64_t zero_pages = 0;    // pages skipped as all zero
    uint64_t chunks = 0;
    uint64_t compress_tries = 0;  // chunks handed to zstd (the rest were
                                  // skipped as likely incompressible)
    bool direct_io = false;  // written past the page cache (O_DIRECT),
                             // all but the end; only images larger
                             // than DirectOutput's buffer
  };

  ImageWriter() = default;
  ImageWriter(const ImageWriter&) = delete;
  ImageWriter& operator=(const ImageWriter&) = delete;
  ~ImageWriter();

  // Allocates buffers and the compressor.  May be called again to change
  // options; keeps what it has when nothing changed.  0 or -errno.
  int init(const Options& options);

  // Writes the header, region table, names and notes to fd.  Fills in
  // region_count, names_size, notes_size, notes_count and both checksums
  // of *header, a random image_id if it is 0, and chain_base_generation =
  // generation for a full image.  notes: notes_count notes laid out as in the
  // file (NoteHeader, payload, padding); the caller built them.  0 or -errno.
  int begin(int fd, FileHeader header, const RegionEntry* regions,
            uint32_t region_count, const char* names, uint32_t names_size,
            const uint8_t* notes = nullptr, uint32_t notes_size = 0,
            uint32_t notes_count = 0);

  // Stores the data pages of region `index`, whose memory is readable at
  // base (npages pages).  may_have_data, if not null, has one byte a page:
  // 0 = known zero (not present in /proc/self/pagemap) or not to be stored
  // (unchanged since an incremental image's predecessor), 1 = maybe data
  // (stored unless all zero), 2 = stored even if all zero (an incremental
  // image's page that was not zero in the predecessor), kStoreZeroPage =
  // stored as a page of zeros without reading it.  Pages that are
  // all zero are otherwise never stored, nor any page of a kRegionNoData
  // or kRegionSharedFile region (base may then be null).  0 or -errno.
  int write_region(uint32_t index, const uint8_t* base, uint64_t npages,
                   const uint8_t* may_have_data);

  // As write_region() for pages [first, first + count) of region `index`
  // only, readable at base (page `first`; may_have_data has count bytes).
  // A region may be written in several such parts, in increasing page
  // order without overlap; the pages no part names are not stored (zero,
  // or unchanged in an incremental image).  A huge sparse region is written
  // without a per-page walk of its holes.  0 or -errno.
  int write_region_pages(uint32_t index, const uint8_t* base, uint64_t first,
                         uint64_t count, const uint8_t* may_have_data);

  // Writes the trailer.  The caller fsyncs, closes and renames.  0 or -errno.
  int finish();

  const Stats& stats() const { return stats_; }

  // The memory writers have mapped for themselves (state, arena, zstd's
  // workspace), for the checkpoint to leave out of the image.  Fills up to
  // max entries; returns how many.  Safe in the checkpoint thread.
  struct OwnedRange {
    uint64_t start;
    uint64_t len;
  };
  static int owned_ranges(OwnedRange* out, int max);

  // In a restarted process: this writer's mappings were not in the image,
  // so forget them without touching them; the next init() starts afresh.
  void forget_after_restart();

  // In the child of a fork, before anything else here is used: the
  // parent's checkpoint thread may have held the lock on the list of owned
  // mappings at the fork (it prepares while the program runs); the child
  // has no such thread, so the lock is let go.
  static void after_fork_in_child();

 private:
  // (implementation state)
  struct Impl;
  int emit_chunk(uint32_t index, uint64_t first_page, const uint8_t* data,
                 uint64_t npages);
  int flush();

  Impl* impl_ = nullptr;
  Stats stats_;
};

}  // namespace dmtcp::image
