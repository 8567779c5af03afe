#include "runtime/real_fns.h"

#include <dlfcn.h>

#include <atomic>

#include "common/log.h"

namespace dmtcp::real {
namespace {

Fns g_fns;
std::atomic<bool> g_resolved{false};

void resolve() {
#define DMTCP_REAL_RESOLVE(name, ret, args)                                \
  g_fns.name = reinterpret_cast<ret(*) args>(dlsym(RTLD_NEXT, #name));     \
  DMTCP_ASSERT(g_fns.name != nullptr, "libc has no %s: %s", #name,         \
               dlerror());
  DMTCP_CORE_WRAPPERS(DMTCP_REAL_RESOLVE)
#undef DMTCP_REAL_RESOLVE
  g_resolved.store(true, std::memory_order_release);
}

}  // namespace

const Fns& fns() {
  if (!g_resolved.load(std::memory_order_acquire)) {
    resolve();
  }
  return g_fns;
}

}  // namespace dmtcp::real
