/* dmtcp/claims.h -- how a plugin tells the core "I save this", so that
 * whatever no loaded plugin saves is named instead of dropped in silence.
 *
 * Purpose.  At every checkpoint, after every plugin's WRITE_CKPT hook has
 * run, the core lists /proc/self/fd, /proc/self/timers (POSIX timers) and
 * the SysV shared memory attachments in /proc/self/maps, and takes out
 * everything a plugin claimed.  What is left is named in ONE warning line
 * per process and checkpoint, with the plugin that would save each item
 * (socket:[..] -> socket, eventfd/epoll/signalfd/inotify -> event,
 * timerfd and POSIX timers -> timer, SysV shm -> sysvipc, files and pipes
 * -> file).  The unclaimed fds are recorded in the core's memory, so they
 * come back with the image; at restart each such fd number is held by a
 * placeholder that reads end of file and fails writes with EPERM (a
 * sealed, empty memfd named "dmtcp-unsaved:<what it was>"), so the
 * program's next open() cannot take a number it still uses.  Details:
 * docs/placeholders.md.
 *
 * Two ways to claim:
 *  - per object, for this round only: call dmtcp_claim_fd(),
 *    dmtcp_claim_posix_timer() or dmtcp_claim_sysv_shm() from a hook on
 *    the way into the checkpoint (THREADS_SUSPEND ... WRITE_CKPT, before
 *    passing WRITE_CKPT on), for each object the plugin will save.  Claims
 *    are forgotten when the next round starts, so a closed and reused fd
 *    number is never claimed by mistake;
 *  - per kind, for good: dmtcp_claim_kind() at any time (INIT is the
 *    natural place) says the plugin saves every fd whose /proc/self/fd link
 *    starts with a prefix ("anon_inode:[eventfd]", "socket:"), or with
 *    DMTCP_CLAIM_ALL_POSIX_TIMERS / DMTCP_CLAIM_ALL_SYSV_SHM every object
 *    of that kind.
 *
 * What it refuses silently: nothing; every refusal is -1 with errno.
 * EINVAL: a per-object claim outside a checkpoint round (before
 * THREADS_SUSPEND or after WRITE_CKPT), a negative id, an empty or
 * over-long prefix; ENOSPC: more than 64 kind claims.  A claim for an
 * object that does not exist is accepted and has no effect.  The
 * runtime's own (protected) fds are never listed.  A placeholder is
 * listed as what it stands for at every checkpoint, and held again at
 * every restart, until the program closes or replaces it.
 *
 * Thread safety: per-object claims come from the checkpoint thread's
 * hooks only (EINVAL from any other thread), when every user thread is
 * frozen, so they take no lock.  dmtcp_claim_kind() may be called from any
 * thread at any time: it appends to a fixed table without a lock.
 * dmtcp_is_placeholder_fd() may be called from any thread.
 *
 * Allocation at checkpoint time: nothing here calls malloc.  Per-object
 * claims and the records of unclaimed fds live in dmtcp_alloc() memory;
 * the core's scan, its warning and the placeholders use system calls,
 * stack buffers and dmtcp_alloc() only, so all of it is safe while a
 * frozen user thread holds the malloc lock.
 *
 * Plain C, like dmtcp/plugin.h.  The functions live in libdmtcp.so, one
 * copy for every plugin; like plugin.h's, a plugin does not link against
 * it: the runtime is always loaded when a plugin is. */
#ifndef DMTCP_CLAIMS_H
#define DMTCP_CLAIMS_H

#ifdef __cplusplus
extern "C" {
#endif

/* This round, the calling plugin saves fd `fd`.  0, or -1 with errno. */
int dmtcp_claim_fd(int fd);

/* This round, the calling plugin saves the POSIX timer whose KERNEL id is
 * `kernel_timer_id` (the "ID:" of /proc/self/timers; after a restart it
 * is the id of the re-made timer, not the program's virtual one). */
int dmtcp_claim_posix_timer(int kernel_timer_id);

/* This round, the calling plugin saves the SysV shared memory segment with
 * the KERNEL shmid `kernel_shmid` (the inode of its "/SYSV..." mapping),
 * contents included: the image then stores none of the pages of this
 * process's attachments of it (the plugin saves them once for the whole
 * computation).  After a restart each attachment is still mapped where it
 * was, as shared memory reading zero, until the plugin attaches the
 * re-made segment over it.  (The kind claim below only silences the
 * warning; the pages are stored.) */
int dmtcp_claim_sysv_shm(int kernel_shmid);

/* From now on, the calling plugin saves every fd whose /proc/self/fd link
 * starts with `prefix` (at most 63 bytes), or, for the two names below,
 * every POSIX timer / every SysV shm attachment. */
#define DMTCP_CLAIM_ALL_POSIX_TIMERS "posix-timer"
#define DMTCP_CLAIM_ALL_SYSV_SHM "sysv-shm"
int dmtcp_claim_kind(const char* prefix);

/* 1 when fd is a placeholder the core put at restart for an fd nobody
 * saved (the program has neither closed nor replaced it since), else 0.
 * A plugin that lists fds itself must leave these alone: not save them,
 * not claim them (the core names them again). */
int dmtcp_is_placeholder_fd(int fd);

#ifdef __cplusplus
}
#endif

#endif /* DMTCP_CLAIMS_H */
