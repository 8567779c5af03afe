#include "runtime/events.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "common/env.h"
#include "common/log.h"
#include "runtime/next_fnc.h"
#include "runtime/runtime.h"

namespace dmtcp::events {
namespace {

using Hook = void (*)(DmtcpEvent_t, DmtcpEventData_t*);
Hook g_first = nullptr;
bool g_looked = false;

constexpr const char kExecFdName[] = "dmtcp-exec-state";

// DMTCP 3.x descriptors, for the log and for PRESUSPEND (the strings are
// the plugins' own, alive as long as their libraries).
constexpr int kMaxDescriptors = 64;
const char* g_descriptor_names[kMaxDescriptors];
std::atomic<int> g_descriptors{0};

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
  // DMTCP_DECL_PLUGIN defines it (dmtcp/plugin3.h).  Most processes have
  // none: looked up without dlsym, whose failure would leave a message
  // for the program's first dlerror().
  using Init = void (*)();
  auto first_init = reinterpret_cast<Init>(
      next_fnc::find_first("dmtcp_initialize_plugin"));
  if (first_init != nullptr) {
    first_init();
  }
}

void register_descriptor(const DmtcpPluginDescriptor_t& d) {
  const char* name = d.pluginName != nullptr ? d.pluginName : "(unnamed)";
  const char* api = d.pluginApiVersion != nullptr ? d.pluginApiVersion : "";
  if (strcmp(api, "3") != 0 && strcmp(api, "4") != 0) {
    DMTCP_WARN("plugin %s declares plugin API version \"%s\"; this "
               "runtime provides DMTCP 3.x's (\"3\")",
               name, api);
  }
  int i = g_descriptors.fetch_add(1);
  if (i < kMaxDescriptors) {
    g_descriptor_names[i] = name;
  }
  DMTCP_DEBUG("plugin %s registered (DMTCP 3.x descriptor)", name);
}

int descriptor_count() {
  return g_descriptors.load();
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
