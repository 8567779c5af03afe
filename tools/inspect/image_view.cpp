// Loads an image through the core reader.  See image_view.h.
#include "tools/inspect/image_view.h"

#include <sys/mman.h>
#include <sys/stat.h>
// The streaming state on the stack.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cstring>

#include "image/image_reader.h"

namespace dmtcp::inspect {
namespace {

// Where a failure is, from the reader's state and its message (the reader
// names the section in its text: "chunk at byte", "trailer at byte" ...).
std::string classify(const std::string& message, bool opened,
                     bool header_checked, int64_t region) {
  if (!opened) {
    if (!header_checked) {
      if (message.find("truncated") != std::string::npos ||
          message.find("empty file") != std::string::npos) {
        return "truncated";
      }
      return message.find("checksum") != std::string::npos ||
                     message.find("(corrupt image)") != std::string::npos
                 ? "header"
                 : "open";
    }
    return message.find("truncated") != std::string::npos ? "truncated"
                                                          : "region table";
  }
  if (region >= 0) {
    return "region";
  }
  if (message.find("truncated") != std::string::npos) {
    return "truncated";
  }
  if (message.find("trailer") != std::string::npos) {
    return "trailer";
  }
  return "chunk";
}

// A reusable destination for one chunk (at most kMaxChunkBytes): verify
// decodes every chunk into it and lets the reader check its checksum.
class ChunkBuffer {
 public:
  ~ChunkBuffer() {
    if (p_ != nullptr) {
      munmap(p_, image::kMaxChunkBytes);
    }
  }
  uint8_t* get() {
    if (p_ == nullptr) {
      void* p = mmap(nullptr, image::kMaxChunkBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      p_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
    }
    return p_;
  }

 private:
  uint8_t* p_ = nullptr;
};

}  // namespace

bool load(const std::string& path, bool verify, ImageView* view,
          Damage* damage) {
  *view = ImageView{};
  view->path = path;
  image::ImageReader reader;
  std::string error;
  if (!reader.open(path, &error)) {
    damage->message = error;
    damage->where = classify(error, false, reader.header_checked(), -1);
    if (reader.header_checked()) {
      view->header = reader.header();
    }
    return false;
  }
  view->header = reader.header();
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    view->file_size = static_cast<uint64_t>(st.st_size);
  }
  const auto& regions = reader.regions();
  view->regions.resize(regions.size());
  for (uint32_t i = 0; i < regions.size(); ++i) {
    view->regions[i].entry = regions[i];
    view->regions[i].name = std::string(reader.region_name(i));
  }
  for (const image::ImageReader::Note& n : reader.notes()) {
    view->notes.push_back(
        {std::string(n.owner), n.type, std::string(n.payload)});
  }
  ChunkBuffer buffer;
  int64_t last_done = -1;
  bool ok = reader.read_chunks(
      [&](const image::ImageReader::ChunkInfo&) -> uint8_t* {
        return verify ? buffer.get() : image::ImageReader::skip();
      },
      [&](const image::ImageReader::ChunkInfo& c) {
        RegionView& r = view->regions[c.region];
        r.chunks.push_back({c.page_offset, c.page_count,
                            static_cast<uint32_t>(c.encoding), c.stored_size,
                            c.raw_checksum});
        r.data_bytes += uint64_t{c.page_count} * image::kPageSize;
        r.stored_bytes += c.stored_size;
        ++view->chunk_count;
        last_done = c.region;
      },
      &error);
  if (!ok) {
    damage->message = error;
    damage->region = reader.error_region();
    damage->after_region = last_done;
    damage->where = classify(error, true, true, damage->region);
    return false;
  }
  view->verified = verify;
  return true;
}

uint64_t skipped_bytes(const RegionView& r) {
  return (r.entry.end - r.entry.start) - r.data_bytes;
}

const char* skipped_kind(const RegionView& r) {
  uint32_t f = r.entry.flags;
  if ((f & image::kRegionNoData) != 0) {
    return "reserved";
  }
  if ((f & (image::kRegionFromFile | image::kRegionSharedFile)) != 0) {
    return "file";
  }
  return "zero";
}

const char* backing_kind(const image::RegionEntry& r) {
  uint32_t f = r.flags;
  if ((f & image::kRegionNoData) != 0) {
    return "reserve only";
  }
  if ((f & image::kRegionSharedFile) != 0) {
    return "shared file";
  }
  if ((f & image::kRegionSharedObject) != 0) {
    return "shared memory";
  }
  if ((f & image::kRegionFromFile) != 0) {
    return "file (changes only)";
  }
  if ((f & image::kRegionFile) != 0) {
    return "file";
  }
  return "anonymous";
}

std::string perms(const image::RegionEntry& r) {
  std::string p = "----";
  if ((r.prot & 1) != 0) {  // PROT_READ
    p[0] = 'r';
  }
  if ((r.prot & 2) != 0) {  // PROT_WRITE
    p[1] = 'w';
  }
  if ((r.prot & 4) != 0) {  // PROT_EXEC
    p[2] = 'x';
  }
  p[3] = (r.flags & image::kRegionShared) != 0 ? 's' : 'p';
  return p;
}

uint64_t content_fingerprint(const RegionView& r) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  for (const ChunkRecord& c : r.chunks) {
    uint64_t v[3] = {c.page_offset, c.page_count, c.raw_checksum};
    XXH3_64bits_update(&st, v, sizeof v);
  }
  return XXH3_64bits_digest(&st);
}

}  // namespace dmtcp::inspect
