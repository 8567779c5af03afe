/* dmtcp/plugin.h -- the plugin API.
 *
 * Source compatible with the DMTCP plugin tutorial (2013): a plugin is a
 * shared library that may define dmtcp_event_hook(), wrap libc functions
 * (calling the real one through NEXT_FNC) and exchange data with its peers
 * through the coordinator's publish/subscribe database.
 *
 * Plugins written for DMTCP 3.x (a DmtcpPluginDescriptor_t declared with
 * DMTCP_DECL_PLUGIN, dmtcp_global_barrier, the key-value database) build
 * against it too: dmtcp/plugin3.h, included at the end.
 *
 * Plain C so that C and C++ plugins can both include it.
 */
#ifndef DMTCP_PLUGIN_H
#define DMTCP_PLUGIN_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "checkpoint_eintr.h" /* same directory: found by relative includes too */

#ifdef __cplusplus
extern "C" {
#endif

/* A string, as DMTCP 3.x has it: its descriptors start with it. */
#define DMTCP_PLUGIN_API_VERSION "3"

/* The order of the checkpoint and restart events is pinned down in
 * docs/plugins.md and SPEC section 4. */
typedef enum eDmtcpEvent {
  DMTCP_EVENT_INIT = 1,
  DMTCP_EVENT_EXIT,

  DMTCP_EVENT_PRE_EXEC,
  DMTCP_EVENT_POST_EXEC,

  DMTCP_EVENT_ATFORK_PREPARE,
  DMTCP_EVENT_ATFORK_PARENT,
  DMTCP_EVENT_ATFORK_CHILD,

  DMTCP_EVENT_WAIT_FOR_SUSPEND_MSG,
  DMTCP_EVENT_THREADS_SUSPEND,
  DMTCP_EVENT_SUSPENDED,
  DMTCP_EVENT_LEADER_ELECTION,
  DMTCP_EVENT_DRAIN,
  DMTCP_EVENT_WRITE_CKPT,

  DMTCP_EVENT_RESTART,
  DMTCP_EVENT_RESUME,
  DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA,
  DMTCP_EVENT_SEND_QUERIES,
  DMTCP_EVENT_REFILL,
  DMTCP_EVENT_THREADS_RESUME,

  DMTCP_EVENT_PRE_SUSPEND_USER_THREAD,
  DMTCP_EVENT_RESUME_USER_THREAD,

  DMTCP_EVENT_THREAD_START,
  DMTCP_EVENT_THREAD_CREATED,
  DMTCP_EVENT_PTHREAD_START,
  DMTCP_EVENT_PTHREAD_EXIT,
  DMTCP_EVENT_PTHREAD_RETURN,

  /* Added for DMTCP 3.x plugins (dmtcp/plugin3.h).  PRESUSPEND goes down
   * the chain, in the checkpoint thread when a checkpoint order has come and
   * before any user thread is stopped, but only in a process that has a
   * DMTCP_DECL_PLUGIN plugin.  The others are never fired through the
   * chain: a descriptor's hook gets them, translated from the events above
   * (docs/plugins.md, "DMTCP 3.x plugins"). */
  DMTCP_EVENT_PRESUSPEND,
  DMTCP_EVENT_PRECHECKPOINT,
  DMTCP_EVENT_RUNNING,
  DMTCP_EVENT_THREAD_RESUME,
  DMTCP_EVENT_ATFORK_FAILED,
  DMTCP_EVENT_VFORK_PREPARE,
  DMTCP_EVENT_VFORK_PARENT,
  DMTCP_EVENT_VFORK_CHILD,
  DMTCP_EVENT_VFORK_FAILED,
  DMTCP_EVENT_OPEN_FD,
  DMTCP_EVENT_REOPEN_FD,
  DMTCP_EVENT_CLOSE_FD,
  DMTCP_EVENT_DUP_FD,
  DMTCP_EVENT_VIRTUAL_TO_REAL_PATH,
  DMTCP_EVENT_REAL_TO_VIRTUAL_PATH,

  nDmtcpEvents
} DmtcpEvent_t;

/* Data passed with an event.  Which member is valid depends on the event:
 *   PRE_EXEC, POST_EXEC            serializerInfo.fd (the same int as
 *                                  DMTCP 3.x's preExec.serializationFd
 *                                  and postExec.serializationFd)
 *   RESUME, RESTART, REFILL,
 *   REGISTER_NAME_SERVICE_DATA,
 *   SEND_QUERIES, THREADS_RESUME,
 *   RESUME_USER_THREAD             *.isRestart (all alias one int)
 * The other DMTCP 3.x members are there for its plugins to build; nothing
 * fills them (preExec's file name, argv and envp are NULL and 0).
 */
typedef union _DmtcpEventData_t {
  struct {
    int fd;
  } serializerInfo;
  struct {
    int isRestart;
  } resumeUserThreadInfo, refillInfo, resumeInfo, nameserviceInfo,
      restartInfo;
  struct {
    int serializationFd;
    char *filename;
    size_t maxArgs;
    const char **argv;
    size_t maxEnv;
    const char **envp;
  } preExec;
  struct {
    int serializationFd;
  } postExec;
  struct {
    int fd;
    const char *path;
    int flags;
    mode_t mode;
  } openFd;
  struct {
    int fd;
    const char *path;
    int flags;
  } reopenFd;
  struct {
    int fd;
  } closeFd;
  struct {
    int oldFd;
    int newFd;
  } dupFd;
  struct {
    char *path;
  } realToVirtualPath, virtualToRealPath;
} DmtcpEventData_t;

/* Defined by a plugin that handles events.  The runtime calls the first one
 * in library search order; each one calls DMTCP_NEXT_EVENT_HOOK zero or one
 * times. */
void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t *data);

typedef void (*DmtcpEventHook_t)(DmtcpEvent_t, DmtcpEventData_t *);

/* The next library's hook, looked up once per translation unit and eagerly,
 * when the library is loaded (the constructor below): a lookup during a
 * checkpoint could block forever on a lock held by a frozen thread (dlsym
 * takes the loader's lock, and allocates when the symbol is missing).  The
 * runtime's resolver (dmtcp_next_fnc_address, below) answers when it is
 * there: the last hook's lookup finds nothing, and a failed dlsym would
 * leave its message for the program's next dlerror(). */
static DmtcpEventHook_t dmtcp_next_event_hook_ __attribute__((unused));
static int dmtcp_next_event_hook_known_ __attribute__((unused));

/* Weak: a program that includes this header may run without the runtime. */
void *dmtcp_next_fnc_address(const char *name, const void *caller)
    __attribute__((weak));

__attribute__((unused)) static DmtcpEventHook_t dmtcp_next_event_hook_fn_(
    void) {
  if (!dmtcp_next_event_hook_known_) {
    void *(*resolve)(const char *, const void *) = dmtcp_next_fnc_address;
    void *fn = resolve != NULL
                   ? resolve("dmtcp_event_hook", &dmtcp_next_event_hook_)
                   : dlsym(RTLD_NEXT, "dmtcp_event_hook");
    dmtcp_next_event_hook_ = (DmtcpEventHook_t)(uintptr_t)fn;
    dmtcp_next_event_hook_known_ = 1;
  }
  return dmtcp_next_event_hook_;
}

__attribute__((constructor, unused)) static void
dmtcp_next_event_hook_resolve_(void) {
  (void)dmtcp_next_event_hook_fn_();
}

#define DMTCP_NEXT_EVENT_HOOK(event, data)                                    \
  do {                                                                        \
    DmtcpEventHook_t dmtcp_next_ = dmtcp_next_event_hook_fn_();               \
    if (dmtcp_next_ != NULL) {                                                \
      dmtcp_next_((event), (data));                                           \
    }                                                                         \
  } while (0)

/* The next definition of a wrapped function (the next plugin's wrapper, or
 * libc itself): what dlsym(RTLD_NEXT, name) would return here, the default
 * symbol version.  Resolved once per call site by the runtime, which reads
 * the loaded objects' symbol tables itself: dlsym cannot be used inside a
 * free() wrapper (it frees the previous dlerror string first, through that
 * wrapper).  `caller` is any address inside the calling library; the
 * search starts after that library.  NULL when no later library defines
 * `name`.  Safe before main, inside malloc/free and after restart.  An
 * extension of ours; docs/plugins.md, "How NEXT_FNC resolves". */
void *dmtcp_next_fnc_address(const char *name, const void *caller);

/* Makes sure the runtime is initialized before a wrapper runs (wrappers can
 * be called before main, from other libraries' constructors). */
void dmtcp_prepare_wrappers(void) __attribute__((weak));

/* The first call at a NEXT_FNC call site: the runtime's answer, or plain
 * dlsym from here when the runtime has none -- absent (dmtcp.h declares
 * these weak, for programs that run without DMTCP), or the caller is a
 * library loaded by dlopen, whose next definition may come before it. */
__attribute__((unused)) static void *dmtcp_next_fnc_(const char *name,
                                                     const void *caller) {
  void (*prepare)(void) = dmtcp_prepare_wrappers;
  void *(*resolve)(const char *, const void *) = dmtcp_next_fnc_address;
  if (prepare != NULL) {
    prepare();
  }
  void *fn = resolve != NULL ? resolve(name, caller) : NULL;
  return fn != NULL ? fn : dlsym(RTLD_NEXT, name);
}

#define NEXT_FNC(func)                                                        \
  ({                                                                          \
    static __typeof__(&func) dmtcp_real_##func =                              \
        (__typeof__(&func))(uintptr_t)-1;                                     \
    if (dmtcp_real_##func == (__typeof__(&func))(uintptr_t)-1) {              \
      dmtcp_real_##func = (__typeof__(&func))dmtcp_next_fnc_(                 \
          #func, (const void *)&dmtcp_real_##func);                           \
    }                                                                         \
    dmtcp_real_##func;                                                        \
  })

/* No checkpoint starts while a thread is between these two calls. */
void dmtcp_plugin_disable_ckpt(void);
void dmtcp_plugin_enable_ckpt(void);
#define DMTCP_PLUGIN_DISABLE_CKPT() dmtcp_plugin_disable_ckpt()
#define DMTCP_PLUGIN_ENABLE_CKPT() dmtcp_plugin_enable_ckpt()

/* Publish/subscribe.  Publish during REGISTER_NAME_SERVICE_DATA, query during
 * SEND_QUERIES; a global barrier separates the two.  Keys up to 4 KiB,
 * values up to 1 MiB.
 *   send_key_val: 1 stored, -1 error (errno set).
 *   send_query: *val_len is the buffer size in, the value's size out;
 *               1 found, 0 missing, -1 error (errno set). */
int dmtcp_send_key_val_pair_to_coordinator(const void *key, size_t key_len,
                                           const void *val, size_t val_len);
int dmtcp_send_query_to_coordinator(const void *key, size_t key_len,
                                    void *val, size_t *val_len);

/* Utilities. */
int dmtcp_is_enabled(void);
int dmtcp_checkpoint(void);
int dmtcp_get_generation(void);
const char *dmtcp_get_ckpt_dir(void);
int dmtcp_set_ckpt_dir(const char *dir);
const char *dmtcp_get_tmpdir(void);
const char *dmtcp_get_ckpt_filename(void);
const char *dmtcp_get_uniquepid_str(void);
const char *dmtcp_get_computation_id_str(void);
int dmtcp_get_ckpt_signal(void);
pid_t dmtcp_virtual_to_real_pid(pid_t virtual_pid);
pid_t dmtcp_real_to_virtual_pid(pid_t real_pid);
/* Copies the value of an environment variable of the dmtcp_restart process
 * (not the restored program's) into value; 0 found, -1 missing or too big. */
int dmtcp_get_restart_env(const char *name, char *value, size_t max_len);
/* The value of NAME in this process's environment, read from environ
 * itself; NULL when unset.  Use it instead of getenv() in a plugin: a
 * program may define its own getenv, and bash does (it reads bash's
 * variables, which miss what the environment holds while bash starts).
 * Allocates nothing; safe in every hook and wrapper.  An extension of ours. */
const char *dmtcp_getenv(const char *name);
int dmtcp_is_protected_fd(int fd);
/* In the RESTART event only: a descriptor of the shared memory
 * object (memfd, deleted file, shared anonymous memory) that dmtcp_restart
 * made again for the object that was (dev, ino) at checkpoint time and
 * mapped into this process; -1 if there is none.  Do not close it; dup or
 * reopen it through /proc/self/fd to keep it.  An extension of ours. */
int dmtcp_get_restored_object_fd(uint64_t dev, uint64_t ino);
/* From the RESTART event on (until the next restart): the kernel tid now
 * of the thread whose kernel tid was old_tid at the checkpoint (the
 * threads are cloned again before RESTART, each with a new tid); -1 when
 * no restored thread had it.  An extension of ours (the pid plugin maps
 * virtual tids with it before the threads themselves run). */
pid_t dmtcp_restored_thread_tid(pid_t old_tid);
/* The local address of this process's connection to the coordinator: the
 * address other hosts of the computation reach this one at (docs/
 * distributed.md).  From an event hook during a round.  0 with *addr and
 * *len filled, -1 without a coordinator (errno set).  *len is the buffer
 * size in, the address size out.  An extension of ours. */
int dmtcp_get_coordinator_local_addr(struct sockaddr *addr, socklen_t *len);

/* Waits that the checkpoint signal cuts short (poll, select, semop...):
 * DmtcpWait, dmtcp_wait_begin, dmtcp_wait_interrupted_by_checkpoint and
 * dmtcp_rounds_since are declared in dmtcp/checkpoint_eintr.h, included
 * above.  An extension of ours. */

/* Safe inside event hooks, when user threads may hold the malloc or stdio
 * lock: memory from a private mmap'd arena, and a log line written with one
 * write(2) to stderr. */
void *dmtcp_alloc(size_t size);
void dmtcp_free(void *ptr);
void dmtcp_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif

#include "plugin3.h" /* same directory */

#endif /* DMTCP_PLUGIN_H */
