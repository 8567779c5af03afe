/* The tutorial's example-db plugin (section 3.2.3), in our words: two
 * processes of one computation (a parent and its forked child) learn each
 * other's current pid through the coordinator, at every resume and restart.
 * Without the pid plugin a restarted process has a new real pid, so what
 * was learned before the checkpoint is stale: it must be asked again.
 *
 * Algorithm:
 *  1. ATFORK_CHILD: remember that this process is the "child" (otherwise
 *     "parent").
 *  2. REGISTER_NAME_SERVICE_DATA (after passing it on): publish
 *     "example-db:<role>" -> our pid.  With EXAMPLE_DB_SLOW=<role> that
 *     role sleeps a second first: the barrier must hold the other back.
 *  3. SEND_QUERIES (after passing it on): query the peer's key and print
 *     "example-db: <role> pid <ours> peer <pid> restart <0|1>". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmtcp/plugin.h"
#include "say.h"

static const char *g_role = "parent";

static void make_key(char *key, size_t len, const char *role) {
  snprintf(key, len, "example-db:%s", role);
}

static void publish(int is_restart) {
  const char *slow = getenv("EXAMPLE_DB_SLOW");
  if (slow != NULL && strcmp(slow, g_role) == 0) {
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
  }
  char key[64];
  make_key(key, sizeof key, g_role);
  int pid = (int)getpid();
  int r = dmtcp_send_key_val_pair_to_coordinator(key, strlen(key), &pid,
                                                 sizeof pid);
  if (r != 1) {
    say("example-db: FAIL publish %s: %d errno %d restart %d", key, r, errno,
        is_restart);
  }
}

static void query(int is_restart) {
  char key[64];
  make_key(key, sizeof key, strcmp(g_role, "parent") == 0 ? "child"
                                                          : "parent");
  int peer = 0;
  size_t len = sizeof peer;
  int r = dmtcp_send_query_to_coordinator(key, strlen(key), &peer, &len);
  if (r != 1 || len != sizeof peer) {
    say("example-db: FAIL query %s: %d len %zu restart %d", key, r, len,
        is_restart);
    return;
  }
  say("example-db: %s pid %d peer %d restart %d", g_role, (int)getpid(),
      peer, is_restart);
}

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t *data) {
  switch (event) {
    case DMTCP_EVENT_ATFORK_CHILD:
      g_role = "child";
      DMTCP_NEXT_EVENT_HOOK(event, data);
      return;
    case DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      publish(data->nameserviceInfo.isRestart);
      return;
    case DMTCP_EVENT_SEND_QUERIES:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      query(data->nameserviceInfo.isRestart);
      return;
    default:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      return;
  }
}
