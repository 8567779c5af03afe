/* An out-of-tree style plugin with image notes (dmtcp/inspect.h): at each
 * WRITE_CKPT it notes a counter (42 at the first checkpoint), and the same
 * library holds the decoder dmtcp_inspect --decoder loads.  A note outside
 * WRITE_CKPT must be refused (EPERM); if it is not, the plugin says so on
 * stderr and the test fails. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dmtcp/inspect.h"
#include "dmtcp/plugin.h"

#define NOTE_COUNTER 1

struct counter_note {
  uint32_t magic;
  int32_t value;
};

static int g_value = 41;

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t* data) {
  if (event == DMTCP_EVENT_WRITE_CKPT) {
    struct counter_note n = {0xC0FFEEu, ++g_value};
    if (dmtcp_add_image_note("example", NOTE_COUNTER, &n, sizeof n) != 0) {
      fprintf(stderr, "NOTE REFUSED: %s\n", strerror(errno));
    }
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
  if (event == DMTCP_EVENT_RESUME) {
    struct counter_note n = {0, 0};
    if (dmtcp_add_image_note("example", NOTE_COUNTER, &n, sizeof n) == 0 ||
        errno != EPERM) {
      fprintf(stderr, "NOTE OUTSIDE WRITE_CKPT ACCEPTED\n");
    }
  }
}

static int decode(uint32_t type, const void* data, size_t size,
                  const DmtcpInspectOut* out) {
  struct counter_note n;
  if (type != NOTE_COUNTER || size != sizeof n) {
    return -1;
  }
  memcpy(&n, data, sizeof n);
  if (n.magic != 0xC0FFEEu) {
    return -1;
  }
  dmtcp_inspect_object(out, "counter");
  dmtcp_inspect_int(out, "value", n.value);
  return 0;
}

static const DmtcpInspectDecoder decoders[] = {{"example", decode}};
DMTCP_INSPECT_DECODERS(decoders)
