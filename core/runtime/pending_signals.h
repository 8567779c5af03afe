// Signals pending at a checkpoint, kept across a restart.
//
// The kernel holds pending signals (per thread, and process-wide) outside
// the process's memory, so an image alone loses them: a blocked SIGUSR1
// or three queued real-time signals a program would read later (with
// sigwaitinfo or a signalfd) were gone after restart.  At the checkpoint
// each is taken out with rt_sigtimedwait, which hands over the whole
// siginfo, noted in a fixed table (in the image), and queued again at once
// in the same order, so a resumed process sees no difference; after a
// restart they are queued again from the table.  docs/threads.md,
// "Pending signals".
//
// Capacity: kMaxSaved signals per checkpoint for the whole process; more
// stay pending for a resume but are lost at restart (one warning line).
// Thread safety: save_thread() runs in each user thread's checkpoint
// handler concurrently (an atomic slot counter); the rest in the
// checkpoint thread.  No allocation anywhere: raw system calls and a
// static table, safe in a signal handler.
#pragma once

namespace dmtcp::pending_signals {

// Checkpoint thread, before it suspends any user thread: a new table.
void begin_round();
// A user thread in the checkpoint handler (every signal blocked): its own
// pending signals (SigPnd), noted under `owner` and queued back.
void save_thread(const void* owner, int ckpt_signal);
// Checkpoint thread, every process of the computation frozen: the
// process-wide ones (ShdPnd), noted and queued back.
void save_process(int ckpt_signal);
// Restart: the process-wide ones queued again (checkpoint thread), and
// each thread's own (that thread, in its handler, before it returns).
void requeue_process();
void requeue_thread(const void* owner);

}  // namespace dmtcp::pending_signals
