/* dmtcp/checkpoint_eintr.h -- telling the checkpoint's EINTR from the
 * program's, for plugin wrappers of blocking calls the kernel never
 * restarts (semop, semtimedop, msgrcv, msgsnd, mq_receive with a
 * timeout...).
 *
 * Purpose.  A checkpoint stops every user thread with a signal; a call
 * blocked in the kernel that SA_RESTART does not restart returns EINTR,
 * at resume and after a restart alike.  A wrapper that must keep the
 * program waiting does:
 *
 *   for (;;) {
 *     unsigned before = dmtcp_wait_begin();
 *     ... translate ids (they change at restart) and make the call ...
 *     if (r != -1 || !dmtcp_wait_interrupted_by_checkpoint(errno, before))
 *       return r;
 *   }
 *
 * What it refuses silently: nothing.  An EINTR is the program's (and is
 * returned) when no round ended during the wait, or when a signal of the
 * program's, held back during the round, was delivered right after it.
 * Without the runtime (the weak symbols are absent) or when it is
 * disabled, dmtcp_wait_interrupted_by_checkpoint() is 0.
 *
 * Thread safety: both may be called from any user thread at any time;
 * they read an atomic round counter and the calling thread's own note.
 *
 * Allocation: none; safe in signal handlers and hooks.
 *
 * Plain C; the functions live in libdmtcp.so (core/runtime/app_api.cpp),
 * which sleep(), pause() and sigsuspend() use the same way. */
#ifndef DMTCP_CHECKPOINT_EINTR_H
#define DMTCP_CHECKPOINT_EINTR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Before each wait: the number of rounds ended so far (and forgets any
 * earlier program signal noted for this thread). */
unsigned dmtcp_wait_begin(void);

/* After a wait that began when dmtcp_wait_begin() returned `before` and
 * failed with `error`: 1 when only the checkpoint's signal ended it (the
 * caller waits again), else 0. */
int dmtcp_wait_interrupted_by_checkpoint(int error, unsigned before);

/* 1 when a round (checkpoint or restart) ended since `before`, whatever
 * the error: a wrapper that translated an id before the call and got
 * EINVAL/EIDRM uses it to translate again after a restart. */
int dmtcp_rounds_since(unsigned before);

#ifdef __cplusplus
}
#endif

#endif /* DMTCP_CHECKPOINT_EINTR_H */
