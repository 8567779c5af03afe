// What we need to know about glibc's per-thread control block (struct
// pthread) to bring threads back: where it keeps the kernel tid, and the
// rseq area it registered.  Probed at start-up, never hard-coded.
// See docs/threads.md.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <cstdint>

namespace dmtcp::tcb {

// Finds the offset of the tid field by looking for gettid() inside
// pthread_self() of the calling thread; asserts if not found.
void probe_tid_offset();
// Checks the probed offset in another thread (asserts on mismatch).
void verify_tid_offset();

pid_t* tid_address(pthread_t thread);
uint64_t thread_pointer();  // this thread's fs base

// Registers glibc's rseq area of the calling thread again (restart: the
// kernel forgot it).  No-op when glibc runs without rseq.
void register_rseq();

// The kernel's ids, never a virtualized one: a pid plugin (closer to libc
// than we are) answers getpid()/gettid() with virtual ids, which raw
// syscalls such as tgkill and process_vm_readv must not see.
pid_t gettid_raw();
pid_t getpid_raw();

}  // namespace dmtcp::tcb
