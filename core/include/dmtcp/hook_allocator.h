// dmtcp/hook_allocator.h -- a standard allocator over dmtcp_alloc().
//
// Hooks run in the checkpoint thread while a frozen user thread may hold
// malloc's lock, so a plugin that builds containers in its hooks must not
// reach malloc.  Give the container this allocator instead:
//
//   boost::container::vector<Entry, dmtcp::HookAllocator<Entry>> entries;
//
// The memory is the process's own (it comes back with the image).  An
// allocation that fails is logged and aborts: hooks have no way to unwind.
#ifndef DMTCP_HOOK_ALLOCATOR_H
#define DMTCP_HOOK_ALLOCATOR_H

#include <cstddef>
#include <cstdlib>

#include "dmtcp/plugin.h"

namespace dmtcp {

template <class T>
struct HookAllocator {
  using value_type = T;

  HookAllocator() noexcept = default;
  template <class U>
  HookAllocator(const HookAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    void* p = dmtcp_alloc(n * sizeof(T));
    if (p == nullptr) {
      dmtcp_log("dmtcp_alloc(%zu) failed: out of memory", n * sizeof(T));
      std::abort();
    }
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { dmtcp_free(p); }

  template <class U>
  bool operator==(const HookAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const HookAllocator<U>&) const noexcept {
    return false;
  }
};

}  // namespace dmtcp

#endif
