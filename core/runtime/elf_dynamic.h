// Reading a loaded object's dynamic section, as dl_iterate_phdr reports
// the object: shared by NEXT_FNC's symbol lookup (next_fnc.cpp) and the
// start-up check of the main program's relocations (program_start.cpp).
#pragma once

#include <link.h>

namespace dmtcp::elf {

// True if one of the object's PT_LOAD segments holds `addr`.
inline bool holds(const dl_phdr_info& info, ElfW(Addr) addr) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    ElfW(Addr) start = info.dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && addr >= start && addr - start < ph.p_memsz) {
      return true;
    }
  }
  return false;
}

// A d_ptr value as an address.  glibc relocates the d_ptr entries of a
// writable dynamic section in place when it loads the object, not those of
// a read-only one (the vDSO's, -z rodynamic): a value that already lies in
// the object is relocated; anything else is a link-time address.
inline const void* dyn_ptr(const dl_phdr_info& info, ElfW(Addr) value) {
  if (holds(info, value)) {
    return reinterpret_cast<const void*>(value);
  }
  return reinterpret_cast<const void*>(info.dlpi_addr + value);
}

// The object's dynamic section (DT_NULL-terminated), or nullptr.
inline const ElfW(Dyn)* dynamic_section(const dl_phdr_info& info) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    if (info.dlpi_phdr[i].p_type == PT_DYNAMIC) {
      return reinterpret_cast<const ElfW(Dyn)*>(info.dlpi_addr +
                                                info.dlpi_phdr[i].p_vaddr);
    }
  }
  return nullptr;
}

}  // namespace dmtcp::elf
