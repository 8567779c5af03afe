// The restorer: position-independent, freestanding code that dmtcp_restart
// copies to a free spot and jumps to once the image is loaded and verified
// in staging memory.  It gives up dmtcp_restart's address space, moves the
// staged regions to their addresses, moves the vDSO, sets the program
// break, and jumps into the checkpoint thread's saved context.
// See docs/restore.md.
//
// Everything it needs is in RestorerArgs (no globals, no libc).
#pragma once

#include <stdint.h>

#include "restore_raw/saved_context.h"

namespace dmtcp::restorer {

// A staged region: mremap(from -> to), then mprotect(prot).
struct Move {
  uint64_t from;
  uint64_t to;
  uint64_t len;
  uint32_t prot;
  uint32_t pad;
};

// A fresh anonymous mapping at a fixed address (regions with no data).
struct FreshMap {
  uint64_t addr;
  uint64_t len;
  uint32_t prot;
  uint32_t pad;
};

// Address ranges [start, end) the restorer must not unmap: itself, the
// staging areas and the kernel's special mappings.
struct Range {
  uint64_t start;
  uint64_t end;
};

// One of [vvar], [vvar_vclock], [vdso]: where the kernel put it in this
// process and where the image wants it.
struct SpecialMove {
  uint64_t cur_start;
  uint64_t len;
  uint64_t park;    // free spot for the first hop (targets may overlap)
  uint64_t target;  // 0 = leave where it is
};

inline constexpr uint32_t kMaxKeep = 64;
inline constexpr uint32_t kMaxSpecial = 3;

struct Args {
  // Sorted, non-overlapping.
  Range keep[kMaxKeep];
  uint32_t keep_count;
  uint32_t special_count;
  SpecialMove special[kMaxSpecial];

  // The staging pool; empty once every region has moved out.
  uint64_t pool_start;
  uint64_t pool_len;

  const Move* moves;
  uint64_t move_count;
  const FreshMap* fresh;
  uint64_t fresh_count;

  // Program break: shrink to the kernel's start_brk, then walk up to the
  // image's exact brk (unmapping what each step mapped).
  uint64_t cur_start_brk;
  uint64_t target_brk;  // 0 = leave at cur_start_brk (cannot be exact)
  // The largest brk() step the kernel is known to grant (its overcommit
  // heuristic: RAM plus swap), or 0: find it by doubling from 4 GiB.
  uint64_t brk_step;

  // Copied into the restored runtime before the jump.
  const void* restart_info;
  uint64_t restart_info_size;
  uint64_t restart_info_dest;

  // The checkpoint thread's context inside restored memory.
  uint64_t resume_context_addr;

  // Lazy restart (docs/lazy-restart.md): after placing the regions,
  // register these ranges (already mapped empty by `fresh`) with the
  // userfaultfd for missing pages, write one byte to lazy_ready_fd (the
  // helper process waits for it before it copies anything), and close
  // both descriptors: the restored process must not hold the userfaultfd.
  // lazy_uffd < 0: not lazy.
  const Range* lazy_ranges;
  uint64_t lazy_range_count;
  int32_t lazy_uffd;
  int32_t lazy_ready_fd;

  // Pre-formatted message prefix printed if a step fails (then exit 70).
  char fail_prefix[96];
  uint32_t fail_prefix_len;
  uint32_t pad;
};

}  // namespace dmtcp::restorer

// Entry point (in section "dmtcp_restorer"); never returns.
extern "C" void dmtcp_restorer_main(const dmtcp::restorer::Args* args);
extern "C" char __start_dmtcp_restorer[];
extern "C" char __stop_dmtcp_restorer[];
