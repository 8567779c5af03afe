// pid_inspect.cpp -- dmtcp_inspect's decoder for the pid plugin's notes
// (pid_notes.h): one object "pid" {virtual, real} per pair.  Linked into
// dmtcp_inspect, not into the plugin; the payload is untrusted.
#include <string.h>

#include "dmtcp/inspect.h"
#include "pid_notes.h"

namespace dmtcp::pid {
namespace {

int decode(uint32_t type, const void* data, size_t size,
           const DmtcpInspectOut* out) {
  if (type != kNoteTable || size % sizeof(PidPair) != 0) {
    return -1;
  }
  for (size_t at = 0; at < size; at += sizeof(PidPair)) {
    PidPair p;
    memcpy(&p, static_cast<const char*>(data) + at, sizeof p);
    dmtcp_inspect_object(out, "pid");
    dmtcp_inspect_int(out, "virtual", p.virt);
    dmtcp_inspect_int(out, "real", p.real);
  }
  return 0;
}

}  // namespace
}  // namespace dmtcp::pid

// dmtcp_inspect finds the internal plugins' decoders by these names
// (tools/inspect/decoders.cpp).
extern "C" const DmtcpInspectDecoder dmtcp_builtin_decoder_pid = {
    dmtcp::pid::kNoteOwner, dmtcp::pid::decode};
