/* A user thread frozen while it holds glibc's malloc lock: malloc_stats()
 * locks the main arena and, still holding it, prints to the FILE* stderr.
 * We point stderr at a pipe that is already full, so the thread blocks in
 * write(2) inside malloc_stats.  Run with MALLOC_ARENA_MAX=1, so every
 * thread (the checkpoint thread too) allocates from that one arena: a hook
 * that called malloc now would hang.
 *
 * Before READY the program checks that the thread really sits in write(2)
 * (/proc/self/task/<tid>/syscall).  At go it drains the pipe so the thread
 * finishes (after a restart the pipe is gone, the write fails with EBADF
 * and malloc_stats returns the same way). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>

#include "e2e.h"

static int g_pipe[2];
static volatile pid_t g_tid;

static void *hold_malloc_lock(void *arg) {
  (void)arg;
  g_tid = (pid_t)syscall(SYS_gettid);
  malloc_stats();
  return NULL;
}

static int blocked_in_write(pid_t tid) {
  char path[64];
  char buf[128] = {0};
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    return 0;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && strncmp(buf, "1 ", 2) == 0; /* SYS_write */
}

int main(void) {
  mallopt(M_ARENA_MAX, 1);
  /* stdout's buffer is malloc'd on first use: get it before the lock is
   * taken for good. */
  e2e_say("prog: starting");
  E2E_CHECK(pipe(g_pipe) == 0, "pipe");
  int size = fcntl(g_pipe[1], F_SETPIPE_SZ, 4096);
  E2E_CHECK(size > 0, "F_SETPIPE_SZ: %s", strerror(errno));
  fcntl(g_pipe[1], F_SETFL, O_NONBLOCK);
  char junk[4096];
  memset(junk, 'x', sizeof junk);
  while (write(g_pipe[1], junk, sizeof junk) > 0) {
  }
  fcntl(g_pipe[1], F_SETFL, 0);
  FILE *full = fdopen(g_pipe[1], "w");
  E2E_CHECK(full != NULL, "fdopen");
  setvbuf(full, NULL, _IONBF, 0);
  stderr = full;
  pthread_t t;
  E2E_CHECK(pthread_create(&t, NULL, hold_malloc_lock, NULL) == 0,
            "pthread_create");
  for (int i = 0; i < 500 && !(g_tid != 0 && blocked_in_write(g_tid)); ++i) {
    usleep(10000);
  }
  E2E_CHECK(blocked_in_write(g_tid), "thread not blocked in malloc_stats");
  e2e_say("prog: a thread holds the malloc lock");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  char buf[4096];
  fcntl(g_pipe[0], F_SETFL, O_NONBLOCK);
  for (int i = 0; i < 500; ++i) {
    ssize_t n = read(g_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EBADF) {
      break; /* restarted: no pipe; the writer got EBADF too */
    }
    void *done = NULL;
    if (pthread_tryjoin_np(t, &done) == 0) {
      e2e_say("PASS");
      return 0;
    }
    usleep(10000);
  }
  E2E_CHECK(pthread_join(t, NULL) == 0, "join");
  e2e_say("PASS");
  return 0;
}
