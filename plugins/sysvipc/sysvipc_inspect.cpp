// sysvipc_inspect.cpp -- dmtcp_inspect's decoder for the sysvipc plugin's
// notes (sysvipc_notes.h): one object per SysV object, of kind "shm",
// "sem" or "msg".  Linked into dmtcp_inspect, not into the plugin; the
// payload is untrusted.
#include <string.h>

#include "dmtcp/inspect.h"
#include "sysvipc_notes.h"

namespace dmtcp::sysvipc {
namespace {

int decode(uint32_t type, const void* data, size_t size,
           const DmtcpInspectOut* out) {
  ObjectNote n;
  if (type != kNoteObject || size != sizeof n) {
    return -1;
  }
  memcpy(&n, data, sizeof n);
  size_t len = strnlen(n.kind, sizeof n.kind);
  if (len == 0 || len == sizeof n.kind) {
    return -1;
  }
  dmtcp_inspect_object(out, n.kind);
  dmtcp_inspect_int(out, "id", n.virt);
  dmtcp_inspect_int(out, "real_id", n.real);
  dmtcp_inspect_int(out, "key", n.key);
  dmtcp_inspect_int(out, "saver", n.saver);
  return 0;
}

}  // namespace
}  // namespace dmtcp::sysvipc

// dmtcp_inspect finds the internal plugins' decoders by these names
// (tools/inspect/decoders.cpp).
extern "C" const DmtcpInspectDecoder dmtcp_builtin_decoder_sysvipc = {
    dmtcp::sysvipc::kNoteOwner, dmtcp::sysvipc::decode};
