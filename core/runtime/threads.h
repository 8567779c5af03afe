// Every user thread of the process: registration (pthread_create wrapper),
// suspension in the checkpoint signal's handler, resumption, and re-creation
// after a restart.  See docs/threads.md.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>

#include "restore_raw/saved_context.h"

namespace dmtcp::threads {

enum class State : uint32_t { kFree = 0, kStarting, kRunning, kExiting };

struct Thread {
  std::atomic<uint32_t> state{0};       // State
  std::atomic<uint32_t> registered{0};  // creator waits for this
  // pthread_create has not yet seen `registered`: the record is not
  // reclaimed meanwhile (threads.cpp, reclaim_exited).
  std::atomic<uint32_t> creator_waiting{0};
  uint32_t after_fork = 0;  // made inside fork(): start once this fork ends
  std::atomic<uint32_t> suspended{0};   // frozen in this round
  // Set by suspend_all() before its signal: a checkpoint signal without it
  // was sent by the program itself (raise, kill) and is dropped.
  std::atomic<uint32_t> suspend_requested{0};
  pid_t tid = 0;                        // kernel tid (changes on restart)
  pthread_t self = 0;                   // glibc's struct pthread
  void* (*start)(void*) = nullptr;
  void* arg = nullptr;
  // Saved in the handler at each checkpoint, used on restart:
  SavedContext ctx{};
  stack_t altstack{};
  uint64_t robust_head = 0;
  uint64_t robust_len = 0;
  uint32_t next_free = 0;
};

// Start-up: install the handler and register the calling (main) thread.
void init(int ckpt_signal);
void mark_internal_thread();  // checkpoint thread: never suspended
bool is_internal_thread();

// Did a signal of the program's own reach this thread right after the
// checkpoint signal (held back by the handler's mask during the round)?
// The sleep wrappers ask after an EINTR, to report that one to the program
// instead of sleeping on; forget...() before each wait.
void forget_program_signal();
bool program_signal_followed();
// CLOCK_MONOTONIC_COARSE (ns: a few ms of resolution, a few ns to read) when this thread last entered the checkpoint
// handler: a wait cut short learns how long it had waited (the round and
// a restart not counted; the clock is the checkpoint time's).
int64_t last_checkpoint_signal_ns();

// The pthread_create wrapper's body.
int create(pthread_t* out, const pthread_attr_t* attr,
           void* (*start)(void*), void* arg);

// Checkpoint thread only.
// The kernel tids of the user threads (up to max into out); how many.
int list_tids(pid_t* out, int max);
int suspend_all();                   // -> number of threads frozen
void resume_all(bool is_restart);    // lets them return from the handler
// While they are frozen: the stack pointer each frozen thread saved (up to
// max into out); how many.  A thread counts itself frozen just before it
// goes to sleep, so its stack below that pointer may still change for a
// moment: the image copies such regions first (image_dump's is_hot).
int frozen_stack_pointers(uint64_t* out, int max);
void recreate_after_restart();       // new kernel threads, back in handler
// After a restart: the kernel tid now of the thread whose tid was old_tid
// at the checkpoint (-1: none); dmtcp_restored_thread_tid().
pid_t restored_tid(pid_t old_tid);
void save_own_kernel_state();        // the checkpoint thread's robust list
void restore_own_kernel_state();     // tid, rseq, robust list, signal mask

// In a fork child: only the calling thread is left.
void reset_after_fork();
// Around the libc fork() of the fork wrapper, in the forking thread:
// threads that the program's pthread_atfork handlers start meanwhile (in
// the parent or, before our child side has reset the checkpoint lock, in
// the child) wait in their start until fork_done() on their side.
void fork_starting();
void fork_done();

}  // namespace dmtcp::threads
