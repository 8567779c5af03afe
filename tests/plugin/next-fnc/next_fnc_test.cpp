// NEXT_FNC's resolver (core/runtime/next_fnc.cpp) against the loader's own
// dlsym(RTLD_NEXT) and dlvsym: from this program for every symbol of
// libc.so.6, and from inside libnext_fnc_probe.so for a library
// (libnext_fnc_shadow.so) with every kind of definition.
#define BOOST_TEST_MODULE next_fnc
#include "runtime/next_fnc.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "dmtcp/plugin.h"

extern "C" {
void* probe_dlsym_next(const char* name);
void* probe_dlvsym_next(const char* name, const char* version);
const void* probe_anchor(void);
void* shadow_ifunc_target(void);
}

namespace {

using dmtcp::next_fnc::find_in_object;
using dmtcp::next_fnc::find_next;

// An address in this program, as NEXT_FNC passes that of its static.
const char g_anchor = 0;
const void* here() {
  return &g_anchor;
}

// dlsym(RTLD_NEXT) called from this program.
void* dlsym_next(const char* name) {
  return dlsym(RTLD_NEXT, name);
}

struct LibcSymbol {
  std::string name;
  bool tls;
};

// Every name in libc.so.6's .dynsym, read from the file: not through the
// loader, whose view is under test.
std::vector<LibcSymbol> libc_symbols() {
  void* libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  BOOST_TEST_REQUIRE(libc != nullptr);
  link_map* map = nullptr;
  BOOST_TEST_REQUIRE(dlinfo(libc, RTLD_DI_LINKMAP, &map) == 0);
  std::ifstream in(map->l_name, std::ios::binary);
  BOOST_TEST_REQUIRE(in.good(), "cannot read " << map->l_name);
  std::vector<char> file{std::istreambuf_iterator<char>(in),
                         std::istreambuf_iterator<char>()};
  auto& ehdr = *reinterpret_cast<const Elf64_Ehdr*>(file.data());
  auto* sections =
      reinterpret_cast<const Elf64_Shdr*>(file.data() + ehdr.e_shoff);
  std::vector<LibcSymbol> out;
  for (int i = 0; i < ehdr.e_shnum; ++i) {
    if (sections[i].sh_type != SHT_DYNSYM) {
      continue;
    }
    auto* syms =
        reinterpret_cast<const Elf64_Sym*>(file.data() + sections[i].sh_offset);
    const char* names = file.data() + sections[sections[i].sh_link].sh_offset;
    size_t count = sections[i].sh_size / sizeof(Elf64_Sym);
    for (size_t k = 1; k < count; ++k) {
      out.push_back(
          {names + syms[k].st_name, ELF64_ST_TYPE(syms[k].st_info) == STT_TLS});
    }
  }
  dlclose(libc);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_libc_symbol_resolves_as_dlsym_rtld_next_does) {
  std::vector<LibcSymbol> symbols = libc_symbols();
  BOOST_TEST_REQUIRE(symbols.size() > 2000u);
  size_t found = 0;
  for (const LibcSymbol& s : symbols) {
    void* ours = find_next(s.name.c_str(), here());
    if (s.tls) {
      BOOST_TEST(ours == nullptr, s.name << " is TLS, left to dlsym");
      continue;
    }
    void* theirs = dlsym_next(s.name.c_str());
    BOOST_TEST(ours == theirs,
               s.name << ": ours " << ours << ", dlsym " << theirs);
    found += ours != nullptr ? 1 : 0;
  }
  BOOST_TEST(found > 2000u);
}

BOOST_AUTO_TEST_CASE(versioned_libc_functions_resolve_to_the_default) {
  struct Case {
    const char* name;
    const char* newest;  // name@@newest
    const char* older;   // name@older
  };
  const Case cases[] = {
      {"pthread_cond_wait", "GLIBC_2.3.2", "GLIBC_2.2.5"},
      {"realpath", "GLIBC_2.3", "GLIBC_2.2.5"},
      {"memcpy", "GLIBC_2.14", "GLIBC_2.2.5"},  // an IFUNC
      {"posix_spawn", "GLIBC_2.15", "GLIBC_2.2.5"},
      {"dlopen", "GLIBC_2.34", "GLIBC_2.2.5"},
      {"glob", "GLIBC_2.27", "GLIBC_2.2.5"},
      {"sched_getaffinity", "GLIBC_2.3.4", "GLIBC_2.3.3"},
      {"timer_create", "GLIBC_2.34", "GLIBC_2.3.3"},
      {"regexec", "GLIBC_2.3.4", "GLIBC_2.2.5"},
  };
  int told_apart = 0;
  for (const Case& c : cases) {
    void* newest = dlvsym(RTLD_NEXT, c.name, c.newest);
    void* older = dlvsym(RTLD_NEXT, c.name, c.older);
    BOOST_TEST_REQUIRE(newest != nullptr, c.name << "@@" << c.newest);
    BOOST_TEST_REQUIRE(older != nullptr, c.name << "@" << c.older);
    void* ours = find_next(c.name, here());
    told_apart += newest != older ? 1 : 0;
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer's interceptors come before libc (the build of
    // scripts/sanitize.sh): then the next definition is the interceptor,
    // as dlsym says too.
    if (ours != newest && ours == dlsym_next(c.name)) {
      continue;
    }
#endif
    BOOST_TEST(ours == newest, c.name << ": ours " << ours << ", @@" << c.newest
                                      << " " << newest << ", @" << c.older
                                      << " " << older);
  }
  BOOST_TEST(told_apart >= 7);  // else the cases test nothing
}

BOOST_AUTO_TEST_CASE(the_search_starts_after_the_caller) {
  auto* from_program = static_cast<int*>(find_next("next_fnc_twice", here()));
  auto* from_probe =
      static_cast<int*>(find_next("next_fnc_twice", probe_anchor()));
  BOOST_TEST_REQUIRE(from_program != nullptr);
  BOOST_TEST_REQUIRE(from_probe != nullptr);
  BOOST_TEST(*from_program == 1);  // the probe's
  BOOST_TEST(*from_probe == 2);    // the shadow's
  BOOST_TEST(from_program == dlsym_next("next_fnc_twice"));
  BOOST_TEST(from_probe == probe_dlsym_next("next_fnc_twice"));
}

BOOST_AUTO_TEST_CASE(a_library_sees_what_its_own_dlsym_rtld_next_sees) {
  for (const char* name :
       {"next_fnc_twice", "next_fnc_versioned", "next_fnc_old_only",
        "next_fnc_weak", "next_fnc_protected", "next_fnc_data",
        "next_fnc_ifunc", "malloc", "calloc", "realloc", "free", "fopen",
        "realpath", "pthread_cond_wait", "memcpy", "no_such_symbol_xyz"}) {
    void* ours = find_next(name, probe_anchor());
    void* theirs = probe_dlsym_next(name);
    BOOST_TEST(ours == theirs,
               name << ": ours " << ours << ", dlsym " << theirs);
  }
  using Fn = int (*)();
  auto versioned =
      reinterpret_cast<Fn>(find_next("next_fnc_versioned", probe_anchor()));
  BOOST_TEST_REQUIRE(versioned != nullptr);
  BOOST_TEST(versioned() == 2);  // @@V2, not @V1
  BOOST_TEST(reinterpret_cast<void*>(versioned) ==
             probe_dlvsym_next("next_fnc_versioned", "V2"));
  // Only a hidden version: there, but not for dlsym.
  BOOST_TEST(probe_dlvsym_next("next_fnc_old_only", "V1") != nullptr);
  BOOST_TEST(find_next("next_fnc_old_only", probe_anchor()) == nullptr);
  BOOST_TEST(find_next("next_fnc_ifunc", probe_anchor()) ==
             shadow_ifunc_target());
}

BOOST_AUTO_TEST_CASE(tls_and_callers_in_no_object_are_left_to_dlsym) {
  BOOST_TEST(probe_dlsym_next("next_fnc_tls") != nullptr);
  BOOST_TEST(find_next("next_fnc_tls", probe_anchor()) == nullptr);
  int on_stack = 0;
  BOOST_TEST(find_next("malloc", &on_stack) == nullptr);
  BOOST_TEST(find_next("no_such_symbol_xyz", here()) == nullptr);
}

namespace {

int find_vdso(dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<dl_phdr_info*>(data);
  ElfW(Addr) ehdr = getauxval(AT_SYSINFO_EHDR);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    ElfW(Addr) start = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && ehdr >= start && ehdr < start + ph.p_memsz) {
      *out = *info;
      return 1;
    }
  }
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_vdso_is_searched_by_no_one_but_can_be_read) {
  BOOST_TEST(dlsym_next("__vdso_clock_gettime") == nullptr);
  BOOST_TEST(find_next("__vdso_clock_gettime", here()) == nullptr);
  // Its dynamic section is read-only: the loader did not relocate it.
  dl_phdr_info vdso{};
  BOOST_TEST_REQUIRE(dl_iterate_phdr(find_vdso, &vdso) == 1);
  using ClockGettime = int (*)(clockid_t, timespec*);
  auto fn = reinterpret_cast<ClockGettime>(
      find_in_object(vdso, "__vdso_clock_gettime"));
  BOOST_TEST_REQUIRE(reinterpret_cast<void*>(fn) != nullptr);
  timespec t{};
  BOOST_TEST(fn(CLOCK_REALTIME, &t) == 0);
  BOOST_TEST(t.tv_sec > 1600000000);  // some time after 2020
}

BOOST_AUTO_TEST_CASE(the_resolver_keeps_errno_and_the_dlerror_message) {
  BOOST_TEST(dlsym(RTLD_DEFAULT, "no_such_symbol_xyz") == nullptr);
  errno = 4242;
  void* found = dmtcp_next_fnc_address("malloc", here());
  BOOST_TEST(errno == 4242);
  // The failed lookup's message is still there for the program.
  const char* message = dlerror();
  BOOST_TEST_REQUIRE(message != nullptr);
  BOOST_TEST(std::strstr(message, "no_such_symbol_xyz") != nullptr, message);
  BOOST_TEST(found == dlsym_next("malloc"));
}
