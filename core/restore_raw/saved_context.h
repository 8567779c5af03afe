// A thread's resumable context: what dmtcp_context_save() records and
// dmtcp_context_restore() (runtime) or the restorer jumps back into.
//
// Only callee-saved state is kept: a context is always saved at a call, so
// the caller-saved registers are dead.  A user thread's full register set
// lives in its signal frame on its own stack and comes back with memory
// (rt_sigreturn restores it).
#pragma once

#include <stdint.h>

namespace dmtcp {

struct SavedContext {
  uint64_t rbx, rbp, r12, r13, r14, r15;
  uint64_t rsp;      // stack pointer after the call returns
  uint64_t rip;      // return address
  uint64_t fs_base;  // thread pointer (TCB); set by whoever restores
  uint32_t mxcsr;
  uint16_t fpu_cw;
  uint16_t pad;
};

// Byte offsets used by the assembly; checked with static_assert.
inline constexpr int kCtxRsp = 48;
inline constexpr int kCtxRip = 56;
inline constexpr int kCtxFs = 64;
inline constexpr int kCtxMxcsr = 72;
inline constexpr int kCtxFpuCw = 76;
static_assert(__builtin_offsetof(SavedContext, rsp) == kCtxRsp);
static_assert(__builtin_offsetof(SavedContext, rip) == kCtxRip);
static_assert(__builtin_offsetof(SavedContext, fs_base) == kCtxFs);
static_assert(__builtin_offsetof(SavedContext, mxcsr) == kCtxMxcsr);
static_assert(__builtin_offsetof(SavedContext, fpu_cw) == kCtxFpuCw);

}  // namespace dmtcp
