/* dmtcpalloc.h -- containers for DMTCP 3.x plugins (dmtcp::string ...).
 *
 * As in DMTCP 3.x, dmtcp::string, dmtcp::vector and friends are the
 * standard containers with an allocator of the runtime's.  Here that
 * allocator is dmtcp_alloc/dmtcp_free (dmtcp/plugin.h): memory from the
 * runtime's own arena, never malloc, so a hook may use these containers
 * while a frozen user thread holds the malloc lock.  Without the runtime
 * (a program run natively) they fall back to malloc.
 */
#ifndef DMTCPALLOC_H
#define DMTCPALLOC_H

#include <cstddef>
#include <cstdlib>
#include <deque>
#include <list>
#include <map>
#include <new>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../plugin.h"

namespace dmtcp {

template <typename T>
class DmtcpAlloc {
 public:
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  template <typename U>
  struct rebind {
    using other = DmtcpAlloc<U>;
  };

  DmtcpAlloc() noexcept = default;
  template <typename U>
  DmtcpAlloc(const DmtcpAlloc<U>&) noexcept {}

  T* allocate(size_type n) {
    size_t bytes = n * sizeof(T);
    void* (*alloc)(size_t) = dmtcp_alloc;
    void* p = alloc != nullptr ? alloc(bytes) : std::malloc(bytes);
    if (p == nullptr) {
      throw std::bad_alloc();
    }
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_type) noexcept {
    void (*release)(void*) = dmtcp_free;
    if (release != nullptr) {
      release(p);
    } else {
      std::free(p);
    }
  }
};

template <typename T, typename U>
bool operator==(const DmtcpAlloc<T>&, const DmtcpAlloc<U>&) noexcept {
  return true;
}
template <typename T, typename U>
bool operator!=(const DmtcpAlloc<T>&, const DmtcpAlloc<U>&) noexcept {
  return false;
}

using string =
    std::basic_string<char, std::char_traits<char>, DmtcpAlloc<char>>;
using ostringstream =
    std::basic_ostringstream<char, std::char_traits<char>, DmtcpAlloc<char>>;
using istringstream =
    std::basic_istringstream<char, std::char_traits<char>, DmtcpAlloc<char>>;
using stringstream =
    std::basic_stringstream<char, std::char_traits<char>, DmtcpAlloc<char>>;
template <typename T>
using vector = std::vector<T, DmtcpAlloc<T>>;
template <typename T>
using deque = std::deque<T, DmtcpAlloc<T>>;
template <typename T>
using list = std::list<T, DmtcpAlloc<T>>;
template <typename K, typename V, typename C = std::less<K>>
using map = std::map<K, V, C, DmtcpAlloc<std::pair<const K, V>>>;
template <typename K, typename C = std::less<K>>
using set = std::set<K, C, DmtcpAlloc<K>>;
using std::ostream;
using std::istream;

}  // namespace dmtcp

#endif /* DMTCPALLOC_H */
