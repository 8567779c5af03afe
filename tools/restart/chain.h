// Incremental images (docs/incremental.md): an image with
// kHeaderIncremental stores only what changed since its predecessor, which
// it names by identity.  dmtcp_restart opens the whole chain before
// anything starts, refusing a missing or mismatched link with one line,
// and lays the predecessors' pages under the newest image's.
//
// The chains are kept by the newest image's reader (a process-wide table:
// restore happens in children forked after the images are opened).
// Not thread-safe; dmtcp_restart is single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image/image_reader.h"

namespace dmtcp::restart {

// Opens and checks the predecessors of `newest` back to its chain's full
// image: each found by its recorded path (first beside the image that
// names it, then where it was written), each of the same process and
// computation, with the identity, generation and depth the successor
// names.  Nothing to do for a full image.  False with *error = one line.
bool open_chain(const image::ImageReader& newest, std::string* error);

// Fills the staging memory of `newest` (staged[region] as
// restore_in_place lays it out) with its predecessors' pages, oldest
// first, each only into the regions that inherit (image::region_inherits)
// down the chain.  Every chunk of every predecessor is verified.  The
// newest image's own read_data() comes after and overwrites.  False with
// *error.
bool read_chain(const image::ImageReader& newest,
                const std::vector<uint64_t>& staged, std::string* error);

}  // namespace dmtcp::restart
