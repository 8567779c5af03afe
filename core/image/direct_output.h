// The image writer's output through direct I/O: bytes are gathered in one
// reused, page-aligned buffer and written from it with O_DIRECT, so a
// checkpoint neither fills the page cache nor pays for the kernel's copy
// into freshly allocated cache pages (docs/image-format.md, "Writing with
// direct I/O").
//
// Used only where the file system says how to align direct I/O
// (statx STATX_DIOALIGN) and the file's offset is aligned; anything else,
// and any direct write the kernel refuses, falls back to ordinary writes of
// the same bytes.  No malloc: runs in the checkpoint thread.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace dmtcp::image {

class DirectOutput {
 public:
  // How much the writer gathers before each write; also the buffer size
  // start() needs.
  static constexpr size_t kBufferBytes = size_t{8} << 20;

  // Starts output to fd at its current offset, gathering in buf
  // (kBufferBytes, page aligned, owned by the caller); O_DIRECT is set
  // when the first full buffer is written.  False, with fd untouched,
  // where direct I/O is not possible.
  bool start(int fd, uint8_t* buf);
  bool active() const { return fd_ >= 0; }
  // Whether any of the bytes bypassed the page cache.
  bool went_direct() const { return went_direct_; }

  // Appends n bytes; every full buffer is written.  0 or -errno.
  int append(const void* data, size_t n);
  // append() of each of iov[0..n).
  int append_all(const iovec* iov, int n);

  // Writes what is left: the aligned part directly, the tail through the
  // page cache.  Leaves fd without O_DIRECT, its offset at the end of what
  // was written.  0 or -errno; the output is inactive afterwards either way.
  int finish();

 private:
  // Writes p[0..n) at off_ and advances off_.  0 or -errno.
  int write_out(const uint8_t* p, size_t n);
  // Sets O_DIRECT (once per image).
  void go_direct();
  // Clears O_DIRECT: every later write goes through the page cache.
  void drop_direct();

  int fd_ = -1;
  uint8_t* buf_ = nullptr;
  size_t used_ = 0;
  uint64_t off_ = 0;  // file offset of buf_[0]
  uint32_t align_ = 0;
  bool direct_ = false;         // O_DIRECT is set now
  bool may_go_direct_ = false;  // not tried yet for this image
  bool went_direct_ = false;    // a direct write succeeded
};

}  // namespace dmtcp::image
