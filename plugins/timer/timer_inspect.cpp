// timer_inspect.cpp -- dmtcp_inspect's decoder for the timer plugin's
// notes (timer_notes.h): one object "posix timer" per note.  Linked into
// dmtcp_inspect, not into the plugin; the payload is untrusted.
#include <signal.h>
#include <string.h>
#include <time.h>

#include <string>

#include "dmtcp/inspect.h"
#include "timer_notes.h"

namespace dmtcp::timer {
namespace {

std::string clock_name(int32_t c) {
  switch (c) {
    case CLOCK_REALTIME:
      return "CLOCK_REALTIME";
    case CLOCK_MONOTONIC:
      return "CLOCK_MONOTONIC";
    case CLOCK_PROCESS_CPUTIME_ID:
      return "CLOCK_PROCESS_CPUTIME_ID";
    case CLOCK_THREAD_CPUTIME_ID:
      return "CLOCK_THREAD_CPUTIME_ID";
    case CLOCK_BOOTTIME:
      return "CLOCK_BOOTTIME";
    case CLOCK_REALTIME_ALARM:
      return "CLOCK_REALTIME_ALARM";
    case CLOCK_BOOTTIME_ALARM:
      return "CLOCK_BOOTTIME_ALARM";
    case CLOCK_TAI:
      return "CLOCK_TAI";
  }
  return c < 0 ? "cpu clock " + std::to_string(c) : std::to_string(c);
}

const char* notify_name(int32_t n) {
  switch (n) {
    case SIGEV_SIGNAL:
      return "signal";
    case SIGEV_NONE:
      return "none";
    case SIGEV_THREAD:
      return "thread";
    case SIGEV_THREAD_ID:
      return "thread id";
  }
  return "unknown";
}

int decode(uint32_t type, const void* data, size_t size,
           const DmtcpInspectOut* out) {
  PosixTimerNote n;
  if (type != kNotePosixTimer || size != sizeof n) {
    return -1;
  }
  memcpy(&n, data, sizeof n);
  dmtcp_inspect_object(out, "posix timer");
  dmtcp_inspect_int(out, "id", n.virt);
  dmtcp_inspect_int(out, "real_id", n.real);
  dmtcp_inspect_str(out, "clock", clock_name(n.clock).c_str());
  dmtcp_inspect_str(out, "notify", notify_name(n.notify));
  if (n.notify == SIGEV_SIGNAL || n.notify == SIGEV_THREAD_ID) {
    dmtcp_inspect_int(out, "signal", n.signo);
  }
  dmtcp_inspect_int(out, "left_ns", n.left_ns);
  dmtcp_inspect_int(out, "interval_ns", n.interval_ns);
  dmtcp_inspect_int(out, "absolute", n.absolute != 0 ? 1 : 0);
  return 0;
}

}  // namespace
}  // namespace dmtcp::timer

// dmtcp_inspect finds the internal plugins' decoders by these names
// (tools/inspect/decoders.cpp).
extern "C" const DmtcpInspectDecoder dmtcp_builtin_decoder_timer = {
    dmtcp::timer::kNoteOwner, dmtcp::timer::decode};
