// NEXT_FNC's resolver, dmtcp_next_fnc_address(): dlsym(RTLD_NEXT) by hand.
//
// Why not dlsym: a plugin that wraps free() resolves NEXT_FNC(free) inside
// free().  When an earlier dlsym failed, glibc still holds its error string,
// and the next dlsym starts by freeing it -- through that wrapper, whose
// NEXT_FNC(free) is still unresolved, so it calls dlsym again, which frees
// the same string again: endless recursion (glibc clears the pointer only
// after free returns).  Reading the symbol tables ourselves allocates
// nothing and never touches the dlerror state (the application's dlerror()
// keeps its message too).  dlsym from here would not do anyway: RTLD_NEXT
// searches after the object that calls dlsym, i.e. after libdmtcp.
//
// Algorithm (glibc 2.36's _dl_lookup_symbol_x for dlsym, restated):
//  1. Walk the loaded objects with dl_iterate_phdr, in load order: for
//     objects loaded at start-up (every plugin is, by LD_PRELOAD) that is the
//     global search order -- the program, the preloads in order, then their
//     dependencies breadth first.
//  2. Skip the objects up to and including the one whose PT_LOAD segments
//     hold `caller`, and the vDSO, which the loader keeps out of the scope.
//  3. In each later object, walk the hash chain of `name` (DT_GNU_HASH, or
//     DT_HASH when there is none).  A candidate counts if it is defined,
//     has a value, and is of a type dlsym returns; an unversioned one wins
//     at once, otherwise the only version that is not hidden (the default,
//     name@@V; name@V is hidden) does.
//  4. A winner with local binding or hidden visibility is ignored (next
//     object); otherwise the search ends.  Its address is the load bias plus
//     st_value; an STT_GNU_IFUNC's resolver is called for the real one.
//
// Why a copy of the start-up objects (step 1 without the loader): NEXT_FNC
// resolves on a wrapper's first call, which may come during a checkpoint
// round (the socket plugin's scan opens /proc/self/fd through the pid
// plugin's open wrapper).  dl_iterate_phdr takes the loader's lock, and a
// user thread frozen inside dl_iterate_phdr, dlopen or dlclose holds it:
// the round would never finish suspending.  Objects loaded at start-up are
// never unloaded and stay at their addresses (also after a restart: the
// memory comes back as it was), so our constructor copies their list once
// and searches walk that copy; only a search it cannot answer (a caller or
// definition in a dlopen'ed object) walks the loader's list.
#include "runtime/next_fnc.h"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>

#include "common/log.h"
#include "dmtcp/plugin.h"
#include "runtime/elf_dynamic.h"

namespace dmtcp::next_fnc {
namespace {

using Addr = ElfW(Addr);
using Dyn = ElfW(Dyn);
using Phdr = ElfW(Phdr);
using Sym = ElfW(Sym);
using Versym = ElfW(Half);

// The symbol types dlsym returns (glibc's ALLOWED_STT).
constexpr unsigned kAllowedTypes = (1u << STT_NOTYPE) | (1u << STT_OBJECT) |
                                   (1u << STT_FUNC) | (1u << STT_COMMON) |
                                   (1u << STT_TLS) | (1u << STT_GNU_IFUNC);
// DT_VERSYM entries: the version index, and the bit of a non-default version.
constexpr Versym kVersionIndex = 0x7fff;
constexpr Versym kVersionHidden = 0x8000;
// Index 0 is local, 1 global (both unversioned), 2 and up a named version.
constexpr Versym kFirstNamedVersion = 2;

unsigned sym_type(const Sym& s) {
  return ELF64_ST_TYPE(s.st_info);
}
unsigned sym_bind(const Sym& s) {
  return ELF64_ST_BIND(s.st_info);
}
unsigned sym_visibility(const Sym& s) {
  return ELF64_ST_VISIBILITY(s.st_other);
}

uint32_t gnu_hash(const char* name) {
  uint32_t h = 5381;
  for (auto* p = reinterpret_cast<const unsigned char*>(name); *p; ++p) {
    h = h * 33 + *p;
  }
  return h;
}

uint32_t sysv_hash(const char* name) {
  uint32_t h = 0;
  for (auto* p = reinterpret_cast<const unsigned char*>(name); *p; ++p) {
    h = (h << 4) + *p;
    uint32_t high = h & 0xf0000000;
    h ^= high >> 24;
    h &= ~high;
  }
  return h;
}

// The name looked up, hashed once for all objects.
struct Wanted {
  const char* name;
  uint32_t gnu;
  uint32_t sysv;
};

using elf::dynamic_section;
using elf::dyn_ptr;
using elf::holds;

// One object's dynamic symbol table, as the loader mapped it.
struct SymbolTable {
  const char* object = nullptr;  // its path, for assertions
  Addr bias = 0;
  const Sym* syms = nullptr;
  const char* strings = nullptr;
  const Versym* versyms = nullptr;  // null: an unversioned object
  const uint32_t* gnu_hash = nullptr;
  const uint32_t* sysv_hash = nullptr;
};

std::optional<SymbolTable> read_table(const dl_phdr_info& info) {
  const Dyn* dyn = dynamic_section(info);
  if (dyn == nullptr) {
    return std::nullopt;
  }
  SymbolTable t;
  t.object = info.dlpi_name;
  t.bias = info.dlpi_addr;
  for (; dyn->d_tag != DT_NULL; ++dyn) {
    auto p = [&] { return dyn_ptr(info, dyn->d_un.d_ptr); };
    switch (dyn->d_tag) {
      case DT_SYMTAB:
        t.syms = static_cast<const Sym*>(p());
        break;
      case DT_STRTAB:
        t.strings = static_cast<const char*>(p());
        break;
      case DT_VERSYM:
        t.versyms = static_cast<const Versym*>(p());
        break;
      case DT_GNU_HASH:
        t.gnu_hash = static_cast<const uint32_t*>(p());
        break;
      case DT_HASH:
        t.sysv_hash = static_cast<const uint32_t*>(p());
        break;
      default:
        break;
    }
  }
  if (t.syms == nullptr || t.strings == nullptr ||
      (t.gnu_hash == nullptr && t.sysv_hash == nullptr)) {
    return std::nullopt;
  }
  return t;
}

// Calls visit(index) for each symbol in the hash chain of the wanted name
// until it returns true.
template <typename Visit>
void for_each_gnu_candidate(const SymbolTable& t, uint32_t hash,
                            Visit&& visit) {
  const uint32_t* h = t.gnu_hash;
  const uint32_t nbuckets = h[0];
  const uint32_t symoffset = h[1];
  const uint32_t bloom_words = h[2];
  const uint32_t bloom_shift = h[3];
  if (nbuckets == 0) {
    return;  // no symbols
  }
  DMTCP_ASSERT(bloom_words != 0 && (bloom_words & (bloom_words - 1)) == 0,
               "%s: DT_GNU_HASH bloom filter of %u words", t.object,
               bloom_words);
  constexpr uint32_t kBits = sizeof(Addr) * 8;
  auto* bloom = reinterpret_cast<const Addr*>(h + 4);
  Addr word = bloom[(hash / kBits) & (bloom_words - 1)];
  Addr mask = (Addr{1} << (hash % kBits)) |
              (Addr{1} << ((hash >> bloom_shift) % kBits));
  if ((word & mask) != mask) {
    return;  // surely not here
  }
  auto* buckets = reinterpret_cast<const uint32_t*>(bloom + bloom_words);
  const uint32_t* chain = buckets + nbuckets;  // chain[i - symoffset]
  uint32_t index = buckets[hash % nbuckets];
  if (index == 0) {
    return;  // empty bucket
  }
  DMTCP_ASSERT(index >= symoffset, "%s: DT_GNU_HASH bucket %u below %u",
               t.object, index, symoffset);
  for (;; ++index) {
    uint32_t entry = chain[index - symoffset];
    if ((entry | 1) == (hash | 1) && visit(index)) {
      return;
    }
    if ((entry & 1) != 0) {
      return;  // end of chain
    }
  }
}

template <typename Visit>
void for_each_sysv_candidate(const SymbolTable& t, uint32_t hash,
                             Visit&& visit) {
  const uint32_t* h = t.sysv_hash;
  const uint32_t nbuckets = h[0];
  if (nbuckets == 0) {
    return;
  }
  const uint32_t* buckets = h + 2;
  const uint32_t* chain = buckets + nbuckets;
  for (uint32_t i = buckets[hash % nbuckets]; i != STN_UNDEF; i = chain[i]) {
    if (visit(i)) {
      return;
    }
  }
}

// Step 3's filter, before the name and version.  Symbols a DSO merely
// uses are undefined (SHN_UNDEF); glibc would still return a non-PIE
// program's undefined symbol with a PLT address as value, but the program
// is never after a caller.
bool may_be_returned(const Sym& s) {
  if (s.st_shndx == SHN_UNDEF) {
    return false;
  }
  if (s.st_value == 0 && s.st_shndx != SHN_ABS && sym_type(s) != STT_TLS) {
    return false;
  }
  return ((kAllowedTypes >> sym_type(s)) & 1) != 0;
}

// Step 3: this object's definition of the wanted name, or nullptr.
const Sym* find_in(const SymbolTable& t, const Wanted& wanted) {
  const Sym* unversioned = nullptr;
  const Sym* versioned = nullptr;
  int versions = 0;  // named versions that are not hidden
  auto visit = [&](uint32_t index) {
    const Sym& s = t.syms[index];
    if (!may_be_returned(s) ||
        strcmp(t.strings + s.st_name, wanted.name) != 0) {
      return false;
    }
    Versym v = t.versyms != nullptr ? t.versyms[index] : 1;
    if ((v & kVersionIndex) < kFirstNamedVersion) {
      unversioned = &s;
      return true;
    }
    if ((v & kVersionHidden) == 0 && versions++ == 0) {
      versioned = &s;
    }
    return false;
  };
  if (t.gnu_hash != nullptr) {
    for_each_gnu_candidate(t, wanted.gnu, visit);
  } else {
    for_each_sysv_candidate(t, wanted.sysv, visit);
  }
  if (unversioned != nullptr) {
    return unversioned;
  }
  // Two visible versions and no unversioned one: glibc takes neither.
  return versions == 1 ? versioned : nullptr;
}

// Step 4: only a definition visible outside its object ends the search.
bool binds_here(const Sym& s) {
  if (sym_visibility(s) == STV_HIDDEN || sym_visibility(s) == STV_INTERNAL) {
    return false;
  }
  unsigned bind = sym_bind(s);
  return bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE;
}

// A definition that ends the search, and the load bias of its object.
struct Found {
  const Sym* sym = nullptr;
  Addr bias = 0;
};

// Steps 3 and 4 in one object.
Found find_in_table(const dl_phdr_info& info, const Wanted& wanted) {
  std::optional<SymbolTable> table = read_table(info);
  if (!table) {
    return {};
  }
  const Sym* sym = find_in(*table, wanted);
  if (sym == nullptr || !binds_here(*sym)) {
    return {};
  }
  return {sym, table->bias};
}

// Step 4's address; nullptr for TLS, whose address is per thread (dlsym
// computes it).  An IFUNC resolver runs here, after the walk: without the
// loader's lock held.
void* address_of(const Found& found) {
  const Sym& s = *found.sym;
  if (sym_type(s) == STT_TLS) {
    return nullptr;
  }
  Addr address = s.st_shndx == SHN_ABS ? s.st_value : found.bias + s.st_value;
  if (sym_type(s) == STT_GNU_IFUNC) {
    // x86-64 resolvers take no arguments (they read the CPU features).
    address = reinterpret_cast<Addr (*)()>(address)();
  }
  return reinterpret_cast<void*>(address);
}

Wanted wanted_for(const char* name) {
  return {name, gnu_hash(name), sysv_hash(name)};
}

// The walk's state, through dl_iterate_phdr.
struct Search {
  Wanted wanted;
  Addr caller;
  Addr vdso;  // AT_SYSINFO_EHDR: the vDSO's first page; 0 without one
  bool past_caller = false;
  Found found;
};

int visit_object(dl_phdr_info* info, size_t /*size*/, void* data) {
  auto& search = *static_cast<Search*>(data);
  if (!search.past_caller) {
    search.past_caller = holds(*info, search.caller);
    return 0;
  }
  if (search.vdso != 0 && holds(*info, search.vdso)) {
    return 0;
  }
  search.found = find_in_table(*info, search.wanted);
  return search.found.sym != nullptr ? 1 : 0;  // 1 stops the walk
}

// The objects loaded at start-up, in load order (snapshot_startup()).
// Beyond this many (a program with hundreds of libraries) the rest are
// found through the loader, as before.
constexpr size_t kMaxStartupObjects = 512;
dl_phdr_info g_startup[kMaxStartupObjects];
size_t g_num_startup = 0;  // published with release once filled

struct Copying {
  size_t count = 0;
};

int copy_object(dl_phdr_info* info, size_t size, void* data) {
  auto& copying = *static_cast<Copying*>(data);
  if (copying.count == kMaxStartupObjects) {
    return 1;
  }
  dl_phdr_info& copy = g_startup[copying.count++];
  memcpy(&copy, info, size < sizeof copy ? size : sizeof copy);
  return 0;
}

// The start-up objects first; only when the answer is not among them the
// loader's whole list (the same order: it begins with them).
void search_objects(Search* search) {
  const Search fresh = *search;
  size_t n = __atomic_load_n(&g_num_startup, __ATOMIC_ACQUIRE);
  for (size_t i = 0; i < n; ++i) {
    if (visit_object(&g_startup[i], sizeof g_startup[i], search) != 0) {
      return;
    }
  }
  *search = fresh;
  dl_iterate_phdr(visit_object, search);
}

}  // namespace

void snapshot_startup() {
  if (__atomic_load_n(&g_num_startup, __ATOMIC_ACQUIRE) != 0) {
    return;
  }
  Copying copying;
  dl_iterate_phdr(copy_object, &copying);
  __atomic_store_n(&g_num_startup, copying.count, __ATOMIC_RELEASE);
}

void* find_in_object(const dl_phdr_info& info, const char* name) {
  Found found = find_in_table(info, wanted_for(name));
  return found.sym != nullptr ? address_of(found) : nullptr;
}

void* find_next(const char* name, const void* caller) {
  Search search{
      .wanted = wanted_for(name),
      .caller = reinterpret_cast<Addr>(caller),
      .vdso = getauxval(AT_SYSINFO_EHDR),
      .past_caller = false,
      .found = {},
  };
  search_objects(&search);
  return search.found.sym != nullptr ? address_of(search.found) : nullptr;
}

void* find_first(const char* name) {
  Search search{
      .wanted = wanted_for(name),
      .caller = 0,
      .vdso = getauxval(AT_SYSINFO_EHDR),
      .past_caller = true,
      .found = {},
  };
  search_objects(&search);
  return search.found.sym != nullptr ? address_of(search.found) : nullptr;
}

}  // namespace dmtcp::next_fnc

// Called by NEXT_FNC once per call site, from inside any wrapper: errno
// must come back as it was (getauxval sets it when there is no vDSO).
extern "C" __attribute__((visibility("default"))) void* dmtcp_next_fnc_address(
    const char* name, const void* caller) {
  const int saved_errno = errno;
  void* address = dmtcp::next_fnc::find_next(name, caller);
  errno = saved_errno;
  return address;
}
