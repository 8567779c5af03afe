// Restoring one image into the calling process (dmtcp_restart, or one of its
// children when several images restart together).  See docs/restore.md.
#pragma once

#include <string>

#include "image/image_reader.h"
#include "runtime/restart_info.h"

namespace dmtcp::restart {

// Loads every region into staging memory and checks every checksum, then
// (point of no return) hands over to the restorer.  Returns only on an error
// found before that point, with *error set; the process is then unchanged
// apart from memory it can free by exiting.
bool restore_in_place(image::ImageReader* reader, RestartInfo* info,
                      std::string* error);

}  // namespace dmtcp::restart
