// See direct_output.h.
//
// Why: on the VMs we measure on, the kernel's copy of an image into new
// page-cache pages costs 1-4 s of system time per GiB on a day when memory
// is slow to fault in (perf: copy_folio_from_iter_atomic), three times the
// disk's own time; a copy into one reused buffer and a direct write from it
// cost the disk's time plus ~0.1 s.
#include "image/direct_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dmtcp::image {

bool DirectOutput::start(int fd, uint8_t* buf) {
  struct statx stx = {};
  if (buf == nullptr || fd < 0 ||
      statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) != 0 ||
      (stx.stx_mask & STATX_DIOALIGN) == 0) {
    return false;
  }
  // Zero means the file system has no direct I/O for this file.  The
  // buffer is page aligned and written in pieces of kBufferBytes, so any
  // power of two up to a page fits it.
  if (stx.stx_dio_mem_align == 0 || stx.stx_dio_offset_align == 0) {
    return false;
  }
  uint32_t align = std::max(stx.stx_dio_mem_align, stx.stx_dio_offset_align);
  if (align > 4096 || (align & (align - 1)) != 0) {
    return false;
  }
  off_t pos = lseek(fd, 0, SEEK_CUR);
  int flags = fcntl(fd, F_GETFL);
  if (pos < 0 || pos % align != 0 || flags < 0 || (flags & O_APPEND) != 0) {
    return false;
  }
  fd_ = fd;
  buf_ = buf;
  used_ = 0;
  off_ = static_cast<uint64_t>(pos);
  align_ = align;
  direct_ = false;
  may_go_direct_ = true;
  went_direct_ = false;
  return true;
}

void DirectOutput::go_direct() {
  // Only once the image outgrows the buffer: an image that fits in it is
  // written with one write() and the caller's fsync, which costs less
  // than a direct write that waits for the device and then the fsync.
  if (!may_go_direct_) {
    return;
  }
  may_go_direct_ = false;
  int flags = fcntl(fd_, F_GETFL);
  direct_ = flags >= 0 && fcntl(fd_, F_SETFL, flags | O_DIRECT) == 0;
}

void DirectOutput::drop_direct() {
  if (!direct_) {
    return;
  }
  direct_ = false;
  int flags = fcntl(fd_, F_GETFL);
  if (flags >= 0) {
    fcntl(fd_, F_SETFL, flags & ~O_DIRECT);
  }
}

int DirectOutput::write_out(const uint8_t* p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = pwrite(fd_, p + done, n - done,
                       static_cast<off_t>(off_ + done));
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EINVAL && direct_) {
        // The file system refused this direct write after all (a file
        // system stacked on another, a device with other rules): the same
        // bytes through the page cache.
        drop_direct();
        continue;
      }
      return -errno;
    }
    if (w == 0) {
      return -EIO;
    }
    done += static_cast<size_t>(w);
    went_direct_ = went_direct_ || direct_;
    if (direct_ && done < n && done % align_ != 0) {
      drop_direct();  // a short write left the rest unaligned
    }
  }
  off_ += n;
  return 0;
}

int DirectOutput::append(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    size_t take = std::min(n, kBufferBytes - used_);
    memcpy(buf_ + used_, p, take);
    used_ += take;
    p += take;
    n -= take;
    if (used_ == kBufferBytes) {
      go_direct();
      if (int rc = write_out(buf_, used_); rc != 0) {
        return rc;
      }
      used_ = 0;
    }
  }
  return 0;
}

int DirectOutput::append_all(const iovec* iov, int n) {
  for (int i = 0; i < n; ++i) {
    if (int rc = append(iov[i].iov_base, iov[i].iov_len); rc != 0) {
      return rc;
    }
  }
  return 0;
}

int DirectOutput::finish() {
  if (!active()) {
    return 0;
  }
  // Direct writes need whole blocks: the last partial one goes through the
  // page cache (the caller's fsync writes it).
  size_t head = direct_ ? used_ / align_ * align_ : 0;
  int rc = write_out(buf_, head);
  drop_direct();
  if (rc == 0) {
    rc = write_out(buf_ + head, used_ - head);
  }
  if (rc == 0 && lseek(fd_, static_cast<off_t>(off_), SEEK_SET) < 0) {
    rc = -errno;
  }
  fd_ = -1;
  used_ = 0;
  return rc;
}

}  // namespace dmtcp::image
