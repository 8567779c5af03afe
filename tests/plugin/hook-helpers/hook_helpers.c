/* dmtcp_alloc / dmtcp_free / dmtcp_log from hooks while a user thread is
 * frozen holding glibc's malloc lock (and a stdio lock): see
 * malloc_held.c, which parks a thread inside malloc_stats().
 *
 * Algorithm:
 *  1. WRITE_CKPT (before passing it on), RESUME and RESTART (after): 500
 *     blocks of 1 B .. 200 KiB from dmtcp_alloc (small ones from its slabs,
 *     big ones mapped), each filled and checked, then freed; a second pass
 *     reuses the freed blocks.
 *  2. Report with dmtcp_log (one write(2) to stderr, no stdio, no malloc):
 *     "helpers: <EVENT> alloc ok".
 *  With HOOK_HELPERS_USE_MALLOC=1 it calls malloc instead, to show the
 *  hazard by hand: that run hangs (not part of the test suite). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmtcp/plugin.h"

enum { kBlocks = 500 };

static void *g_blocks[kBlocks];
static int g_use_malloc = 0;

static size_t size_of(int i) {
  return i % 10 == 9 ? (size_t)(64 * 1024 + i * 271) : (size_t)(1 + i * 37);
}

static int exercise(void) {
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < kBlocks; ++i) {
      size_t n = size_of(i);
      g_blocks[i] = g_use_malloc ? malloc(n) : dmtcp_alloc(n);
      if (g_blocks[i] == NULL) {
        return 0;
      }
      memset(g_blocks[i], i & 0xff, n);
    }
    for (int i = 0; i < kBlocks; ++i) {
      const unsigned char *p = g_blocks[i];
      size_t n = size_of(i);
      if (p[0] != (i & 0xff) || p[n - 1] != (i & 0xff)) {
        return 0;
      }
    }
    for (int i = 0; i < kBlocks; ++i) {
      if (g_use_malloc) {
        free(g_blocks[i]);
      } else {
        dmtcp_free(g_blocks[i]);
      }
    }
  }
  return 1;
}

static void report(const char *event) {
  if (exercise()) {
    dmtcp_log("helpers: %s alloc ok", event);
  } else {
    dmtcp_log("helpers: FAIL %s alloc", event);
  }
}

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t *data) {
  switch (event) {
    case DMTCP_EVENT_INIT: {
      const char *m = getenv("HOOK_HELPERS_USE_MALLOC");
      g_use_malloc = m != NULL && m[0] == '1';
      DMTCP_NEXT_EVENT_HOOK(event, data);
      return;
    }
    case DMTCP_EVENT_WRITE_CKPT:
      report("WRITE_CKPT");
      DMTCP_NEXT_EVENT_HOOK(event, data);
      return;
    case DMTCP_EVENT_RESUME:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      report("RESUME");
      return;
    case DMTCP_EVENT_RESTART:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      report("RESTART");
      return;
    default:
      DMTCP_NEXT_EVENT_HOOK(event, data);
      return;
  }
}
