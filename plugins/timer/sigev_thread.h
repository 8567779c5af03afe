// sigev_thread.h -- our own helper thread for SIGEV_THREAD timers.
//
// Why not glibc's: glibc starts its helper with an internal
// pthread_create that the core never sees, so the checkpoint does not
// save it and a restarted process has no helper (tested: SIGEV_THREAD
// timers went silent after restart), and it keeps the helper's tid in a
// hidden variable that goes stale.  Ours is made with the public
// pthread_create, so the core suspends and re-makes it like any thread;
// its kernel timers are SIGEV_THREAD_ID timers aimed at it with signal
// kSigTimerThread, the timer's virtual id as value; it waits for that
// signal and starts the program's function in a new detached thread, as
// glibc does.
//
// Thread safety: start_sigev_helper() may be called from any thread (once
// wins).  Allocation: the helper mallocs per expiry (it is an ordinary
// thread, frozen like the others during a checkpoint).
#pragma once

#include <pthread.h>
#include <sys/types.h>

namespace dmtcp::timer {

// Starts the helper if needed; false if it cannot run (errno EAGAIN).
// Not from a hook, nor with checkpoints disabled (pthread_create waits for
// the core).
bool start_sigev_helper();
// The helper's kernel tid now (after a restart, its new one); -1: none.
pid_t sigev_helper_tid();
// ATFORK_CHILD: the child has no helper.
void forget_sigev_helper_after_fork();

}  // namespace dmtcp::timer
