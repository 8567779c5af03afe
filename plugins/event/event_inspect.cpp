// event_inspect.cpp -- dmtcp_inspect's decoder for the event plugin's
// notes (event_notes.h): one object per fd, of kind "epoll", "eventfd",
// "signalfd" or "inotify".  Linked into dmtcp_inspect, not into the
// plugin; the payload is untrusted.
#include <stdio.h>
#include <string.h>

#include "dmtcp/inspect.h"
#include "event_notes.h"

namespace dmtcp::event {
namespace {

int decode(uint32_t type, const void* data, size_t size,
           const DmtcpInspectOut* out) {
  FdNote n;
  static const char* const kKinds[] = {"epoll", "eventfd", "signalfd",
                                       "inotify"};
  if (type != kNoteFd || size != sizeof n) {
    return -1;
  }
  memcpy(&n, data, sizeof n);
  if (n.kind >= sizeof kKinds / sizeof kKinds[0]) {
    return -1;
  }
  dmtcp_inspect_object(out, kKinds[n.kind]);
  dmtcp_inspect_int(out, "fd", n.fd);
  dmtcp_inspect_int(out, "flags", n.flags);
  dmtcp_inspect_int(out, "leader", n.leader);
  dmtcp_inspect_int(out, "saved_by", n.saved_by);
  if (n.leader == 0) {
    return 0;
  }
  switch (n.kind) {
    case 0:
      dmtcp_inspect_int(out, "targets", n.targets);
      break;
    case 1:
      dmtcp_inspect_int(out, "count", static_cast<long long>(n.count));
      dmtcp_inspect_int(out, "semaphore", n.semaphore);
      break;
    case 2: {
      // "2,10,15": the signals of the mask, as kill -l numbers them.
      char buf[256] = "";
      size_t len = 0;
      for (int sig = 1; sig <= 64 && len + 4 < sizeof buf; ++sig) {
        if ((n.sigmask >> (sig - 1) & 1) != 0) {
          len += static_cast<size_t>(snprintf(buf + len, sizeof buf - len,
                                              "%s%d", len ? "," : "", sig));
        }
      }
      dmtcp_inspect_str(out, "signals", buf);
      break;
    }
    case 3:
      dmtcp_inspect_int(out, "watches", n.watches);
      dmtcp_inspect_int(out, "unread_bytes", n.unread_bytes);
      break;
  }
  return 0;
}

}  // namespace
}  // namespace dmtcp::event

// dmtcp_inspect finds the internal plugins' decoders by these names
// (tools/inspect/decoders.cpp).
extern "C" const DmtcpInspectDecoder dmtcp_builtin_decoder_event = {
    dmtcp::event::kNoteOwner, dmtcp::event::decode};
