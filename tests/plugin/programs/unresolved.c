/* A plugin that cannot be loaded: it needs a symbol nobody defines.
 * dmtcp_launch must say so before the program starts. */
#include "dmtcp/plugin.h"

extern void dmtcp_test_no_such_function(void);

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t *data) {
  dmtcp_test_no_such_function();
  DMTCP_NEXT_EVENT_HOOK(event, data);
}
