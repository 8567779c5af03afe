// Which of the images given to dmtcp_restart to restart.
//
// What it is for: `dmtcp_restart ckpt_*.dmtcp` over a directory that holds
// images of several checkpoints of one computation (a process of an earlier
// checkpoint has since exited and its old image stayed; or several
// generations are kept).  select_images() picks one generation, the newest
// complete one, and says in one line what it leaves out and why.
//
// What it refuses rather than guesses: images of different computations;
// one process twice in the chosen generation; more processes in it than its
// images' peer count; images of it that disagree on that count; an image
// of it that could not be read.  Each refusal is one line.
//
// Images of older generations that chosen incremental images build on
// (their chains' links) are not ignored, and the notice does not name them.
//
// It decides from header fields only (ImageInfo), never from file names:
// the names may or may not carry the generation.  Hosts do not matter:
// images of the chosen generation that are not given may be restarted on
// other hosts into the same coordinator.
//
// A pure function of its input: no I/O, no globals; may allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dmtcp::restart {

// What select_images() needs of one image: its path and header fields.
struct ImageInfo {
  std::string path;
  std::string computation_id;
  uint32_t generation = 0;
  uint32_t num_peers = 0;  // 0 in old images: counts as 1
  std::string unique_pid;
  // Incremental images (docs/incremental.md): this image's identity and
  // its predecessor's (0 for a full image).  An older image that is a link
  // of a chosen image's chain is used, not ignored: the notice leaves it
  // out.
  std::array<uint64_t, 2> image_id{};
  std::array<uint64_t, 2> parent_id{};
  // Non-empty when the header was read but the image cannot be restored
  // (its region table is damaged, ...): "<path>: <what is wrong>".  Such an
  // image counts as its generation's as if it were fine; if that generation
  // is chosen the set is refused with this line, otherwise it is ignored
  // with the others.
  std::string error;
};

struct ImageSelection {
  bool ok = false;
  std::string refusal;  // !ok: one line, without the "dmtcp_restart: "
  uint32_t generation = 0;
  std::vector<size_t> chosen;  // indices into the input, in input order
  // One line (without the "dmtcp_restart: "), empty when every image is
  // chosen: which images are ignored and why.
  std::string notice;
};

// How many paths the notice names before "and N more".
constexpr size_t kNoticeMaxPaths = 6;

// Chooses among images (command-line order):
//  1. all must name one computation, else refusal;
//  2. a generation is complete when its images are of as many distinct
//     processes as its peer count; the newest complete one is chosen;
//  3. if none is complete (the other processes' images may be on other
//     hosts: the coordinator waits for them), the newest one is chosen;
//  4. in the chosen generation: each process once, no more processes than
//     the peer count, one peer count, no damaged image; else refusal.
ImageSelection select_images(const std::vector<ImageInfo>& images);

}  // namespace dmtcp::restart
