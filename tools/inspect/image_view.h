// What dmtcp_inspect knows about one checkpoint image: the header, the
// region table with what each region stores, and (with verify) whether
// every checksum and the trailer hold.
//
// Everything comes from core/image's ImageReader, the reader restart uses:
// there is no second parser of the format.  The reader walks the chunks;
// this records, per region, the chunk list (page ranges, encodings, sizes,
// checksums), which is all the tables and --diff need.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image/image_format.h"

namespace dmtcp::inspect {

struct ChunkRecord {
  uint64_t page_offset;
  uint32_t page_count;
  uint32_t encoding;  // image::Encoding
  uint64_t stored_size;
  uint64_t raw_checksum;
};

struct RegionView {
  image::RegionEntry entry{};
  std::string name;  // backing file or [heap], [stack], "" = anonymous
  std::vector<ChunkRecord> chunks;
  uint64_t data_bytes = 0;    // pages stored (raw)
  uint64_t stored_bytes = 0;  // bytes they take in the file
};

// A note as the image holds it (dmtcp/inspect.h); decoded by decoders.h.
struct NoteView {
  std::string owner;
  uint32_t type = 0;
  std::string payload;
};

struct ImageView {
  std::string path;
  uint64_t file_size = 0;
  image::FileHeader header{};
  std::vector<RegionView> regions;
  std::vector<NoteView> notes;
  uint64_t chunk_count = 0;
  bool verified = false;  // every chunk's data decoded and checked
};

// Why load() failed: the reader's one line, and where the first damage is.
struct Damage {
  std::string message;  // "<path>: <problem>" (the reader's line)
  // "open" (not an image / unreadable), "header", "region table", "region"
  // (a chunk of a known region), "chunk" (a chunk header), "trailer",
  // "truncated".
  std::string where;
  int64_t region = -1;        // the first bad region, when known
  int64_t after_region = -1;  // the last region read whole before it
};

// Opens path and reads every chunk.  verify: each chunk is decompressed
// and its checksum checked (into a reused buffer); otherwise raw payloads
// are passed over (headers, order and the trailer are still checked).
// False with *damage filled on the first problem.
bool load(const std::string& path, bool verify, ImageView* view,
          Damage* damage);

// The region's bytes that no chunk stores, and why they need none:
// "zero" (never touched or all zero), "file" (the file holds them),
// "reserved" (no contents at all).
uint64_t skipped_bytes(const RegionView& r);
const char* skipped_kind(const RegionView& r);
// "anonymous", "file", "file (changes only)", "shared file",
// "shared memory", "reserve only".
const char* backing_kind(const image::RegionEntry& r);
// "rwxp" as in /proc/PID/maps.
std::string perms(const image::RegionEntry& r);
// One value per stored content: equal lists of (pages, checksum) mean
// equal bytes (the writer's chunking depends only on the contents).
uint64_t content_fingerprint(const RegionView& r);

}  // namespace dmtcp::inspect
