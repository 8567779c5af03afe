// Reads and verifies a checkpoint image (image_format.h).
//
// Used by dmtcp_restart before it gives up its own address space, so it may
// allocate; it trusts nothing in the file: every size, index and checksum is
// checked and the first problem is reported as one line naming it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "image/image_format.h"

struct ZSTD_DCtx_s;

namespace dmtcp::image {

class ImageReader {
 public:
  ImageReader() = default;
  ImageReader(const ImageReader&) = delete;
  ImageReader& operator=(const ImageReader&) = delete;
  ~ImageReader();

  // Opens path and checks the header and the region table.  False with
  // *error = "<path>: <what is wrong>" on any problem.
  bool open(const std::string& path, std::string* error);

  const FileHeader& header() const { return header_; }
  // True once open() has found the header whole (magic, version, size,
  // checksum, plausible counts), even if it then failed on the region
  // table: header() is then this image's, and the caller may still tell
  // which computation and generation the damaged image belongs to.
  bool header_checked() const { return header_checked_; }
  const std::string& path() const { return path_; }
  const std::vector<RegionEntry>& regions() const { return regions_; }
  std::string_view region_name(uint32_t index) const;

  // The notes (image_format.h NoteHeader), checked by open(): each inside
  // the blob, its owner a NUL-terminated name, as many as the header says.
  // The payloads are untrusted bytes for their owner's decoder.
  struct Note {
    std::string_view owner;
    uint32_t type;
    std::string_view payload;
  };
  const std::vector<Note>& notes() const { return notes_; }

  // Reads every chunk and writes its pages to dest(region) + page_offset *
  // kPageSize; dest must return writable memory for the whole region (pages
  // no chunk covers are left as they are: zero in fresh memory).  Checks
  // every checksum, the chunk order and the trailer.  False with *error on
  // the first problem.
  //
  // dest may return skip() for a region whose pages are not wanted (shared
  // memory another image fills): its chunks are passed over, their headers,
  // order and the trailer's totals still checked, their data neither
  // decompressed nor checked against raw_checksum.
  //
  // The work is spread over set_threads() threads (docs/restore.md,
  // "Reading memory back"): one at a time walks the headers in file order
  // (checks, trailer hash, small and compressed payloads read), and each
  // then reads its large raw chunk with pread() straight into place, or
  // decompresses its chunk, and checks raw_checksum, in parallel with the
  // others.  dest is called under the walk's lock.  If prepare is given,
  // it runs (in any of the threads, unlocked) on each chunk's destination
  // before data is written there; restart uses it to ask for huge pages.
  // The error reported is the one at the lowest file offset, as a
  // sequential read would have found it first.
  //
  // If skipped is given, it runs (under the walk's lock) for every chunk
  // dest() passed over with skip(), once its header and place in the file
  // were checked: lazy restart (docs/lazy-restart.md) records where each
  // chunk of a region it restores later lies in the file.
  struct ChunkInfo;
  bool read_data(const std::function<uint8_t*(uint32_t region)>& dest,
                 std::string* error,
                 const std::function<void(uint32_t region, uint8_t* at,
                                          size_t len)>& prepare = nullptr,
                 const std::function<void(const ChunkInfo&)>& skipped =
                     nullptr);
  static uint8_t* skip() { return &skip_tag_; }
  // Threads read_data() uses; 0 (the default): one per CPU this process
  // may run on, at most kMaxThreads.  A non-regular file is read by one.
  void set_threads(unsigned n) { threads_ = n; }
  // The open image file (pread only: the walk owns the file offset).
  int fd() const { return fd_; }
  static constexpr unsigned kMaxThreads = 16;

  // One chunk as read_chunks() sees it, after its header checksum and
  // fields were checked against the table.
  struct ChunkInfo {
    uint64_t at;  // file offset of its header
    uint32_t region;
    uint64_t page_offset;
    uint32_t page_count;
    Encoding encoding;
    uint64_t stored_size;   // payload bytes in the file
    uint64_t raw_checksum;  // XXH3-64 of the pages it holds
  };
  // The same walk as read_data(), a chunk at a time: dest(chunk) returns
  // where its page_count * kPageSize bytes go (any buffer: dmtcp_inspect
  // reuses one), or skip(); done(chunk), if given, runs once the chunk's
  // data is in place and verified (or passed over).  Every check of
  // read_data() applies.
  bool read_chunks(const std::function<uint8_t*(const ChunkInfo&)>& dest,
                   const std::function<void(const ChunkInfo&)>& done,
                   std::string* error);
  // After read_data()/read_chunks() failed: the region of the chunk whose
  // header was verified but whose data was not, else -1 (the header
  // itself is damaged, or the failure is not in a chunk).
  int64_t error_region() const { return error_region_; }

 private:
  bool fail(std::string* error, const std::string& what) const;
  bool truncated(std::string* error) const;
  bool read_some(void* dst, size_t n, size_t* got, std::string* error);
  bool read_exact(void* dst, size_t n, std::string* error);
  bool skip_exact(uint64_t n, std::string* error);
  bool check_chunk(const ChunkHeader& c, uint64_t at, int64_t prev_region,
                   uint64_t prev_end, std::string* error) const;
  bool decompress(ZSTD_DCtx_s** dctx, const uint8_t* src, size_t size,
                  uint8_t* dst, size_t raw_size, uint64_t at,
                  std::string* error) const;
  bool walk_chunks(
      const std::function<uint8_t*(const ChunkInfo&)>& dest,
      const std::function<void(const ChunkInfo&)>& done,
      const std::function<void(uint32_t, uint8_t*, size_t)>& prepare,
      unsigned threads, std::string* error,
      const std::function<void(const ChunkInfo&)>* skipped = nullptr);
  struct Walk;
  struct Job;
  bool next_job(Walk* w, Job* job, std::vector<uint8_t>* zbuf,
                std::string* error);
  bool run_job(const Job& job, ZSTD_DCtx_s** dctx,
               const std::vector<uint8_t>& zbuf, std::string* error) const;
  void work(Walk* w);

  std::string path_;
  int fd_ = -1;
  FileHeader header_{};
  bool header_checked_ = false;
  std::vector<RegionEntry> regions_;
  std::string names_;
  std::string notes_blob_;
  std::vector<Note> notes_;   // views into notes_blob_
  uint64_t data_offset_ = 0;  // where the first chunk starts
  bool data_read_ = false;    // read_data() runs once per open()
  int64_t error_region_ = -1;

  // Sequential input: small reads come from buf_, large ones go directly
  // into their destination.  A refill right after a seek asks for little
  // (the next chunk's header), then twice as much each time up to the
  // whole buffer: a walk that skips or preads each chunk's pages would
  // otherwise copy a buffer's worth of them per chunk for nothing.
  std::vector<uint8_t> buf_;
  size_t buf_pos_ = 0;
  size_t buf_len_ = 0;
  size_t refill_ = SIZE_MAX;  // bytes the next refill asks for (capped)
  uint64_t pos_ = 0;        // file offset of the next byte handed out
  uint64_t file_size_ = 0;  // at open(): skip_exact() must not pass it
  unsigned threads_ = 0;
  static inline uint8_t skip_tag_ = 0;  // its address is skip()
};

}  // namespace dmtcp::image
