// Incremental checkpoints (dmtcp_launch --incremental; docs/incremental.md):
// what this process remembers of its last images so that the next one
// stores only the pages that changed.
//
// What it is for: per page of private memory, a 128-bit content hash
// (XXH3-128; zero pages and pages the plan skips hash to "base") of the
// last image whose generation the coordinator committed, and of the image
// being written.  A page whose hash equals its predecessor's is not
// stored; the image names its predecessor by identity
// (FileHeader::parent_id) and dmtcp_restart layers the chain.
//
// What it refuses to do silently: it makes an incremental image only when
// its predecessor is the image of the generation the coordinator says it
// committed last (DoCheckpointPayload::last_committed), so an image of a
// failed round (removed by the coordinator) is never a predecessor.  After
// a restart, in a fork child, with forked checkpoints, or whenever the
// chain reaches --incremental-full-every, the next image is full.
//
// Thread-safety: the checkpoint thread only.  Nothing here calls malloc:
// the tables live in memory mapped with mmap, left out of the image
// (scratch()), and grown before the regions are walked.
#pragma once

#include <cstddef>
#include <cstdint>

#include "image/image_format.h"

namespace dmtcp::incremental {

// A round of generation `generation` starts; the coordinator committed
// `last_committed` last (0: none it knows of).  Before threads are frozen.
void begin_round(uint32_t generation, uint32_t last_committed);

// Where the predecessor's regions begin or end strictly inside
// (start, end), ascending, at most max into cuts; how many.  0 without a
// predecessor.  The plan cuts plain anonymous memory there
// (image_dump's split_at_predecessor).
int predecessor_cuts(uint64_t start, uint64_t end, uint64_t* cuts, int max);

// With the region table planned (frozen threads): decides whether this
// image is incremental and fills the chain fields and flags of *h
// (image_id too); makes room for this image's hashes.  0 or -errno (no
// memory, or more private memory than kMaxTrackedPages: the image is then
// written full and starts a new chain).  pagemap_fd: /proc/self/pagemap,
// for the write tracker (or -1).
int plan(image::FileHeader* h, const image::RegionEntry* regions,
         uint32_t count, int pagemap_fd);

// For region `index` of the plan, whose bytes are readable at source
// (npages pages; the pages with filter[i] != 0 may be read): records each
// page's hash for the next image and, when the region inherits from the
// predecessor's (image::region_inherits), rewrites filter so that only the
// pages that differ are stored (ImageWriter::write_region's values).
// Private anonymous memory is write-tracked (write_tracker.h): when the
// tracker vouches for the region since the predecessor was read, only the
// pages written since are hashed.  copy: source is a copy of memory that
// changes under us (the checkpoint thread's own): never tracked.
void filter_region(uint32_t index, const uint8_t* source, uint64_t npages,
                   uint8_t* filter, bool copy);

// Whether filter_region() keeps hashes of region `index` of the plan (its
// pages must then be filtered one by one, all of them).
bool covers(uint32_t index);

// The image planned last is on disk under path (or was not written).
void image_written(const char* path);
void image_failed();

// Our tables, for the checkpoint to leave out of the image.
void scratch(void (*f)(void* p, size_t len, void* arg), void* arg);

// After a restart the tables came back empty (they were not in the
// image): drop them without touching them.  The next image is full.
void forget_after_restart();
// After a restart, before the program runs again: forget_after_restart(),
// then, if the image was written in incremental mode and we still are,
// remember it (identity, path, which pages memory holds now) and
// write-protect memory, so that the next image can continue its chain if
// the coordinator says that image is committed.
void after_restart();
// In a fork child: the tables describe the parent's images, not ours.
void forget_after_fork();

}  // namespace dmtcp::incremental
