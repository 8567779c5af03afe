/* Cross-memory attach by virtual pid: a parent reads its child's memory
 * with process_vm_readv and writes into it with process_vm_writev (and
 * the same through syscall()), before the checkpoint and after it.  After
 * a restart the child's real pid is another one: without translation the
 * calls fail (ESRCH) or reach some other process.  The child waits for a
 * flag the parent writes into its memory, then checks what the parent
 * wrote and exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "e2e.h"

#define LEN 65536

static unsigned char g_data[LEN];
static unsigned char g_written[LEN];
static volatile uint32_t g_flag;

static void fill(unsigned char* p, unsigned seed) {
  for (size_t i = 0; i < LEN; ++i) {
    p[i] = (unsigned char)(i * 31 + seed);
  }
}

static void read_child(pid_t child, int use_syscall, const char* when) {
  static unsigned char got[LEN];
  memset(got, 0, LEN);
  struct iovec local = {got, LEN}, remote = {g_data, LEN};
  ssize_t n = use_syscall ? syscall(SYS_process_vm_readv, child, &local, 1UL,
                                    &remote, 1UL, 0UL)
                          : process_vm_readv(child, &local, 1, &remote, 1, 0);
  E2E_CHECK(n == LEN, "%s: process_vm_readv%s(%d): %zd: %s", when,
            use_syscall ? " via syscall" : "", (int)child, n, strerror(errno));
  static unsigned char want[LEN];
  fill(want, 7);
  E2E_CHECK(memcmp(got, want, LEN) == 0, "%s: the child's bytes differ", when);
}

static void write_child(pid_t child, const void* what, void* where, size_t len,
                        int use_syscall) {
  struct iovec local = {(void*)what, len}, remote = {where, len};
  ssize_t n = use_syscall ? syscall(SYS_process_vm_writev, child, &local, 1UL,
                                    &remote, 1UL, 0UL)
                          : process_vm_writev(child, &local, 1, &remote, 1, 0);
  E2E_CHECK(n == (ssize_t)len, "process_vm_writev%s(%d): %zd: %s",
            use_syscall ? " via syscall" : "", (int)child, n, strerror(errno));
}

int main(void) {
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    fill(g_data, 7);
    g_flag = 1; /* ready: the parent polls it through CMA */
    while (g_flag != 2) {
      usleep(1000);
    }
    static unsigned char want[LEN];
    fill(want, 11);
    _exit(memcmp(g_written, want, LEN) == 0 ? 0 : 3);
  }
  for (;;) {
    uint32_t flag = 0;
    struct iovec local = {&flag, sizeof flag};
    struct iovec remote = {(void*)&g_flag, sizeof flag};
    E2E_CHECK(process_vm_readv(child, &local, 1, &remote, 1, 0) ==
                  (ssize_t)sizeof flag,
              "process_vm_readv(flag): %s", strerror(errno));
    if (flag == 1) {
      break;
    }
    usleep(1000);
  }
  read_child(child, 0, "before");
  read_child(child, 1, "before");

  e2e_say("READY");
  e2e_wait_for_go(NULL);

  read_child(child, 0, "after");
  read_child(child, 1, "after");
  static unsigned char data[LEN];
  fill(data, 11);
  write_child(child, data, g_written, LEN / 2, 0);
  write_child(child, data + LEN / 2, g_written + LEN / 2, LEN / 2, 1);
  uint32_t two = 2;
  write_child(child, &two, (void*)&g_flag, sizeof two, 0);
  int st = 0;
  E2E_CHECK(
      waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
      "the child saw wrong bytes (status %d)", st);
  e2e_say("PASS");
  return 0;
}
