// The restorer.  Freestanding: this file is compiled without libc, builtins,
// stack protector or jump tables, and every function is either inlined into
// dmtcp_restorer_main or placed in the "dmtcp_restorer" section, so the whole
// section can be copied anywhere and run (restorer_selfcontained_test checks
// that no relocation leaves the section).
//
// Algorithm (see docs/restore.md):
//  1. Unmap everything except Args::keep (this code, its stack, the staging
//     pool and the kernel's special mappings).
//  2. Move [vvar], [vvar_vclock], [vdso] to a parking spot, then to where the
//     image had them (targets may overlap the current spots).
//  3. Set the program break: shrink it to start_brk (before step 1, so no
//     later brk() can unmap restored memory), then walk it up to the
//     image's exact break when that lies above.
//  4. mremap each staged region to its address and give it its protection;
//     map the regions that have no data.
//  5. Lazy restart: register the lazy ranges with the userfaultfd, tell the
//     helper process, close both descriptors (docs/lazy-restart.md).
//  6. Unmap the staging pool, copy RestartInfo into the restored runtime and
//     jump into the checkpoint thread's saved context.
#include "restore_raw/restorer.h"

#include <asm/prctl.h>
#include <asm/unistd.h>
#include <linux/mman.h>
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include <sys/mman.h>

#define RESTORER_INLINE static inline __attribute__((always_inline))

namespace {

using dmtcp::SavedContext;
using dmtcp::restorer::Args;

constexpr uint64_t kUserTop = 0x7ffffffff000ull;  // x86_64 TASK_SIZE (4 levels)

RESTORER_INLINE long sys6(long n, long a, long b, long c, long d, long e,
                          long f) {
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  long ret;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

RESTORER_INLINE long sys3(long n, long a, long b, long c) {
  return sys6(n, a, b, c, 0, 0, 0);
}

// Prints "<prefix> step S errno E" and exits: there is no way back once the
// old address space is gone.
[[noreturn]] RESTORER_INLINE void fail(const Args* a, int step, long err) {
  char buf[160];
  uint32_t n = 0;
  for (uint32_t i = 0; i < a->fail_prefix_len && n < 96; ++i) {
    buf[n++] = a->fail_prefix[i];
  }
  long nums[2] = {step, err < 0 ? -err : err};
  for (int k = 0; k < 2; ++k) {
    buf[n++] = ' ';
    char digits[24];
    int d = 0;
    long v = nums[k];
    do {
      digits[d++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0 && d < 20);
    while (d > 0) {
      buf[n++] = digits[--d];
    }
  }
  buf[n++] = '\n';
  sys3(__NR_write, 2, reinterpret_cast<long>(buf), n);
  sys3(__NR_exit_group, 70, 0, 0);
  for (;;) {
  }
}

RESTORER_INLINE bool is_error(long r) {
  return r < 0 && r > -4096;
}

RESTORER_INLINE void unmap_all_but_keep(const Args* a) {
  uint64_t cursor = 0;
  for (uint32_t i = 0; i <= a->keep_count; ++i) {
    uint64_t next = i < a->keep_count ? a->keep[i].start : kUserTop;
    if (next > cursor) {
      long r = sys3(__NR_munmap, static_cast<long>(cursor),
                    static_cast<long>(next - cursor), 0);
      if (is_error(r)) {
        fail(a, 1, r);
      }
    }
    if (i < a->keep_count) {
      cursor = a->keep[i].end;
    }
  }
}

RESTORER_INLINE long move(uint64_t from, uint64_t len, uint64_t to) {
  return sys6(__NR_mremap, static_cast<long>(from), static_cast<long>(len),
              static_cast<long>(len), MREMAP_MAYMOVE | MREMAP_FIXED,
              static_cast<long>(to), 0);
}

RESTORER_INLINE void move_special_mappings(const Args* a) {
  for (uint32_t i = 0; i < a->special_count; ++i) {
    const auto& s = a->special[i];
    if (s.target != 0 && s.target != s.cur_start) {
      long r = move(s.cur_start, s.len, s.park);
      if (static_cast<uint64_t>(r) != s.park) {
        fail(a, 2, r);
      }
    }
  }
  for (uint32_t i = 0; i < a->special_count; ++i) {
    const auto& s = a->special[i];
    if (s.target != 0 && s.target != s.cur_start) {
      long r = move(s.park, s.len, s.target);
      if (static_cast<uint64_t>(r) != s.target) {
        fail(a, 3, r);
      }
    }
  }
}

// brk() never fails loudly: it returns the break it ended up with.
RESTORER_INLINE uint64_t set_brk(uint64_t to) {
  return static_cast<uint64_t>(sys3(__NR_brk, static_cast<long>(to), 0, 0));
}

// Walks the kernel's break from start_brk up to the image's exact break.
// The distance can be far larger than RAM (a PIE image's break is ~85 TiB
// above ours) and the kernel grants one brk() step at most RAM plus swap
// (its overcommit heuristic), so it takes thousands of steps.  Each step
// only extends the one break mapping (nothing is touched); what the steps
// mapped is dropped with one munmap at the end.  Dropping it after every
// step, as before, cost a TLB shootdown each: 5,500 of them, 100+ ms of
// system time on a VM (docs/restore.md).  Under strict overcommit (mode 2)
// the mapped total counts: a refused step first drops what is mapped and
// is tried again; only a step refused with nothing mapped is halved.
// Steps are brk_step when dmtcp_restart knew the kernel's limit (a third
// fewer steps on this machine than the power of two below it), else they
// start at 4 GiB and double until refused.  The range is empty
// (dmtcp_restart checked that nothing kept lies in it), and the image's
// own [heap] is placed there afterwards.  If the walk fails anyway the
// break goes back to start_brk and the runtime notices (docs/restore.md).
RESTORER_INLINE void walk_program_break(const Args* a) {
  if (a->target_brk == 0) {
    return;
  }
  constexpr uint64_t kMinStep = 1ull << 26;  // 64 MiB
  constexpr uint64_t kMaxStep = 1ull << 40;  // 1 TiB
  uint64_t step = a->brk_step >= kMinStep ? a->brk_step : 4ull << 30;
  bool grow = a->brk_step < kMinStep;
  uint64_t cur = a->cur_start_brk;
  uint64_t mapped_from = cur;  // [mapped_from, cur) is mapped by our steps
  while (cur < a->target_brk) {
    uint64_t next = a->target_brk - cur > step ? cur + step : a->target_brk;
    if (set_brk(next) != next) {
      if (mapped_from < cur) {
        sys3(__NR_munmap, static_cast<long>(mapped_from),
             static_cast<long>(cur - mapped_from), 0);
        mapped_from = cur;
        continue;
      }
      if (step <= kMinStep) {
        set_brk(a->cur_start_brk);
        return;
      }
      step /= 2;
      grow = false;
      continue;
    }
    cur = next;
    if (grow && step < kMaxStep) {
      step *= 2;
    }
  }
  if (mapped_from < cur) {
    sys3(__NR_munmap, static_cast<long>(mapped_from),
         static_cast<long>(cur - mapped_from), 0);
  }
}
RESTORER_INLINE void place_regions(const Args* a) {
  for (uint64_t i = 0; i < a->move_count; ++i) {
    const auto& m = a->moves[i];
    long r = move(m.from, m.len, m.to);
    if (static_cast<uint64_t>(r) != m.to) {
      fail(a, 4, r);
    }
    r = sys3(__NR_mprotect, static_cast<long>(m.to), static_cast<long>(m.len),
             m.prot);
    if (is_error(r)) {
      fail(a, 5, r);
    }
  }
  for (uint64_t i = 0; i < a->fresh_count; ++i) {
    const auto& f = a->fresh[i];
    long r = sys6(
        __NR_mmap, static_cast<long>(f.addr), static_cast<long>(f.len), f.prot,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1,
        0);
    if (static_cast<uint64_t>(r) != f.addr) {
      fail(a, 6, r);
    }
  }
}

RESTORER_INLINE void register_lazy(const Args* a) {
  if (a->lazy_uffd < 0) {
    return;
  }
  for (uint64_t i = 0; i < a->lazy_range_count; ++i) {
    struct uffdio_register reg;
    reg.range.start = a->lazy_ranges[i].start;
    reg.range.len = a->lazy_ranges[i].end - a->lazy_ranges[i].start;
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    reg.ioctls = 0;
    long r = sys3(__NR_ioctl, a->lazy_uffd, static_cast<long>(UFFDIO_REGISTER),
                  reinterpret_cast<long>(&reg));
    if (is_error(r)) {
      fail(a, 9, r);
    }
  }
  char one = '1';
  long r = sys3(__NR_write, a->lazy_ready_fd, reinterpret_cast<long>(&one), 1);
  if (r != 1) {
    fail(a, 10, r);
  }
  sys3(__NR_close, a->lazy_ready_fd, 0, 0);
  sys3(__NR_close, a->lazy_uffd, 0, 0);
}

RESTORER_INLINE void copy_bytes(uint64_t dst, const void* src, uint64_t n) {
  auto* d = reinterpret_cast<volatile char*>(dst);
  const auto* s = static_cast<const volatile char*>(src);
  for (uint64_t i = 0; i < n; ++i) {
    d[i] = s[i];
  }
}

[[noreturn]] RESTORER_INLINE void jump_to(const Args* a) {
  const auto* ctx =
      reinterpret_cast<const SavedContext*>(a->resume_context_addr);
  long r =
      sys3(__NR_arch_prctl, ARCH_SET_FS, static_cast<long>(ctx->fs_base), 0);
  if (is_error(r)) {
    fail(a, 8, r);
  }
  register const SavedContext* c asm("rdi") = ctx;
  asm volatile(
      "ldmxcsr 72(%%rdi)\n\t"
      "fldcw 76(%%rdi)\n\t"
      "mov 0(%%rdi), %%rbx\n\t"
      "mov 8(%%rdi), %%rbp\n\t"
      "mov 16(%%rdi), %%r12\n\t"
      "mov 24(%%rdi), %%r13\n\t"
      "mov 32(%%rdi), %%r14\n\t"
      "mov 40(%%rdi), %%r15\n\t"
      "mov 48(%%rdi), %%rsp\n\t"
      "mov $1, %%eax\n\t"
      "jmp *56(%%rdi)\n\t"
      :
      : "r"(c)
      : "memory");
  __builtin_unreachable();
}

}  // namespace

extern "C" __attribute__((section("dmtcp_restorer"), used, noinline,
                          visibility("hidden"))) void
dmtcp_restorer_main(const Args* a) {
  // Our break to its lowest first: the kernel unmaps our heap itself, and
  // no later brk() can unmap restored memory.
  set_brk(a->cur_start_brk);
  unmap_all_but_keep(a);
  move_special_mappings(a);
  walk_program_break(a);
  place_regions(a);
  register_lazy(a);
  if (a->pool_len != 0) {
    sys3(__NR_munmap, static_cast<long>(a->pool_start),
         static_cast<long>(a->pool_len), 0);
  }
  copy_bytes(a->restart_info_dest, a->restart_info, a->restart_info_size);
  jump_to(a);
}
