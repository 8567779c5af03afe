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

// With the region table planned (frozen threads): decides whether this
// image is incremental and fills the chain fields and flags of *h
// (image_id too); makes room for this image's hashes.  0 or -errno (no
// memory: the image is then written full and starts a new chain).
int plan(image::FileHeader* h, const image::RegionEntry* regions,
         uint32_t count);

// For region `index` of the plan, whose bytes are readable at source
// (npages pages; the pages with filter[i] != 0 may be read): records each
// page's hash for the next image and, when the region inherits from the
// predecessor's (image::region_inherits), rewrites filter so that only the
// pages that differ are stored (ImageWriter::write_region's values).
void filter_region(uint32_t index, const uint8_t* source, uint64_t npages,
                   uint8_t* filter);

// The image planned last is on disk under path (or was not written).
void image_written(const char* path);
void image_failed();

// Our tables, for the checkpoint to leave out of the image.
void scratch(void (*f)(void* p, size_t len, void* arg), void* arg);

// After a restart the tables came back empty (they were not in the
// image): drop them without touching them.  The next image is full.
void forget_after_restart();
// In a fork child: the tables describe the parent's images, not ours.
void forget_after_fork();

}  // namespace dmtcp::incremental
