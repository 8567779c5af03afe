// sysvipc_common.cpp -- see sysvipc.h.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "dmtcp/raw_syscall.h"
#include "sysvipc.h"

namespace dmtcp::sysvipc {

bool g_after_restart = false;
bool g_active = false;

pid_t self_vpid() {
  return dmtcp_real_to_virtual_pid(dmtcp::raw::getpid());
}

namespace {

size_t make_key(char* buf, size_t len, const char* kind, const char* what,
                int virt) {
  int n = snprintf(buf, len, "sysvipc:%s:%s:%d", kind, what, virt);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

}  // namespace

bool publish_int(const char* kind, const char* what, int virt, int32_t value) {
  char key[96];
  size_t n = make_key(key, sizeof key, kind, what, virt);
  if (dmtcp_send_key_val_pair_to_coordinator(key, n, &value, sizeof value) !=
      1) {
    dmtcp_log("sysvipc: cannot publish %s: %s", key, strerror(errno));
    return false;
  }
  return true;
}

std::optional<int32_t> query_int(const char* kind, const char* what,
                                 int virt) {
  char key[96];
  size_t n = make_key(key, sizeof key, kind, what, virt);
  int32_t value = 0;
  size_t len = sizeof value;
  int r = dmtcp_send_query_to_coordinator(key, n, &value, &len);
  if (r != 1 || len != sizeof value) {
    if (r < 0) {
      dmtcp_log("sysvipc: cannot query %s: %s", key, strerror(errno));
    }
    return std::nullopt;
  }
  return value;
}

void* map_buffer(size_t len) {
  if (len == 0) {
    len = 1;
  }
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void unmap_buffer(void* p, size_t len) {
  if (p != nullptr) {
    munmap(p, len == 0 ? 1 : len);
  }
}

void fatal_restart(const char* what) {
  char line[512];
  int n = snprintf(line, sizeof line, "dmtcp_restart: sysvipc: %s\n", what);
  if (n > 0) {
    (void)!write(2, line, static_cast<size_t>(n) < sizeof line
                              ? static_cast<size_t>(n)
                              : sizeof line - 1);
  }
  _exit(1);
}

}  // namespace dmtcp::sysvipc
