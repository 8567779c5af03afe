/* A plugin written against the DMTCP 3.x API (our own code): a
 * DmtcpPluginDescriptor_t declared with DMTCP_DECL_PLUGIN, an event hook
 * that sees 3.x's event names, a sleep() wrapper through NEXT_FNC, and the
 * 3.x wrapper helpers (NEXT_FNC_V, NEXT_FNC_LIB, dmtcp_dlsym).  It includes
 * "dmtcp.h" as 3.x plugins do.
 *
 * Algorithm:
 *  1. Every event the descriptor's hook gets is printed to stdout as
 *     "v3-hooks: <EVENT>" and, with $DMTCP_TEST_EVENT_LOG, appended to that
 *     log in the event-order recorders' format ("v3 <EVENT> <C|U> <tid>
 *     <pid> -"), so a test stacking recorders around this plugin sees where
 *     in the chain each 3.x event lands.
 *  2. RUNNING marks the calling thread as the checkpoint thread (thread-
 *     local; it comes back with the image).  RESTART reopens the log.
 *  3. INIT checks the helpers: NEXT_FNC_V finds realpath's two versions
 *     (different, the default one is what dlsym gives), NEXT_FNC_LIB finds
 *     libc's own sleep, dmtcp_dlsym(RTLD_NEXT) what NEXT_FNC finds; it
 *     prints "v3-hooks: helpers ok" or a FAIL line.
 *  4. sleep(): "v3-hooks: before <n>", the next sleep, "v3-hooks: after".
 * Only write(2), open(2) and static buffers in hooks (user threads may
 * hold the malloc and stdio locks). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dmtcp.h"
#include "say.h"

static int g_log = -1;
static __thread int t_ckpt_thread;

static void open_log(void) {
  const char *path = getenv("DMTCP_TEST_EVENT_LOG");
  if (path != NULL) {
    g_log = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  }
}

static void record(const char *name) {
  say("v3-hooks: %s", name);
  if (g_log < 0) {
    return;
  }
  char line[160];
  int n = snprintf(line, sizeof line, "v3 %s %c %ld %d -\n", name,
                   t_ckpt_thread ? 'C' : 'U', (long)syscall(SYS_gettid),
                   (int)getpid());
  if (n > 0 && n < (int)sizeof line) {
    ssize_t w = write(g_log, line, (size_t)n);
    (void)w;
  }
}

static void check_helpers(void) {
  char *(*v225)(const char *, char *) = NEXT_FNC_V(realpath, "GLIBC_2.2.5");
  char *(*v23)(const char *, char *) = NEXT_FNC_V(realpath, "GLIBC_2.3");
  void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  void *libc_realpath = libc != NULL ? dlsym(libc, "realpath") : NULL;
  void *libc_sleep = libc != NULL ? dlsym(libc, "sleep") : NULL;
  if (libc != NULL) {
    dlclose(libc);
  }
  unsigned int (*own_sleep)(unsigned int) = NEXT_FNC_LIB("libc.so.6", sleep);
  void *next_sleep = dmtcp_dlsym(RTLD_NEXT, "sleep");
  if (v225 == NULL || v23 == NULL || v225 == v23) {
    say("v3-hooks: FAIL NEXT_FNC_V realpath %p %p", (void *)v225,
        (void *)v23);
  } else if ((void *)v23 != libc_realpath) {
    say("v3-hooks: FAIL NEXT_FNC_V default version %p, dlsym %p",
        (void *)v23, libc_realpath);
  } else if (own_sleep == NULL || (void *)own_sleep != libc_sleep) {
    say("v3-hooks: FAIL NEXT_FNC_LIB sleep %p, libc's %p", (void *)own_sleep,
        libc_sleep);
  } else if (next_sleep == NULL || next_sleep != (void *)NEXT_FNC(sleep)) {
    say("v3-hooks: FAIL dmtcp_dlsym(RTLD_NEXT) %p, NEXT_FNC %p", next_sleep,
        (void *)NEXT_FNC(sleep));
  } else {
    say("v3-hooks: helpers ok");
  }
}

unsigned int sleep(unsigned int seconds) {
  say("v3-hooks: before %u", seconds);
  unsigned int r = NEXT_FNC(sleep)(seconds);
  say("v3-hooks: after");
  return r;
}

static void v3_hooks_event(DmtcpEvent_t event, DmtcpEventData_t *data) {
  (void)data;
  switch (event) {
    case DMTCP_EVENT_INIT:
      open_log();
      record("INIT");
      check_helpers();
      break;
    case DMTCP_EVENT_RUNNING:
      t_ckpt_thread = 1;
      record("RUNNING");
      break;
    case DMTCP_EVENT_PRESUSPEND:
      record("PRESUSPEND");
      break;
    case DMTCP_EVENT_PRECHECKPOINT:
      record("PRECHECKPOINT");
      break;
    case DMTCP_EVENT_RESUME:
      record("RESUME");
      break;
    case DMTCP_EVENT_RESTART:
      open_log();
      record("RESTART");
      break;
    case DMTCP_EVENT_THREAD_RESUME:
      record("THREAD_RESUME");
      break;
    case DMTCP_EVENT_EXIT:
      record("EXIT");
      break;
    default:
      break;
  }
}

DmtcpPluginDescriptor_t v3_hooks_plugin = {
  DMTCP_PLUGIN_API_VERSION,
  DMTCP_PACKAGE_VERSION,
  "v3_hooks",
  "dmtcp-cpp tests",
  "nobody@example.invalid",
  "DMTCP 3.x-style plugin: events, a wrapper, helpers",
  v3_hooks_event
};

DMTCP_DECL_PLUGIN(v3_hooks_plugin);
