// Lazy restart (dmtcp_restart --lazy, DMTCP_RESTART_LAZY=1): large private
// anonymous regions are not read before the program runs again; a helper
// process serves their pages from the image on first touch through a
// userfaultfd and copies in the rest in the background.  See
// docs/lazy-restart.md.
//
// What it is for: one LazyPages per restored process, made by
// restore_in_place() before the point of no return.  It refuses nothing
// silently: a chunk whose data fails its checksum when the helper reads
// it kills the restored process with one line naming the chunk (the
// program never sees the bad page).  Thread safety: built by one thread;
// the helper process has its own copy.  It allocates freely (it runs
// with libc, before the point of no return and in the helper).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "image/image_reader.h"
#include "restore_raw/restorer.h"

namespace dmtcp::restart::lazy {

// dmtcp_restart --lazy or DMTCP_RESTART_LAZY=1 (not "0").
bool requested();

// Whether region r is restored lazily: private anonymous memory with
// data, readable and writable, at least kMinBytes long, and not the main
// stack or the heap.  Everything else (stacks, TLS, libraries' data, the
// runtime's own memory) is small and restored eagerly: the kernel itself
// writes to some of it (signal frames, rseq, robust futex lists), and a
// userfaultfd opened with UFFD_USER_MODE_ONLY serves no kernel access.
bool region_is_lazy(const image::RegionEntry& r);
inline constexpr uint64_t kMinBytes = 16ull << 20;

class LazyPages {
 public:
  LazyPages() = default;
  LazyPages(const LazyPages&) = delete;
  LazyPages& operator=(const LazyPages&) = delete;
  ~LazyPages();

  // Opens the userfaultfd (with kernel faults served when this process
  // may, else UFFD_USER_MODE_ONLY) and the two pipes.  False with *error.
  bool open(std::string* error);
  bool user_mode_only() const { return user_mode_only_; }

  // A chunk of a lazy region the reader passed over (checked header,
  // payload at chunk.at + sizeof(ChunkHeader)); region_start is where its
  // region goes.  Chunks come in file order, which is address order.
  void add(const image::ImageReader::ChunkInfo& chunk, uint64_t region_start);
  bool empty() const { return chunks_.empty(); }

  // The address ranges the restorer registers: each run of chunks that
  // touch, or a region's whole span of chunks when it has too many runs
  // (its holes are then served as zero pages).
  const std::vector<restorer::Range>& ranges();

  // Forks the helper (a grandchild, so the restored program never sees it
  // as a child) for this process and the image `reader` has open.  After
  // this, the caller must pass uffd() and ready_fd() to the restorer and
  // resident_fd() to the runtime (RestartInfo::lazy_fd), and close
  // nothing else of ours by number.
  bool start_helper(const image::ImageReader& reader, std::string* error);

  // Moves the three descriptors the restored process keeps until the
  // restorer or the runtime closes them into [base, end).
  bool move_fds(int base, int end, std::string* error);
  int uffd() const { return uffd_; }
  int ready_fd() const { return ready_w_; }
  int resident_fd() const { return resident_r_; }

  struct Chunk {
    uint64_t addr;  // where its first page goes
    uint64_t len;   // page_count * kPageSize
    uint64_t at;    // file offset of its header
    uint64_t stored_size;
    uint64_t raw_checksum;
    uint32_t region;
    bool zstd;
  };

 private:
  std::vector<Chunk> chunks_;
  std::vector<restorer::Range> ranges_;
  bool user_mode_only_ = false;
  int uffd_ = -1;
  int ready_r_ = -1, ready_w_ = -1;        // restorer -> helper
  int resident_r_ = -1, resident_w_ = -1;  // helper -> runtime
};

}  // namespace dmtcp::restart::lazy
