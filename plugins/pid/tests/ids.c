/* getpid/getppid/gettid, through libc and through syscall(), are the same
 * before and after restart, in a process and in its child; sched_* and
 * getpgid/getsid accept our own (virtual) ids. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "dmtcp.h"
#include "e2e.h"

struct ids {
  pid_t pid, ppid, tid, sys_pid, sys_ppid, sys_tid;
};

static struct ids read_ids(void) {
  struct ids x = {getpid(),
                  getppid(),
                  gettid(),
                  (pid_t)syscall(SYS_getpid),
                  (pid_t)syscall(SYS_getppid),
                  (pid_t)syscall(SYS_gettid)};
  return x;
}

static void check(const char *who, const struct ids *a, const struct ids *b,
                  int with_ppid) {
  E2E_CHECK(a->pid == b->pid && a->tid == b->tid && a->sys_pid == b->sys_pid &&
                a->sys_tid == b->sys_tid && a->pid == a->sys_pid &&
                a->pid == a->tid,
            "%s: pid/tid %d %d %d %d, were %d %d %d %d", who, b->pid, b->tid,
            b->sys_pid, b->sys_tid, a->pid, a->tid, a->sys_pid, a->sys_tid);
  if (with_ppid) {
    E2E_CHECK(a->ppid == b->ppid && b->sys_ppid == b->ppid,
              "%s: ppid %d (syscall %d), was %d", who, b->ppid, b->sys_ppid,
              a->ppid);
  }
  cpu_set_t cpus;
  E2E_CHECK(sched_getaffinity(getpid(), sizeof cpus, &cpus) == 0,
            "%s: sched_getaffinity(getpid()): %s", who, strerror(errno));
  E2E_CHECK(sched_getscheduler(getpid()) >= 0, "%s: sched_getscheduler: %s",
            who, strerror(errno));
  /* The session id may be 0: in a container the session leader can live in
   * an outer pid namespace.  Only a failure is wrong here. */
  errno = 0;
  pid_t pgid = getpgid(getpid()), sid = getsid(getpid());
  E2E_CHECK(pgid >= 0 && sid >= 0 && pgid == getpgrp() && sid == getsid(0),
            "%s: getpgid/getsid(getpid()) = %d/%d (getpgrp %d getsid(0) %d): "
            "%s",
            who, pgid, sid, getpgrp(), getsid(0), strerror(errno));
}

int main(void) {
  struct ids before = read_ids();
  /* The child says when it has read its ids: it has joined the computation
   * by then (fork returns in the child only after that), so the checkpoint
   * after READY takes both processes. */
  int joined[2];
  E2E_CHECK(pipe(joined) == 0, "pipe");
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    struct ids cb = read_ids();
    E2E_CHECK(cb.ppid == before.pid, "child: ppid %d, parent is %d", cb.ppid,
              before.pid);
    E2E_CHECK(write(joined[1], "j", 1) == 1, "child: write");
    close(joined[0]);
    close(joined[1]);
    e2e_wait_for_go(NULL);
    struct ids ca = read_ids();
    check("child", &cb, &ca, 1);
    _exit(0);
  }
  char byte;
  E2E_CHECK(read(joined[0], &byte, 1) == 1, "the child did not start");
  close(joined[0]);
  close(joined[1]);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  struct ids after = read_ids();
  /* Our own parent is outside the computation: not compared. */
  check("parent", &before, &after, 0);
  /* The plugin API translates too.  The kernel's pid: the first field of
   * /proc/self/stat (the plugin translates paths and readlink("/proc/self"),
   * not file contents). */
  if (dmtcp_is_enabled()) {
    char stat_text[64] = {0};
    FILE *f = fopen("/proc/self/stat", "r");
    E2E_CHECK(f != NULL && fgets(stat_text, sizeof stat_text, f) != NULL,
              "/proc/self/stat");
    fclose(f);
    pid_t kernel_pid = (pid_t)atoi(stat_text);
    E2E_CHECK(dmtcp_virtual_to_real_pid(getpid()) == kernel_pid,
              "dmtcp_virtual_to_real_pid(%d) = %d, kernel says %d", getpid(),
              dmtcp_virtual_to_real_pid(getpid()), kernel_pid);
    E2E_CHECK(dmtcp_real_to_virtual_pid(kernel_pid) == getpid(),
              "dmtcp_real_to_virtual_pid(%d) = %d, want %d", kernel_pid,
              dmtcp_real_to_virtual_pid(kernel_pid), getpid());
  }
  int st = 0;
  E2E_CHECK(waitpid(child, &st, 0) == child, "waitpid(%d): %s", child,
            strerror(errno));
  E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed");
  e2e_say("PASS");
  return 0;
}
