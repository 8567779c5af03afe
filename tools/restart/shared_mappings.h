// MAP_SHARED mappings on restart: the file mappings go back to their files,
// shared memory without a file (shared anonymous, memfd, deleted files)
// becomes one memfd per object, shared again by every restored process that
// mapped it.  See docs/restore.md ("Shared mappings").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "image/image_reader.h"

namespace dmtcp::restart {

// Called once in dmtcp_restart before the process tree is forked, with
// every image it restores.  Opens each shared file (and checks it is still
// there and long enough for its mappings) and creates one memfd per shared
// object; the descriptors are inherited by every forked process.  False
// with *error (one line) on the first problem: nothing was forked yet.
bool prepare_shared_mappings(
    const std::vector<std::unique_ptr<image::ImageReader>>& images,
    std::string* error);

// How a kRegionSharedFile or kRegionSharedObject region comes back: mapped
// MAP_SHARED from fd at its file_offset.  fill: this region's stored pages
// are written into the object (exactly one image covers each page; the
// others skip theirs).
struct SharedMapping {
  int fd = -1;
  bool fill = false;
};

// The mapping prepared for region `index` of `reader`; nullopt if
// prepare_shared_mappings() did not see it.
std::optional<SharedMapping> shared_mapping_for(
    const image::ImageReader* reader, uint32_t index);

// Closes the descriptors (a process that restores no image keeps none).
void close_shared_mappings();

}  // namespace dmtcp::restart
