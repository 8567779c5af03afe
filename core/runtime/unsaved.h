// Whatever no loaded plugin saves: claims (dmtcp/claims.h), the
// checkpoint-time warning and the restart-time placeholders
// (docs/placeholders.md).
//
// Record of one process, in this library's memory (so it comes back with
// the image): the fds found unclaimed at the last checkpoint, each with
// its close-on-exec flag, what /proc/self/fd said it was, and the
// placeholder that holds it since the last restart (if one does).
//
// Thread safety: one spin lock guards claims and records; the three calls
// below run in the checkpoint thread.  Nothing here calls malloc.
#pragma once

namespace dmtcp::unsaved {

// Checkpoint, before THREADS_SUSPEND: forget last round's per-object
// claims and accept new ones.
void begin_round();
// Checkpoint, after every plugin's WRITE_CKPT hook and before the image
// is written: list what nobody claimed, record the fds, warn in one line.
void find_and_warn();
// Restart, before RESTART is fired: a placeholder at every recorded fd
// number that is free (dmtcp_restart's own 0-2 are left as they are).
void hold_numbers();
// While the image is planned: true when a plugin claimed the SysV segment
// with this kernel shmid this round (dmtcp_claim_sysv_shm): it saves the
// contents itself, so the image stores none of its pages.
bool sysv_shm_claimed(int kernel_shmid);

}  // namespace dmtcp::unsaved
