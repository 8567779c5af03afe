// PAGEMAP_SCAN (Linux 6.7+) over our own address space: which pages of a
// range are populated, and which were written since we last
// write-protected them (docs/incremental.md, docs/image-format.md "Which
// pages are stored").
//
// What it is for: one ioctl returns whole ranges of pages that share the
// same categories, so a huge mapping with a few populated pages costs what
// those pages cost, not one pagemap entry per page (a 2 TiB MAP_NORESERVE
// mapping is 4 GiB of pagemap entries).
//
// What it refuses to do silently: every call reports failure (-errno) when
// the kernel has no PAGEMAP_SCAN (ENOTTY, EINVAL), or, with
// PM_SCAN_CHECK_WPASYNC, when a page of the range is not registered for
// asynchronous write-protect (EPERM); callers then fall back to reading
// /proc/self/pagemap or to hashing every page.
//
// Thread-safety: the checkpoint thread only (one output buffer).  No
// malloc: the buffer is mmap'd by prepare() and left out of the image
// (scratch()).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dmtcp::page_scan {

// Maps the output buffer.  False if that failed (every scan then fails).
bool prepare();

// Scans [start, end) of /proc/self/pagemap (fd) with PAGEMAP_SCAN's flags
// and masks; f(arg, first, last, categories) is called for each returned
// range of pages [first, last) (addresses), in address order.  0 or -errno.
int scan(int pagemap_fd, uint64_t start, uint64_t end, uint64_t flags,
         uint64_t category_mask, uint64_t anyof_mask, uint64_t return_mask,
         void (*f)(void* arg, uint64_t first, uint64_t last,
                   uint64_t categories),
         void* arg);

// Whether the last scan() failed because the kernel lacks the ioctl.
bool unsupported();

// Our buffer, for the checkpoint to leave out of the image.
void scratch(void** p, size_t* len);
// After a restart the buffer came back empty: forget it (image_dump
// unmaps every scratch range).
void forget_after_restart();

}  // namespace dmtcp::page_scan
