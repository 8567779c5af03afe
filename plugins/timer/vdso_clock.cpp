// vdso_clock.cpp -- see vdso_clock.h.
#include "vdso_clock.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

#include <atomic>
#include <cstdint>

#include "dmtcp/plugin.h"
#include "timer_common.h"

namespace dmtcp::timer {
namespace {

int syscall_gettime(clockid_t c, timespec* ts) {
  return static_cast<int>(
      raw_syscall(SYS_clock_gettime, c, reinterpret_cast<long>(ts)));
}
int syscall_getres(clockid_t c, timespec* ts) {
  return static_cast<int>(
      raw_syscall(SYS_clock_getres, c, reinterpret_cast<long>(ts)));
}

// The symbol `names[i]` (the first one present) of the ELF object mapped
// at `base`, through its dynamic section and DT_HASH (the kernel links
// its vDSO with both hash styles); nullptr if absent.
void* vdso_symbol(uintptr_t base, const char* const* names) {
  if (base == 0) {
    return nullptr;
  }
  auto* eh = reinterpret_cast<const ElfW(Ehdr)*>(base);
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_type != ET_DYN) {
    return nullptr;
  }
  auto* ph = reinterpret_cast<const ElfW(Phdr)*>(base + eh->e_phoff);
  uintptr_t bias = 0;
  bool have_load = false;
  const ElfW(Dyn)* dyn = nullptr;
  for (int i = 0; i < eh->e_phnum; ++i) {
    if (ph[i].p_type == PT_LOAD && !have_load) {
      bias = base + ph[i].p_offset - ph[i].p_vaddr;
      have_load = true;
    } else if (ph[i].p_type == PT_DYNAMIC) {
      dyn = reinterpret_cast<const ElfW(Dyn)*>(base + ph[i].p_offset);
    }
  }
  if (!have_load || dyn == nullptr) {
    return nullptr;
  }
  const ElfW(Sym)* syms = nullptr;
  const char* strs = nullptr;
  const Elf32_Word* hash = nullptr;
  for (; dyn->d_tag != DT_NULL; ++dyn) {
    uintptr_t at = bias + dyn->d_un.d_ptr;
    switch (dyn->d_tag) {
      case DT_SYMTAB:
        syms = reinterpret_cast<const ElfW(Sym)*>(at);
        break;
      case DT_STRTAB:
        strs = reinterpret_cast<const char*>(at);
        break;
      case DT_HASH:
        hash = reinterpret_cast<const Elf32_Word*>(at);
        break;
      default:
        break;
    }
  }
  if (syms == nullptr || strs == nullptr || hash == nullptr) {
    return nullptr;
  }
  Elf32_Word count = hash[1];  // nchain: one per symbol
  for (; *names != nullptr; ++names) {
    for (Elf32_Word i = 0; i < count; ++i) {
      const ElfW(Sym)& s = syms[i];
      if (s.st_shndx != SHN_UNDEF && ELF64_ST_TYPE(s.st_info) == STT_FUNC &&
          strcmp(strs + s.st_name, *names) == 0) {
        return reinterpret_cast<void*>(bias + s.st_value);
      }
    }
  }
  return nullptr;
}

// x86_64 and others name them __vdso_*, arm64 __kernel_*.
const char* const kGettimeNames[] = {"__vdso_clock_gettime",
                                     "__kernel_clock_gettime", nullptr};
const char* const kGetresNames[] = {"__vdso_clock_getres",
                                    "__kernel_clock_getres", nullptr};

std::atomic<bool> g_missing_logged{false};

}  // namespace

VdsoClocks g_vdso_clocks = {syscall_gettime, syscall_getres};

void resolve_vdso_clocks() {
  uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  auto gettime =
      reinterpret_cast<VdsoClockFn>(vdso_symbol(base, kGettimeNames));
  auto getres = reinterpret_cast<VdsoClockFn>(vdso_symbol(base, kGetresNames));
  if ((gettime == nullptr || getres == nullptr) &&
      !g_missing_logged.exchange(true)) {
    dmtcp_log(
        "timer: no vDSO clock_gettime/clock_getres (vDSO at %#lx): "
        "the clock wrappers make system calls",
        static_cast<unsigned long>(base));
  }
  __atomic_store_n(&g_vdso_clocks.gettime,
                   gettime != nullptr ? gettime : syscall_gettime,
                   __ATOMIC_RELAXED);
  __atomic_store_n(&g_vdso_clocks.getres,
                   getres != nullptr ? getres : syscall_getres,
                   __ATOMIC_RELAXED);
}

namespace {
// At load, before the program's main (a clock read by an earlier
// constructor takes the system call).
__attribute__((constructor)) void resolve_at_load() {
  resolve_vdso_clocks();
}
}  // namespace

}  // namespace dmtcp::timer
