// Which pages of private anonymous memory the program wrote since the last
// checkpoint: userfaultfd write-protect in asynchronous mode plus
// PAGEMAP_SCAN (Linux 6.7+; docs/incremental.md, "How changed pages are
// found").
//
// What it is for: incremental images.  After a checkpoint has read a
// region, every populated page of it is write-protected; the program's
// next write to such a page is resolved by the kernel itself
// (UFFD_FEATURE_WP_ASYNC: no fault is ever delivered to us, nothing blocks
// or gets SIGBUS) and merely clears the page's protection, which the next
// PAGEMAP_SCAN reports as PAGE_IS_WRITTEN.  The caller hashes only those
// pages.
//
// What it refuses to do silently: a range it cannot vouch for (the kernel
// lacks the features, the memory is not anonymous, another userfaultfd owns
// it, a registration was lost with mremap, fork or restart) is reported as
// not tracked (-errno), never as "nothing written".  Holes are never
// protected (that would fill page tables across a sparse mapping); a page
// that was not populated is the caller's business (pagemap says so).
//
// Thread-safety: the checkpoint thread, and the atfork child handler.  No
// malloc.  The userfaultfd is a protected fd of ours (dmtcp_is_protected_fd),
// O_CLOEXEC; closing it undoes every registration and protection.
#pragma once

#include <cstdint>

namespace dmtcp::write_tracker {

// Registers [start, end) (one mapping) for asynchronous write-protect if it
// is not yet, reports each range of populated pages written since the last
// call as f(arg, first, last) (addresses), and write-protects them again.
// 0, or -errno: nothing is known of the range (every page may have been
// written).  Even after a first registration the answer is right: pages
// that were never protected read as written.
int collect_and_rearm(int pagemap_fd, uint64_t start, uint64_t end,
                      void (*f)(void* arg, uint64_t first, uint64_t last),
                      void* arg);

bool is_own_fd(int fd);

// In a fork child: the inherited userfaultfd is the parent's (it names the
// parent's memory); close our copy.  The child's mappings are not
// registered (no UFFD_FEATURE_EVENT_FORK) and its pages carry no
// protection: the kernel clears it when it copies them.
void forget_after_fork();
// After a restart: memory is new and unregistered; the number is not ours.
void forget_after_restart();

}  // namespace dmtcp::write_tracker
