#include "runtime/events.h"

#include <dlfcn.h>

namespace dmtcp::events {
namespace {

using Hook = void (*)(DmtcpEvent_t, DmtcpEventData_t*);
Hook g_first = nullptr;
bool g_looked = false;

}  // namespace

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

}  // namespace dmtcp::events
