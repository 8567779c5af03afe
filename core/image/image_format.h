// The checkpoint image: on-disk layout.  See docs/image-format.md.
//
//   FileHeader                      fixed size, own checksum
//   RegionEntry[region_count]       then names_size bytes of path strings,
//                                   then notes_size bytes of notes; one
//                                   checksum over the three (in FileHeader)
//   chunks...                       ChunkHeader + stored bytes, each with a
//                                   checksum of its header and of its raw data
//   Trailer                         counts and a checksum over every chunk
//                                   header and compressed payload:
//                                   truncation and reordering show
//
// Pages of a region that no chunk covers are zero.  All integers are
// little-endian; all structs are trivially copyable with explicit padding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dmtcp::image {

inline constexpr char kMagic[8] = {'D', 'M', 'T', 'C', 'P', 'I', 'M', 'G'};
inline constexpr char kTrailerMagic[8] = {'D', 'M', 'T', 'C',
                                          'P', 'E', 'N', 'D'};
inline constexpr uint32_t kChunkMagic = 0x4b4e4843;  // "CHNK"
// 2: RegionEntry carries the backing file's size and content hash
//    (kRegionFromFile).
// 3: FileHeader carries the ids the program saw (pid plugin's virtual ids)
//    so restart can rebuild sessions and process groups.
// 4: MAP_SHARED mappings stay shared: kRegionSharedFile (mapped to its file
//    again, no data stored) and kRegionSharedObject (shared memory with no
//    file, identified by RegionEntry::object_dev/object_ino).
// 5: notes after the names: what the runtime and each plugin say about the
//    process for dmtcp_inspect (arguments, threads, plugins, fds ...);
//    restart does not need them.
// 6: incremental images (docs/incremental.md): FileHeader carries the
//    image's own random identity and, for an incremental image, its
//    predecessor's identity, generation and path; regions that
//    region_inherits() from the predecessor's get the predecessor's pages
//    where no chunk covers them.
inline constexpr uint32_t kFormatVersion = 6;
inline constexpr uint64_t kPageSize = 4096;
// Largest raw chunk; the writer cuts runs of data pages at this size.
inline constexpr uint64_t kMaxChunkBytes = 4ull << 20;

enum RegionFlag : uint32_t {
  kRegionPrivate = 1u << 0,
  kRegionShared = 1u << 1,
  kRegionAnonymous = 1u << 2,  // no backing file (or deleted / special)
  kRegionFile = 1u << 3,       // path names the backing file
  kRegionStack = 1u << 4,      // the main thread's [stack]
  kRegionHeap = 1u << 5,       // [heap]
  kRegionGrowsDown = 1u << 6,
  kRegionNoData = 1u << 7,  // reserve only (PROT_NONE guard/reservation)
  // A private file mapping whose unmodified pages are not stored: restart
  // maps the file (path = name, file_offset) and lays the stored pages,
  // the program's private changes, over it.  file_size and file_hash
  // (XXH3-64 of the file's bytes in the mapped range) must match the file
  // found at restart, or restart refuses with a clear error.
  kRegionFromFile = 1u << 8,
  // A MAP_SHARED mapping of a file that still exists (kRegionFile |
  // kRegionShared).  No pages are stored: the file holds them, and writes
  // after restart must reach it.  Restart maps the file (path = name) shared
  // at file_offset; file_size is its size at checkpoint, and restart refuses
  // if the file is gone or shorter than min(file_size, file_offset + length).
  kRegionSharedFile = 1u << 9,
  // Shared memory with no file to come back from: MAP_SHARED|MAP_ANONYMOUS
  // ("/dev/zero (deleted)"), a memfd, a deleted file, SysV shm.  Its pages
  // are stored (by every process that maps it); restart makes one memory
  // object per (object_dev, object_ino) among the images it restores,
  // fills it once, and maps it shared at file_offset in each of them.
  kRegionSharedObject = 1u << 10,
};

enum class Encoding : uint32_t { kRaw = 0, kZstd = 1 };

// FileHeader::flags.  The process checkpoints forked (dmtcp_launch
// --forked-checkpoint): dmtcp_restart tells the coordinator so again.
inline constexpr uint32_t kHeaderForkedCheckpoint = 1;
// The image is incremental: it stores only the pages that differ from its
// predecessor (parent_id, parent_generation, parent_path) and needs it.
inline constexpr uint32_t kHeaderIncremental = 2;
// The process checkpoints incrementally (dmtcp_launch --incremental):
// dmtcp_restart keeps the mode.  Set on full images of such a process too.
inline constexpr uint32_t kHeaderIncrementalMode = 4;
inline constexpr uint32_t kHeaderKnownFlags =
    kHeaderForkedCheckpoint | kHeaderIncremental | kHeaderIncrementalMode;
inline constexpr size_t kParentPathCap = 1280;

struct FileHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t header_size;  // sizeof(FileHeader)
  uint32_t flags;        // kHeader* bits
  uint32_t uid;          // owner; restart refuses another user's image
  int32_t pid;           // real pid at checkpoint
  int32_t ppid;
  // The ids as the program saw them (virtual when the pid plugin runs):
  // restart rebuilds sessions and groups whose leader is one of its images.
  int32_t vpid, vppid, vpgid, vsid;
  uint32_t generation;
  uint32_t num_peers;     // processes in the computation at checkpoint
  uint64_t ckpt_time_ns;  // CLOCK_REALTIME
  char unique_pid[64];
  char parent_unique_pid[64];
  char computation_id[64];
  char hostname[64];
  char progname[64];

  // Where the kernel's special mappings were; restart moves the new ones
  // there (glibc keeps pointers into the vDSO).  0 = absent.
  uint64_t vdso_start, vdso_end;
  uint64_t vvar_start, vvar_end;
  uint64_t vvar_vclock_start, vvar_vclock_end;

  // The program break: restart makes the kernel's brk match when it can.
  uint64_t start_brk, brk;

  // Restart jumps here: the checkpoint thread's saved context, and a buffer
  // in the runtime that receives RestartInfo.
  uint64_t resume_context_addr;
  uint64_t restart_info_addr;
  uint64_t restart_info_size;

  // Version 6: the chain of incremental images (docs/incremental.md).
  // image_id: 128 random bits made for this image alone; an incremental
  // image names its predecessor by that identity (parent_id), not by its
  // name, so a file put in the predecessor's place is refused.  Full
  // images: parent_id 0, chain_depth 0, chain_base_generation = generation.
  uint64_t image_id[2];
  uint64_t parent_id[2];
  uint32_t parent_generation;
  uint32_t chain_depth;              // incremental images since the full one
  uint32_t chain_base_generation;    // generation of that full image
  uint32_t incremental_full_every;   // the process's setting (0 = never)
  char parent_path[kParentPathCap];  // where the predecessor was written

  uint32_t region_count;
  uint32_t names_size;
  uint32_t notes_size;       // bytes of notes after the names (NoteHeader ...)
  uint32_t notes_count;      // how many notes they hold
  uint64_t table_checksum;   // XXH3-64 over RegionEntry[], names, notes
  uint64_t header_checksum;  // XXH3-64 over this struct with this field 0
};

struct RegionEntry {
  uint64_t start;
  uint64_t end;  // exclusive, page aligned
  uint64_t file_offset;
  uint32_t prot;         // PROT_* at checkpoint
  uint32_t flags;        // RegionFlag
  uint32_t name_offset;  // into the names blob
  uint32_t name_len;     // 0 = no name
  // kRegionFromFile, kRegionSharedFile: size of the file.
  // kRegionSharedObject: bytes of the object known to exist (file_offset +
  // the readable part of the mapping).
  uint64_t file_size;
  uint64_t file_hash;  // kRegionFromFile: XXH3-64 of the mapped bytes
  // kRegionSharedFile, kRegionSharedObject: the mapped object's identity at
  // checkpoint (st_dev as makedev(major, minor), st_ino, from the maps
  // line).  Two regions of images of one host with the same pair map the
  // same object.  Informational for kRegionSharedFile.
  uint64_t object_dev;
  uint64_t object_ino;
};

// A note: what a plugin (or the runtime, owner "core") recorded about the
// process at checkpoint time, for dmtcp_inspect to show
// (dmtcp/inspect.h).  The payload's layout is its owner's; it follows the
// header and is padded with zeros to a multiple of 8 bytes.  Notes are
// descriptive only: restart never reads them.
struct NoteHeader {
  char owner[16];  // NUL-terminated, NUL-padded: "core", "file", ...
  uint32_t type;   // the owner's numbering
  uint32_t size;   // payload bytes (before padding)
};
inline constexpr uint64_t kNoteAlign = 8;

// The runtime's own notes (owner "core").  Payloads:
enum CoreNote : uint32_t {
  kCoreNoteArgs = 1,     // /proc/self/cmdline: each argument NUL-terminated
  kCoreNotePlugins = 2,  // our libraries, ':'-separated (DMTCP_PRELOAD)
  kCoreNoteThreads = 3,  // ThreadNote[]
  kCoreNoteCwd = 4,      // the working directory's path
};
struct ThreadNote {
  int32_t tid;   // kernel tid at checkpoint
  int32_t vtid;  // as the program sees it (pid plugin), else tid
  uint32_t flags;
  uint32_t pad;
};
enum ThreadNoteFlag : uint32_t {
  kThreadNoteMain = 1u << 0,        // tid == pid
  kThreadNoteCheckpoint = 1u << 1,  // DMTCP's checkpoint thread
};

// Whether region `cur` of an incremental image inherits the pages of region
// `prev` of its predecessor: the pages no chunk of `cur` covers are then the
// predecessor's (after its own chain), else they are what a full image
// would make of them (zero, or the file's for kRegionFromFile).  The writer
// and dmtcp_restart both decide with this one rule.  Only private memory
// inherits, and only when the mapping is the same one: same addresses,
// flags, file offset and, for kRegionFromFile, the same file content.
// Shared memory (objects other processes may fill) is always stored whole.
inline bool region_inherits(const RegionEntry& prev, const RegionEntry& cur) {
  constexpr uint32_t kNever =
      kRegionNoData | kRegionSharedFile | kRegionSharedObject | kRegionShared;
  if ((cur.flags & kNever) != 0 || prev.flags != cur.flags ||
      prev.start != cur.start || prev.end != cur.end ||
      prev.file_offset != cur.file_offset) {
    return false;
  }
  return (cur.flags & kRegionFromFile) == 0 ||
         (prev.file_size == cur.file_size && prev.file_hash == cur.file_hash);
}

struct ChunkHeader {
  uint32_t magic;  // kChunkMagic
  uint32_t region_index;
  uint64_t page_offset;  // first page, counted from the region start
  uint32_t page_count;
  uint32_t encoding;         // Encoding
  uint64_t stored_size;      // bytes that follow this header
  uint64_t raw_checksum;     // XXH3-64 of the page_count * kPageSize raw bytes
  uint64_t header_checksum;  // XXH3-64 of this struct with this field 0
};

struct Trailer {
  char magic[8];
  uint64_t chunk_count;
  uint64_t raw_bytes;  // sum of chunk page bytes
  // XXH3-64 streamed over every ChunkHeader and the stored bytes of every
  // compressed chunk (a flipped bit in zstd data can decode to the same
  // bytes; this catches it).
  uint64_t chunks_checksum;
  uint64_t trailer_checksum;  // XXH3-64 of this struct with this field 0
};

}  // namespace dmtcp::image
