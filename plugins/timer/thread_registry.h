// thread_registry.h -- the process's threads as the program names them.
//
// Purpose: a SIGEV_THREAD_ID timer names its thread by the tid the program
// knows (the pid plugin's virtual tid, or the kernel's without it), and a
// CLOCK_THREAD_CPUTIME_ID timer belongs to the thread that made it.  After
// a restart every thread has a new kernel tid; we find it through the
// thread's pthread_t: the core writes the new tid into glibc's thread
// descriptor when it re-makes the thread, and pthread_getcpuclockid()
// encodes exactly that tid.  So we keep (program's tid, pthread_t) pairs.
//
// Refuses nothing silently: a tid we do not know gives std::nullopt.
// Thread safety: fixed array of atomic slots; registering and lookups may
// run concurrently from any thread.  Allocation: none, ever (4096 slots;
// threads beyond that are not registered and their timers name the tid
// the program gave, which goes stale at restart: logged once).
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <optional>

namespace dmtcp::timer {

// INIT (main thread) and THREAD_START (each new thread, after the pid
// plugin registered it).
void register_current_thread();
// PTHREAD_EXIT / PTHREAD_RETURN.
void forget_current_thread();
// ATFORK_CHILD: only the calling thread lives on.
void reset_threads_after_fork();

// The thread the program calls `tid`.
std::optional<pthread_t> thread_by_program_tid(pid_t tid);
// The tid the program knows `thread` by.
std::optional<pid_t> program_tid_of(pthread_t thread);
// Its kernel tid now, or -1 if it is gone (glibc's pthread_getcpuclockid,
// not our wrapper of it).
pid_t real_tid_of(pthread_t thread);

}  // namespace dmtcp::timer
