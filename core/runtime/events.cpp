#include "runtime/events.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/env.h"
#include "runtime/runtime.h"

namespace dmtcp::events {
namespace {

using Hook = void (*)(DmtcpEvent_t, DmtcpEventData_t*);
Hook g_first = nullptr;
bool g_looked = false;

constexpr const char kExecFdName[] = "dmtcp-exec-state";

}  // namespace

// Only an fd we made ourselves is taken: the variable could be stale (the
// program exec'd with a copied environment) and name someone else's fd.
bool is_exec_state_fd(int fd) {
  char path[64];
  char target[128];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n <= 0) {
    return false;
  }
  target[n] = '\0';
  constexpr const char kPrefix[] = "/memfd:";
  return strncmp(target, kPrefix, sizeof kPrefix - 1) == 0 &&
         strncmp(target + sizeof kPrefix - 1, kExecFdName,
                 sizeof kExecFdName - 1) == 0;
}

void init() {
  // The main program and the preloaded plugins come before libdmtcp.so in
  // the global scope; the pid plugin comes after it, so it is found too
  // when nothing earlier defines a hook.
  g_first = reinterpret_cast<Hook>(dlsym(RTLD_DEFAULT, "dmtcp_event_hook"));
  g_looked = true;
}

void fire(DmtcpEvent_t event, DmtcpEventData_t* data) {
  if (!g_looked) {
    init();
  }
  if (g_first == nullptr) {
    return;
  }
  DmtcpEventData_t empty{};
  g_first(event, data != nullptr ? data : &empty);
}

int make_exec_state_fd() {
  int fd = memfd_create(kExecFdName, 0);  // no CLOEXEC: it crosses exec
  if (fd < 0) {
    return -1;
  }
  // Out of the program's way: the file plugin leaves protected fds alone.
  int moved = fcntl(fd, F_DUPFD, rt::kProtectedFdBase);
  if (moved >= 0) {
    close(fd);
    fd = moved;
  }
  return fd;
}

int take_exec_state_fd() {
  const char* value = env_value(kExecFdEnv);
  if (value == nullptr) {
    return -1;
  }
  int fd = atoi(value);
  unsetenv(kExecFdEnv);  // the program must not see it, nor its children
  return is_exec_state_fd(fd) ? fd : -1;
}

void fire_post_exec(int fd) {
  if (fd < 0) {
    return;
  }
  lseek(fd, 0, SEEK_SET);
  DmtcpEventData_t data{};
  data.serializerInfo.fd = fd;
  fire(DMTCP_EVENT_POST_EXEC, &data);
  close(fd);
}

}  // namespace dmtcp::events
