// When a launched process becomes a member of the computation: after every
// library's constructor, just before the program's own start-up.
//
// Plugins come before libdmtcp.so in LD_PRELOAD, so the loader runs their
// constructors after ours.  Firing POST_EXEC and INIT from our constructor
// would hand plugins events before their C++ globals exist (a std::map
// touched in INIT, state read back at POST_EXEC into a global that its
// constructor then wipes).
//
// Algorithm:
//  1. Our constructor connects to the coordinator and stops there
//     (runtime.cpp); it asks whether the program starts through glibc's
//     __libc_start_main (a relocation in the main executable names it).
//  2. If so, our __libc_start_main, which the executable's start code
//     reaches through its GOT (preloaded definitions come first), runs
//     start_member(): POST_EXEC, INIT, checkpoint thread.  The loader has
//     run every library constructor by then; the program's own
//     constructors and main run after.
//  3. If not (an entry point of its own, e.g. a Go program), the
//     constructor calls start_member() itself, as before.
//  4. leave_before_exit() must run at exit before any destructor of the
//     program or of a library (the checkpoint thread uses those objects).
//     atexit handlers run in reverse order of registration, and the real
//     __libc_start_main registers the loader's clean-up (every library's
//     destructors) before the program's constructors run: so our handler
//     is registered from a wrapper of main, the last moment before the
//     program itself.  Without __libc_start_main, from the constructor.
#include "runtime/program_start.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "runtime/elf_dynamic.h"
#include "runtime/runtime.h"

namespace dmtcp::rt {

namespace {

std::atomic<bool> g_member_started{false};
MemberStart g_member_start = nullptr;

bool relocations_name(const ElfW(Rela) * rela, size_t bytes,
                      const ElfW(Sym) * symtab, const char* strtab,
                      const char* name) {
  for (size_t i = 0; i < bytes / sizeof(ElfW(Rela)); ++i) {
    size_t sym = ELF64_R_SYM(rela[i].r_info);
    if (sym != 0 && strcmp(strtab + symtab[sym].st_name, name) == 0) {
      return true;
    }
  }
  return false;
}

// dl_iterate_phdr visits the main program first.
int main_program_imports(struct dl_phdr_info* info, size_t, void* out) {
  const ElfW(Dyn)* dyn = elf::dynamic_section(*info);
  if (dyn == nullptr) {
    return 1;
  }
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const ElfW(Rela)* rela = nullptr;
  const ElfW(Rela)* jmprel = nullptr;
  size_t rela_size = 0;
  size_t jmprel_size = 0;
  for (; dyn->d_tag != DT_NULL; ++dyn) {
    const void* ptr = elf::dyn_ptr(*info, dyn->d_un.d_ptr);
    switch (dyn->d_tag) {
      case DT_SYMTAB:
        symtab = static_cast<const ElfW(Sym)*>(ptr);
        break;
      case DT_STRTAB:
        strtab = static_cast<const char*>(ptr);
        break;
      case DT_RELA:
        rela = static_cast<const ElfW(Rela)*>(ptr);
        break;
      case DT_RELASZ:
        rela_size = dyn->d_un.d_val;
        break;
      case DT_JMPREL:
        jmprel = static_cast<const ElfW(Rela)*>(ptr);
        break;
      case DT_PLTRELSZ:
        jmprel_size = dyn->d_un.d_val;
        break;
      default:
        break;
    }
  }
  const char* kName = "__libc_start_main";
  *static_cast<bool*>(out) =
      symtab != nullptr && strtab != nullptr &&
      ((rela != nullptr &&
        relocations_name(rela, rela_size, symtab, strtab, kName)) ||
       (jmprel != nullptr &&
        relocations_name(jmprel, jmprel_size, symtab, strtab, kName)));
  return 1;  // the main program only
}

}  // namespace

void start_member_at_program_start(MemberStart start) {
  g_member_start = start;
  bool deferred = false;
  dl_iterate_phdr(main_program_imports, &deferred);
  if (!deferred) {
    start_member_now();
    atexit(leave_before_exit);
  }
}

void start_member_now() {
  if (g_member_start != nullptr && !g_member_started.exchange(true)) {
    g_member_start();
  }
}

}  // namespace dmtcp::rt

using StartMain = int (*)(int (*)(int, char**, char**), int, char**,
                          void (*)(), void (*)(), void (*)(), void*);

// Step 2.  Same arguments on every glibc since 2.2.5; the symbol version
// the program asked for and the default one are the same function.
extern "C" __attribute__((visibility("default"))) int __libc_start_main(
    int (*main)(int, char**, char**), int argc, char** argv, void (*init)(),
    void (*fini)(), void (*rtld_fini)(), void* stack_end) {
  static StartMain real = reinterpret_cast<StartMain>(
      dlsym(RTLD_NEXT, "__libc_start_main"));
  DMTCP_ASSERT(real != nullptr, "no __libc_start_main after libdmtcp.so");
  dmtcp::rt::start_member_now();
  // Step 4: the program's main, behind one that registers our exit hook.
  static int (*program_main)(int, char**, char**) = nullptr;
  program_main = main;
  auto main_after_exit_hook = [](int c, char** v, char** e) {
    atexit(dmtcp::rt::leave_before_exit);
    return program_main(c, v, e);
  };
  return real(main_after_exit_hook, argc, argv, init, fini, rtld_fini,
              stack_end);
}
