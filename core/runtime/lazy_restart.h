// Lazy restart, the runtime's side (docs/lazy-restart.md): after
// dmtcp_restart --lazy, a helper process outside the computation fills the
// large private regions from the image while the program runs.  Until it
// is done, some pages are not in memory yet: a fork child would find them
// empty (it does not inherit the userfaultfd registration), and the image
// writer must read every page.  So a fork and a checkpoint first wait for
// full residency here.
//
// What it refuses to do silently: a helper that ended without saying every
// page is in (it was killed) means pages may be missing; the process says
// so in one line and exits (status 70) rather than run on or checkpoint
// with memory it cannot trust.
//
// Thread-safety: any thread may call wait_resident(); the first reads the
// pipe, the others wait for it.  adopt() runs in the checkpoint thread
// before any user thread exists.  Neither allocates.
#pragma once

namespace dmtcp::lazy_restart {

// The residency pipe dmtcp_restart handed over (RestartInfo::lazy_fd), or
// -1: nothing to wait for.
void adopt(int fd);

// Returns once every page of the last lazy restart is in (at once if
// there was none, or once it was seen).
void wait_resident();

}  // namespace dmtcp::lazy_restart
