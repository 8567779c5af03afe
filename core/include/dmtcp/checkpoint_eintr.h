/* dmtcp/checkpoint_eintr.h -- telling the checkpoint's EINTR from the
 * program's, for plugin wrappers of blocking calls the kernel never
 * restarts (poll, select, epoll_wait, semop, semtimedop, msgrcv,
 * mq_receive with a timeout...).
 *
 * Purpose.  A checkpoint stops every user thread with a signal; a call
 * blocked in the kernel that SA_RESTART does not restart returns EINTR,
 * at resume and after a restart alike.  A wrapper that must keep the
 * program waiting does:
 *
 *   for (;;) {
 *     DmtcpWait w;
 *     dmtcp_wait_begin(&w);
 *     ... translate ids (they change at restart) and make the call ...
 *     int64_t waited;
 *     if (r != -1 ||
 *         !dmtcp_wait_interrupted_by_checkpoint(&w, errno, &waited))
 *       return r;
 *     ... a call with a timeout waits again for the rest of it ...
 *   }
 *
 * What it refuses silently: nothing.  An EINTR is the program's (and is
 * returned) when no round ended during the wait, or when a signal of the
 * program's, held back during the round, was delivered right after it.
 * Without the runtime (the weak symbols are absent) or when it is
 * disabled, dmtcp_wait_interrupted_by_checkpoint() is 0.
 *
 * Time.  *waited_ns is how long the wait had run when the checkpoint
 * signal came (CLOCK_MONOTONIC_COARSE: within a few ms).  The time frozen
 * in the round is not counted, as if the program had not been stopped.
 *
 * Thread safety: every function may be called from any user thread at
 * any time; they read an atomic round counter and the calling thread's
 * own note.
 *
 * Allocation: none; safe in signal handlers and hooks.
 *
 * Plain C; the functions live in libdmtcp.so (core/runtime/app_api.cpp),
 * whose sleep(), pause() and sigsuspend() wrappers work the same way
 * (docs/threads.md).  An extension of ours; dmtcp/plugin.h includes it. */
#ifndef DMTCP_CHECKPOINT_EINTR_H
#define DMTCP_CHECKPOINT_EINTR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One wait: the rounds ended before it and when it began. */
typedef struct {
  uint32_t rounds;
  int64_t start_ns;
} DmtcpWait;

/* Right before each wait (also forgets any earlier program signal noted
 * for this thread). */
void dmtcp_wait_begin(DmtcpWait *w);

/* After the wait `w` failed with `error`: 1 when only the checkpoint's
 * signal ended it (the caller waits again), else 0.  waited_ns may be
 * NULL. */
int dmtcp_wait_interrupted_by_checkpoint(const DmtcpWait *w, int error,
                                         int64_t *waited_ns);

/* 1 when a round (checkpoint or restart) ended since dmtcp_wait_begin(w),
 * whatever the error: a wrapper that translated an id before the call and
 * got EINVAL/EIDRM uses it to translate again after a restart. */
int dmtcp_rounds_since(const DmtcpWait *w);

#ifdef __cplusplus
}
#endif

#endif /* DMTCP_CHECKPOINT_EINTR_H */
