/* Records every event it sees, one line per event appended to the file
 * named by $DMTCP_TEST_EVENT_LOG (O_APPEND, one write(2) per line, so the
 * file order is the global order across threads, plugins and processes).
 * Built twice, as "outer" and "inner"; stacked with --with-plugin
 * outer:inner they show the chain and the ordering rule.
 *
 * Line: "<name> <EVENT> <C|U> <tid> <pid> <flag>", C = the checkpoint
 * thread, U = a user thread; flag = isRestart for the resume-side events,
 * the state read back for POST_EXEC, "before-constructor" for an INIT that
 * came before this library's constructor ran, "-" otherwise.
 *
 * Algorithm:
 *  1. Events on the way into a checkpoint (and every other event): record,
 *     then pass on.  RESUME, RESTART, REFILL, REGISTER_NAME_SERVICE_DATA,
 *     SEND_QUERIES, THREADS_RESUME, RESUME_USER_THREAD: pass on, then
 *     record (SPEC section 4's ordering rule).
 *  2. WAIT_FOR_SUSPEND_MSG marks the calling thread as the checkpoint
 *     thread (thread-local; it comes back with the image).
 *  3. RESTART: the log fd is not restored (no file plugin here): reopen it
 *     first.
 *  4. PRE_EXEC: write "<name>:state-from-<pid>\n" into the exec fd;
 *     POST_EXEC: read our line back (plugins read in the order they wrote).
 * Only write(2), open(2) and static buffers: hooks run while user threads
 * may hold the malloc and stdio locks. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "dmtcp/plugin.h"
#include "say.h"

#ifndef RECORDER_NAME
#error "define RECORDER_NAME"
#endif

static int g_fd = -1;
static __thread int t_is_ckpt_thread;

/* INIT (and POST_EXEC) come after every library's constructor, ours too:
 * INIT is recorded with flag "before-constructor" otherwise. */
static int g_constructed;
__attribute__((constructor)) static void constructed(void) {
  g_constructed = 1;
}

static const char *const kNames[] = {
    [DMTCP_EVENT_INIT] = "INIT",
    [DMTCP_EVENT_EXIT] = "EXIT",
    [DMTCP_EVENT_PRE_EXEC] = "PRE_EXEC",
    [DMTCP_EVENT_POST_EXEC] = "POST_EXEC",
    [DMTCP_EVENT_ATFORK_PREPARE] = "ATFORK_PREPARE",
    [DMTCP_EVENT_ATFORK_PARENT] = "ATFORK_PARENT",
    [DMTCP_EVENT_ATFORK_CHILD] = "ATFORK_CHILD",
    [DMTCP_EVENT_WAIT_FOR_SUSPEND_MSG] = "WAIT_FOR_SUSPEND_MSG",
    [DMTCP_EVENT_THREADS_SUSPEND] = "THREADS_SUSPEND",
    [DMTCP_EVENT_SUSPENDED] = "SUSPENDED",
    [DMTCP_EVENT_LEADER_ELECTION] = "LEADER_ELECTION",
    [DMTCP_EVENT_DRAIN] = "DRAIN",
    [DMTCP_EVENT_WRITE_CKPT] = "WRITE_CKPT",
    [DMTCP_EVENT_RESTART] = "RESTART",
    [DMTCP_EVENT_RESUME] = "RESUME",
    [DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA] = "REGISTER_NAME_SERVICE_DATA",
    [DMTCP_EVENT_SEND_QUERIES] = "SEND_QUERIES",
    [DMTCP_EVENT_REFILL] = "REFILL",
    [DMTCP_EVENT_THREADS_RESUME] = "THREADS_RESUME",
    [DMTCP_EVENT_PRE_SUSPEND_USER_THREAD] = "PRE_SUSPEND_USER_THREAD",
    [DMTCP_EVENT_RESUME_USER_THREAD] = "RESUME_USER_THREAD",
    [DMTCP_EVENT_THREAD_START] = "THREAD_START",
    [DMTCP_EVENT_THREAD_CREATED] = "THREAD_CREATED",
    [DMTCP_EVENT_PTHREAD_START] = "PTHREAD_START",
    [DMTCP_EVENT_PTHREAD_EXIT] = "PTHREAD_EXIT",
    [DMTCP_EVENT_PTHREAD_RETURN] = "PTHREAD_RETURN",
    [DMTCP_EVENT_PRESUSPEND] = "PRESUSPEND",
};

static void open_log(void) {
  const char *path = getenv("DMTCP_TEST_EVENT_LOG");
  if (path != NULL) {
    g_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  }
}

static void record(DmtcpEvent_t event, const char *flag) {
  if (g_fd < 0) {
    open_log();
  }
  if (g_fd < 0) {
    return;
  }
  char line[256];
  const char *name = event > 0 &&
                             (size_t)event < sizeof kNames / sizeof kNames[0] &&
                             kNames[event]
                         ? kNames[event]
                         : "UNKNOWN";
  int n = snprintf(line, sizeof line, "%s %s %c %ld %d %s\n", RECORDER_NAME,
                   name, t_is_ckpt_thread ? 'C' : 'U', syscall(SYS_gettid),
                   (int)getpid(), flag);
  if (n > 0 && n < (int)sizeof line) {
    ssize_t w = write(g_fd, line, (size_t)n);
    (void)w;
  }
}

static int is_way_out(DmtcpEvent_t e) {
  return e == DMTCP_EVENT_RESUME || e == DMTCP_EVENT_RESTART ||
         e == DMTCP_EVENT_REFILL ||
         e == DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA ||
         e == DMTCP_EVENT_SEND_QUERIES || e == DMTCP_EVENT_THREADS_RESUME ||
         e == DMTCP_EVENT_RESUME_USER_THREAD;
}

static void save_exec_state(int fd) {
  char line[96];
  int n = snprintf(line, sizeof line, "%s:state-from-%d\n", RECORDER_NAME,
                   (int)getpid());
  if (fd >= 0 && n > 0 && write(fd, line, (size_t)n) != n) {
    record(DMTCP_EVENT_PRE_EXEC, "write-failed");
  }
}

static void load_exec_state(int fd, char *out, size_t cap) {
  size_t used = 0;
  char c;
  while (fd >= 0 && used + 1 < cap && read(fd, &c, 1) == 1 && c != '\n') {
    out[used++] = c;
  }
  out[used] = '\0';
  if (used == 0) {
    snprintf(out, cap, "nothing");
  }
}

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t *data) {
  if (event == DMTCP_EVENT_WAIT_FOR_SUSPEND_MSG) {
    t_is_ckpt_thread = 1;
  }
  if (event == DMTCP_EVENT_RESTART) {
    g_fd = -1;  /* the old number means nothing in the new process */
  }
  if (is_way_out(event)) {
    DMTCP_NEXT_EVENT_HOOK(event, data);
    record(event, data->resumeInfo.isRestart ? "1" : "0");
    return;
  }
  if (event == DMTCP_EVENT_PRE_EXEC) {
    record(event, "-");
    save_exec_state(data->serializerInfo.fd);
  } else if (event == DMTCP_EVENT_POST_EXEC) {
    char state[96];
    load_exec_state(data->serializerInfo.fd, state, sizeof state);
    record(event, state);
  } else if (event == DMTCP_EVENT_INIT && !g_constructed) {
    record(event, "before-constructor");
  } else {
    record(event, "-");
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
}
