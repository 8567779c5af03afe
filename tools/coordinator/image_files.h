// The coordinator's view of checkpoint files on this host: which names it
// may remove, and where a process writes the image it has not finished.
#pragma once

#include <string>
#include <vector>

namespace dmtcp::coordinator {

// The directory part of path ("." for a bare name).
std::string dir_of(const std::string& path);

// Paths come from processes (their reports, their program names): only a
// regular file of ours (never through a link someone planted; unlink()
// itself never follows one) named ckpt_*<suffix> is ever removed.
bool is_our_image_file(const std::string& path,
                       const std::string& suffix = ".dmtcp");

// The temporaries a process is writing or left behind for the image
// `image` (the runtime writes <image>.tmp.<16 hex digits>, a name nobody
// can guess: image_dump.cpp): regular files of ours in its directory.
std::vector<std::string> image_temporaries(const std::string& image);

}  // namespace dmtcp::coordinator
