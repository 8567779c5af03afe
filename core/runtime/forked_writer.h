// Forked checkpoints (dmtcp_launch --forked-checkpoint): the image is
// written by a copy-on-write copy of the process while the program runs on.
//
// What it is for: the program's pause no longer grows with its memory; it
// is suspension, drain, the copy of the page tables and the refill.
//
// What it refuses to do silently: a writer that dies, fails or is killed
// is reported (finish() returns -errno and a one-line reason for the
// coordinator), and its temporary file (and final name, should it have got
// that far) is removed, so the previous checkpoint is untouched.
//
// Thread-safety: only the checkpoint thread calls these, one writer at a
// time.  start() runs while every user thread is frozen; finish() while
// they run again.  Neither allocates.
//
// The writer is invisible to the program: it is made by a raw clone() with
// exit signal 0 (no SIGCHLD, and wait()/waitpid(-1)/waitid(P_ALL) without
// __WALL or __WCLONE never see it), no glibc fork handlers and none of our
// fork logic run, it blocks every signal, holds none of the program's fds
// (only stderr, the temporary file and the pipe that reports its result)
// and dies with the checkpoint thread (PR_SET_PDEATHSIG).  docs/threads.md.
#pragma once

#include <cstddef>

namespace dmtcp::forked_writer {

// Creates the temporary image file and clones the writer.  0 or -errno
// (nothing was started: the caller writes the image itself).
int start();

// How the wait ended besides the writer's result.
enum class WaitEnd { kWriterDone, kAborted, kCoordinatorLost };

// Waits for the writer, reading the coordinator's messages meanwhile
// (kKill: the writer is killed and cleaned up, then the process dies;
// kAbortRound: the same without dying, *end = kAborted).  Returns 0 when
// the image is on disk under its final name, else -errno with a one-line
// reason in why.
int finish(int coord_fd, WaitEnd* end, char* why, size_t why_cap);

// The image the writer writes (its final name).
const char* image_path();

// In a fork child of the program: a writer in progress is the parent's
// (its pipe is closed here, nothing else is touched).
void forget_after_fork();

// The process is about to die (kKill): a writer in progress is killed and
// reaped, its temporary file removed.  No-op without one.
void abandon();

}  // namespace dmtcp::forked_writer
