/* dmtcp/plugin3.h -- the plugin API of DMTCP 3.x, beside the tutorial's.
 *
 * Included by dmtcp/plugin.h (and so by <dmtcp.h>): a plugin written for
 * DMTCP 3.x builds unchanged.  Such a plugin fills a DmtcpPluginDescriptor_t
 * with its name and one event hook and declares it with
 * DMTCP_DECL_PLUGIN(descriptor).  Here that macro makes the library one
 * link of the tutorial's event chain, at its place in --with-plugin order:
 * it defines the library's dmtcp_event_hook, which hands the descriptor's
 * hook the 3.x event that an event of ours stands for, before passing the
 * event on (events on the way into a checkpoint, as 3.x calls them in
 * registration order) or after (resume, restart, exit, fork: 3.x calls them
 * in reverse order).  docs/plugins.md, "DMTCP 3.x plugins", has the table
 * and what is not supported.
 *
 * Also here: dmtcp_global_barrier / dmtcp_local_barrier, the key-value
 * database (C: dmtcp_kvdb_request; C++: dmtcp::kvdb in <kvdb.h>), and the
 * wrapper helpers of that API (NEXT_FNC_V, NEXT_FNC_LIB, dmtcp_dlsym ...).
 */
#ifndef DMTCP_PLUGIN3_H
#define DMTCP_PLUGIN3_H

#include "plugin.h" /* same directory; a no-op when included from there */

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#ifndef RTLD_NEXT /* <dlfcn.h> without _GNU_SOURCE */
#define RTLD_NEXT ((void *)-1l)
#endif

#ifndef EXTERNC
#ifdef __cplusplus
#define EXTERNC extern "C"
#else
#define EXTERNC
#endif
#endif

/* What 3.x plugins put in their descriptors' dmtcpVersion: the release
 * whose plugin API this header provides. */
#ifndef DMTCP_PACKAGE_VERSION
#define DMTCP_PACKAGE_VERSION "3.0.0"
#endif

#ifndef LIB_PRIVATE
#define LIB_PRIVATE __attribute__((visibility("hidden")))
#endif
#ifndef ATOMIC_SHARED_GLOBAL
#define ATOMIC_SHARED_GLOBAL volatile __attribute__((aligned))
#endif
#ifndef ATOMIC_SHARED
#define ATOMIC_SHARED volatile __attribute__((aligned))
#endif
#ifndef ATTR_TLS_INITIAL_EXEC
#define ATTR_TLS_INITIAL_EXEC __attribute__((tls_model("initial-exec")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*HookFunctionPtr_t)(DmtcpEvent_t, DmtcpEventData_t *);

/* A 3.x plugin's identity and hook.  The strings must live as long as the
 * library (string literals do). */
typedef struct {
  const char *pluginApiVersion; /* DMTCP_PLUGIN_API_VERSION */
  const char *dmtcpVersion;     /* DMTCP_PACKAGE_VERSION */
  const char *pluginName;
  const char *authorName;
  const char *authorEmail;
  const char *description;
  void (*event_hook)(const DmtcpEvent_t event, DmtcpEventData_t *data);
} DmtcpPluginDescriptor_t;

/* The runtime records a descriptor (its name is then listed in the log at
 * INIT, and PRESUSPEND goes down the chain).  DMTCP_DECL_PLUGIN calls it;
 * a plugin needs it only to register a descriptor of its own by hand,
 * which then gets no events (see docs/plugins.md). */
void dmtcp_register_plugin(DmtcpPluginDescriptor_t descr)
    __attribute__((weak));
/* Defined by DMTCP_DECL_PLUGIN, one per library; the runtime calls the
 * first one in library search order before the first event, and each
 * calls the next. */
void dmtcp_initialize_plugin(void) __attribute__((weak));
/* 3.x's name for dmtcp_prepare_wrappers. */
void dmtcp_initialize(void) __attribute__((weak));

/* Waits until every process of the computation has called it with the
 * same name.  From an event hook in the checkpoint thread during a
 * checkpoint or restart (PRESUSPEND, PRECHECKPOINT, RESUME, RESTART as
 * delivered to a descriptor, or any of steps 2-10 of the tutorial's
 * table); elsewhere it returns at once (there is no round to meet the
 * others in).  Names up to 127 bytes; each name once per step.
 * dmtcp_local_barrier is the same barrier (all processes, not only this
 * host's: a superset, so code written for the local one is still
 * correct). */
void dmtcp_global_barrier(const char *name) __attribute__((weak));
void dmtcp_local_barrier(const char *name) __attribute__((weak));

/* The key-value database of 3.x (kept by the coordinator for as long as it
 * runs; checkpoints do not empty it).  op: DMTCP_KVDB_*.  id names a
 * database (up to 128 bytes), key up to 4 KiB, val up to 1 MiB.  Returns
 * a DMTCP_KVDB_* result (>= 0); with out not NULL, *out gets the value
 * (GET) or the value before (the other ops; "0" for a new key), NUL
 * terminated, from dmtcp_alloc: release it with dmtcp_free; *out_len its
 * length.  -1 with errno when the coordinator cannot be asked (EMSGSIZE:
 * too long; ENOSPC: its database is full).  Any thread, any time; from a
 * hook while user threads are frozen it allocates only with dmtcp_alloc.
 * An extension of ours: 3.x has only the C++ calls of <kvdb.h>, which
 * use it. */
enum {
  DMTCP_KVDB_GET = 0,
  DMTCP_KVDB_SET = 1,
  DMTCP_KVDB_INCRBY = 2,
  DMTCP_KVDB_AND = 3,
  DMTCP_KVDB_OR = 4,
  DMTCP_KVDB_XOR = 5,
  DMTCP_KVDB_MIN = 6,
  DMTCP_KVDB_MAX = 7
};
enum {
  DMTCP_KVDB_SUCCESS = 0,
  DMTCP_KVDB_INVALID_REQUEST = 1,
  DMTCP_KVDB_DB_NOT_FOUND = 2,
  DMTCP_KVDB_KEY_NOT_FOUND = 3
};
int dmtcp_kvdb_request(int op, const char *id, const void *key,
                       size_t key_len, const void *val, size_t val_len,
                       char **out, size_t *out_len);

/* dmtcp_get_restart_env's results as 3.x names them.  Ours returns 0 or
 * -1 (missing, or longer than the buffer). */
typedef enum eDmtcpGetRestartEnvErr {
  RESTART_ENV_SUCCESS = 0,
  RESTART_ENV_NOTFOUND = -1,
  RESTART_ENV_TOOLONG = -2,
  RESTART_ENV_DMTCP_BUF_TOO_SMALL = -3,
  RESTART_ENV_INTERNAL_ERROR = -4,
  RESTART_ENV_NULL_PTR = -5
} DmtcpGetRestartEnvErr_t;
#define RESTART_ENV_MAXSIZE (12288 * 10)

/* 3.x's names for the pid translations. */
__attribute__((unused)) static pid_t dmtcp_pid_virtual_to_real(pid_t pid) {
  return dmtcp_virtual_to_real_pid(pid);
}
__attribute__((unused)) static pid_t dmtcp_pid_real_to_virtual(pid_t pid) {
  return dmtcp_real_to_virtual_pid(pid);
}

/* ---- Wrapper helpers of the 3.x API.  Static, so that RTLD_NEXT means
 * "after the plugin" that includes this header. ---- */

/* dlsym; for RTLD_NEXT, what NEXT_FNC would find (safe inside malloc and
 * free wrappers). */
__attribute__((unused)) static void *dmtcp_dlsym(void *handle,
                                                 const char *symbol) {
  if (handle == RTLD_NEXT) {
    return dmtcp_next_fnc_(symbol, (const void *)&dmtcp_next_event_hook_);
  }
  return dlsym(handle, symbol);
}

/* dlvsym: the definition of that version (RTLD_NEXT: after this plugin,
 * since the call below is made from the plugin's own code).  Looked up by
 * name: <dlfcn.h> declares dlvsym only with _GNU_SOURCE, which a plugin may
 * not define before its first include. */
__attribute__((unused)) static void *dmtcp_dlvsym(void *handle,
                                                  const char *symbol,
                                                  const char *version) {
  typedef void *(*dmtcp_dlvsym_fn_)(void *, const char *, const char *);
  static dmtcp_dlvsym_fn_ dlvsym_fn;
  void (*prepare)(void) = dmtcp_prepare_wrappers;
  if (prepare != NULL) {
    prepare();
  }
  if (dlvsym_fn == NULL) {
    dlvsym_fn =
        (dmtcp_dlvsym_fn_)(uintptr_t)dlsym((void *)0 /* RTLD_DEFAULT */,
                                           "dlvsym");
  }
  return dlvsym_fn != NULL ? dlvsym_fn(handle, symbol, version) : NULL;
}

/* The default definition in the loaded library named libname (a soname
 * such as "libc.so.6", or a path), skipping every layer between; NULL when
 * that library is not loaded or does not define it. */
__attribute__((unused)) static void *dmtcp_dlsym_lib(const char *libname,
                                                     const char *symbol) {
  void *h = dlopen(libname, RTLD_LAZY | RTLD_NOLOAD);
  if (h == NULL) {
    return NULL;
  }
  void *fn = dlsym(h, symbol);
  dlclose(h);
  return fn;
}

#define NEXT_FNC_V(func, ver)                                                 \
  ({                                                                          \
    static __typeof__(&func) dmtcp_real_v_##func =                            \
        (__typeof__(&func))(uintptr_t)-1;                                     \
    if (dmtcp_real_v_##func == (__typeof__(&func))(uintptr_t)-1) {            \
      dmtcp_real_v_##func =                                                   \
          (__typeof__(&func))dmtcp_dlvsym(RTLD_NEXT, #func, ver);             \
    }                                                                         \
    dmtcp_real_v_##func;                                                      \
  })

#define NEXT_FNC_LIB(lib, func)                                               \
  ({                                                                          \
    static __typeof__(&func) dmtcp_real_l_##func =                            \
        (__typeof__(&func))(uintptr_t)-1;                                     \
    if (dmtcp_real_l_##func == (__typeof__(&func))(uintptr_t)-1) {            \
      void (*dmtcp_prep_)(void) = dmtcp_prepare_wrappers;                     \
      if (dmtcp_prep_ != NULL) {                                              \
        dmtcp_prep_();                                                        \
      }                                                                       \
      dmtcp_real_l_##func = (__typeof__(&func))dmtcp_dlsym_lib(lib, #func);   \
    }                                                                         \
    dmtcp_real_l_##func;                                                      \
  })

/* ---- DMTCP_DECL_PLUGIN: a descriptor as a link of the event chain. ---- */

enum { DMTCP_V3_SKIP_ = 0, DMTCP_V3_BEFORE_ = 1, DMTCP_V3_AFTER_ = 2 };

/* The 3.x event that one of ours stands for, and whether the descriptor
 * hears it before the inner plugins (the way into a checkpoint, in 3.x's
 * registration order) or after them (3.x's reverse order). */
__attribute__((unused)) static int dmtcp_v3_event_(DmtcpEvent_t event,
                                                   const DmtcpEventData_t *d,
                                                   DmtcpEvent_t *out) {
  switch (event) {
    case DMTCP_EVENT_INIT:
    case DMTCP_EVENT_PRE_EXEC:
    case DMTCP_EVENT_POST_EXEC:
    case DMTCP_EVENT_ATFORK_PREPARE:
    case DMTCP_EVENT_PTHREAD_START:
    case DMTCP_EVENT_PRESUSPEND:
      *out = event;
      return DMTCP_V3_BEFORE_;
    case DMTCP_EVENT_WAIT_FOR_SUSPEND_MSG:
      *out = DMTCP_EVENT_RUNNING;
      return DMTCP_V3_BEFORE_;
    case DMTCP_EVENT_SUSPENDED: /* every process's user threads stopped */
      *out = DMTCP_EVENT_PRECHECKPOINT;
      return DMTCP_V3_BEFORE_;
    case DMTCP_EVENT_EXIT:
    case DMTCP_EVENT_ATFORK_PARENT:
    case DMTCP_EVENT_ATFORK_CHILD:
    case DMTCP_EVENT_PTHREAD_EXIT:
    case DMTCP_EVENT_PTHREAD_RETURN:
      *out = event;
      return DMTCP_V3_AFTER_;
    case DMTCP_EVENT_REFILL: /* every layer below is back */
      *out = d != NULL && d->refillInfo.isRestart ? DMTCP_EVENT_RESTART
                                                  : DMTCP_EVENT_RESUME;
      return DMTCP_V3_AFTER_;
    case DMTCP_EVENT_RESUME_USER_THREAD:
      *out = DMTCP_EVENT_THREAD_RESUME;
      return DMTCP_V3_AFTER_;
    default:
      return DMTCP_V3_SKIP_;
  }
}

__attribute__((unused)) static void dmtcp_v3_dispatch_(
    const DmtcpPluginDescriptor_t *descr, DmtcpEvent_t event,
    DmtcpEventData_t *data) {
  DmtcpEvent_t v3 = event;
  int when = dmtcp_v3_event_(event, data, &v3);
  if (when == DMTCP_V3_BEFORE_ && descr->event_hook != NULL) {
    descr->event_hook(v3, data);
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
  if (when == DMTCP_V3_AFTER_ && descr->event_hook != NULL) {
    descr->event_hook(v3, data);
  }
}

/* The next library's dmtcp_initialize_plugin, without dlsym when the
 * runtime can answer (as for the event hook). */
__attribute__((unused)) static void (*dmtcp_next_initialize_plugin_(void))(
    void) {
  static const char dmtcp_here_ = 0;
  void *(*resolve)(const char *, const void *) = dmtcp_next_fnc_address;
  void *fn = resolve != NULL ? resolve("dmtcp_initialize_plugin", &dmtcp_here_)
                             : dlsym(RTLD_NEXT, "dmtcp_initialize_plugin");
  return (void (*)(void))(uintptr_t)fn;
}

/* One per library (it defines the library's dmtcp_initialize_plugin and
 * dmtcp_event_hook: a library cannot also define a tutorial-style hook). */
#define DMTCP_DECL_PLUGIN(descr)                                              \
  EXTERNC __attribute__((visibility("default"))) void                        \
  dmtcp_initialize_plugin(void) {                                             \
    void (*dmtcp_reg_)(DmtcpPluginDescriptor_t) = dmtcp_register_plugin;      \
    if (dmtcp_reg_ != NULL) {                                                 \
      dmtcp_reg_(descr);                                                      \
    }                                                                         \
    void (*dmtcp_next_init_)(void) = dmtcp_next_initialize_plugin_();         \
    if (dmtcp_next_init_ != NULL) {                                           \
      dmtcp_next_init_();                                                     \
    }                                                                         \
  }                                                                           \
  EXTERNC __attribute__((visibility("default"))) void dmtcp_event_hook(       \
      DmtcpEvent_t dmtcp_event_, DmtcpEventData_t *dmtcp_data_) {             \
    dmtcp_v3_dispatch_(&(descr), dmtcp_event_, dmtcp_data_);                  \
  }                                                                           \
  EXTERNC __attribute__((visibility("default"))) void dmtcp_event_hook(       \
      DmtcpEvent_t dmtcp_event_, DmtcpEventData_t *dmtcp_data_)

#ifdef __cplusplus
}
#endif

#endif /* DMTCP_PLUGIN3_H */
