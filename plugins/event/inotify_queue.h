// inotify_queue.h -- events an inotify instance had queued, unread, when a
// checkpoint came: taken out at the checkpoint, kept in our memory (so
// they come back with the image), and handed to the program's read()
// before anything the kernel queues later.  Design: docs/event.md,
// "Unread inotify events".
//
// Purpose: unread events are not lost across a resume or a restart, come
// in their order, once, with their wd, mask, cookie and name as queued.
// Refuses silently: nothing; a queue that cannot be read at the
// checkpoint is named in one line.
// Thread safety: a spin lock guards the saved queues; wrappers take it
// with checkpoints held off (DMTCP_PLUGIN_DISABLE_CKPT), hooks while no
// user thread is inside a wrapper.  g_serving is read without it.
// Allocation: only in hooks (HookAllocator); the wrappers never allocate.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>

#include "event_table.h"

namespace dmtcp::event {

// How many saved queues have events (or a doorbell) for the program
// still: 0 makes read() one flag test.
extern std::atomic<int> g_serving;

// Hooks (leaders only; the order is docs/event.md's).
// THREADS_SUSPEND, before the scan: fds that no longer name their
// instance stop serving; our reference fds are closed (not saved).
void queue_before_scan();
// DRAIN: take every event queued on d's instance into its saved queue
// (after those still saved from an earlier checkpoint); sets d->queue.
void queue_take(Desc* d, const Table& t);
// DRAIN, after every queue_take: queues no description took are dropped.
void queue_drop_untaken();
// RESUME on the live fd, RESTART on the re-made one: make the instance
// readable again while d has saved events (the doorbell).
void queue_ring(const Desc& d, int fd);
// RESUME, and SEND_QUERIES after the fds are at their numbers: the
// program's fds of d serve its saved events.
void queue_serve(const Desc& d, const Table& t);
void queue_forget_after_fork();

// inotify.cpp: a fresh empty directory of ours; the program's next wd on
// `fd` comes after `wd`.
bool make_dummy_dir(char* out, size_t cap);
void note_last_wd(int fd, int wd);

// Wrapper side (g_serving != 0 only).
enum class Served {
  kNo,      // fd serves no saved queue: read the kernel
  kDone,    // saved events (or EINVAL): *result is read()'s answer
  kKernel,  // none left, the doorbell still queued: read the kernel, then
            // queue_filter() what it returned
};
Served queue_read(int fd, void* buf, size_t len, ssize_t* result);
// Takes the doorbell's event out of `got` bytes the kernel returned;
// returns what is left (0: read again).  errno is kept.
ssize_t queue_filter(int fd, void* buf, ssize_t got);
// FIONREAD on a serving fd: the saved bytes plus the kernel's, less the
// doorbell.  False when `fd` serves none.
bool queue_fionread(int fd, int* bytes);

}  // namespace dmtcp::event
