/* Publish/subscribe rules of SPEC section 4, checked from inside the hooks
 * of a single process over several rounds (checkpoints and a restart).
 *
 * Algorithm:
 *  1. INIT: publishing or querying outside a round fails with -1, errno
 *     set.
 *  2. REGISTER_NAME_SERVICE_DATA (round k, after passing it on): publish
 *     "rules:round-k", a 100-byte value, a 4 KiB key, a 1 MiB value; a
 *     4 KiB + 1 key and a 1 MiB + 1 value are refused (-1, EMSGSIZE).
 *  3. SEND_QUERIES: "rules:round-(k-1)" is gone (the database is emptied
 *     each round), a missing key gives 0, a 10-byte buffer for the 100-byte
 *     value gives 1 with *val_len = 100 and the first 10 bytes, the 1 MiB
 *     value and the 4 KiB key come back whole.
 *  4. Print "rules: round k restart R ok", or "rules: FAIL ..." per broken
 *     rule.  Big buffers come from dmtcp_alloc: the hook runs while user
 *     threads are frozen. */
#include <errno.h>
#include <string.h>

#include "dmtcp/plugin.h"
#include "say.h"

enum { kBig = 1024 * 1024, kMaxKey = 4096 };

static int g_round = 0;
static int g_failures = 0;
static char g_long_key[kMaxKey + 1];

#define RULE(cond, ...)         \
  do {                          \
    if (!(cond)) {              \
      say("rules: FAIL " __VA_ARGS__); \
      ++g_failures;             \
    }                           \
  } while (0)

static int publish_str(const char *key, const void *val, size_t len) {
  return dmtcp_send_key_val_pair_to_coordinator(key, strlen(key), val, len);
}

static void fill(char *p, size_t n, int seed) {
  for (size_t i = 0; i < n; ++i) {
    p[i] = (char)((i * 131 + (size_t)seed) & 0xff);
  }
}

static void outside_round(void) {
  errno = 0;
  int r = publish_str("rules:init", "x", 1);
  RULE(r == -1 && errno != 0, "publish outside a round: %d errno %d", r,
       errno);
  char v[8];
  size_t len = sizeof v;
  errno = 0;
  r = dmtcp_send_query_to_coordinator("rules:init", 10, v, &len);
  RULE(r == -1 && errno != 0, "query outside a round: %d errno %d", r,
       errno);
  if (g_failures == 0) {
    say("rules: INIT outside a round refused");
  }
  g_failures = 0;
}

static void register_round(void) {
  ++g_round;
  char key[64];
  snprintf(key, sizeof key, "rules:round-%d", g_round);
  RULE(publish_str(key, &g_round, sizeof g_round) == 1, "publish %s", key);
  char small[100];
  fill(small, sizeof small, g_round);
  RULE(publish_str("rules:small", small, sizeof small) == 1, "publish small");
  memset(g_long_key, 'k', sizeof g_long_key);
  RULE(dmtcp_send_key_val_pair_to_coordinator(g_long_key, kMaxKey, "4k",
                                              2) == 1,
       "publish a 4 KiB key");
  errno = 0;
  int r = dmtcp_send_key_val_pair_to_coordinator(g_long_key, kMaxKey + 1,
                                                 "x", 1);
  RULE(r == -1 && errno == EMSGSIZE, "4 KiB + 1 key: %d errno %d", r, errno);
  char *big = dmtcp_alloc(kBig + 1);
  RULE(big != NULL, "dmtcp_alloc(1 MiB + 1)");
  if (big == NULL) {
    return;
  }
  fill(big, kBig + 1, 7);
  RULE(publish_str("rules:big", big, kBig) == 1, "publish a 1 MiB value");
  errno = 0;
  r = publish_str("rules:too-big", big, kBig + 1);
  RULE(r == -1 && errno == EMSGSIZE, "1 MiB + 1 value: %d errno %d", r,
       errno);
  dmtcp_free(big);
}

static void query_round(int is_restart) {
  char key[64];
  int v = 0;
  size_t len = sizeof v;
  snprintf(key, sizeof key, "rules:round-%d", g_round);
  int r = dmtcp_send_query_to_coordinator(key, strlen(key), &v, &len);
  RULE(r == 1 && len == sizeof v && v == g_round, "own key %s: %d", key, r);
  snprintf(key, sizeof key, "rules:round-%d", g_round - 1);
  len = sizeof v;
  r = dmtcp_send_query_to_coordinator(key, strlen(key), &v, &len);
  RULE(r == 0, "last round's %s still there: %d", key, r);
  len = sizeof v;
  r = dmtcp_send_query_to_coordinator("rules:never", 11, &v, &len);
  RULE(r == 0, "missing key: %d", r);
  char want[100];
  char got[10];
  fill(want, sizeof want, g_round);
  len = sizeof got;
  r = dmtcp_send_query_to_coordinator("rules:small", 11, got, &len);
  RULE(r == 1 && len == sizeof want && memcmp(got, want, sizeof got) == 0,
       "small buffer: %d len %zu", r, len);
  char k4[8] = {0};
  len = sizeof k4;
  r = dmtcp_send_query_to_coordinator(g_long_key, kMaxKey, k4, &len);
  RULE(r == 1 && len == 2 && memcmp(k4, "4k", 2) == 0, "4 KiB key: %d", r);
  char *big = dmtcp_alloc(kBig);
  char *ref = dmtcp_alloc(kBig);
  RULE(big != NULL && ref != NULL, "dmtcp_alloc(1 MiB) twice");
  if (big != NULL && ref != NULL) {
    fill(ref, kBig, 7);
    len = kBig;
    r = dmtcp_send_query_to_coordinator("rules:big", 9, big, &len);
    RULE(r == 1 && len == kBig && memcmp(big, ref, kBig) == 0,
         "1 MiB value: %d len %zu", r, len);
  }
  dmtcp_free(big);
  dmtcp_free(ref);
  if (g_failures == 0) {
    say("rules: round %d restart %d ok", g_round, is_restart);
  }
  g_failures = 0;
}

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t *data) {
  switch (event) {
    case DMTCP_EVENT_INIT:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      outside_round();
      return;
    case DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      register_round();
      return;
    case DMTCP_EVENT_SEND_QUERIES:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      query_round(data->nameserviceInfo.isRestart);
      return;
    default:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      return;
  }
}
