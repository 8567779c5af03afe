/* Ids across exec: after go (so after a restart, when the kernel's ids are
 * new), a forked child and then the process itself exec this program
 * with the ids on the command line; the new image must reach the same
 * segment, semaphore set and queue through them (the plugin carries its
 * tables across exec).  argv[0] is absolute (the harness runs it so):
 * after a restart /proc/self/exe names dmtcp_restart. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "sysvipc_test.h"

#define SIZE 10000

struct text_msg {
  long mtype;
  char text[32];
};

static int check(int shm, int sem, int msq, const char *who) {
  unsigned char *p = shmat(shm, NULL, SHM_RDONLY);
  E2E_CHECK(p != (void *)-1, "%s: shmat(%d): %s", who, shm, strerror(errno));
  long bad = check_pattern(p, SIZE, 42);
  E2E_CHECK(bad < 0, "%s: byte %ld differs", who, bad);
  struct sembuf down = {0, -1, IPC_NOWAIT};
  E2E_CHECK(semop(sem, &down, 1) == 0, "%s: semop(%d): %s", who, sem,
            strerror(errno));
  struct text_msg m;
  ssize_t n = msgrcv(msq, &m, sizeof m.text, 0, IPC_NOWAIT);
  E2E_CHECK(n > 0 && strcmp(m.text, "for an exec") == 0,
            "%s: msgrcv(%d): %zd %s", who, msq, n, strerror(errno));
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5) {
    check(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[1]);
    if (strcmp(argv[1], "self") == 0) {
      e2e_say("PASS");
    }
    return 0;
  }
  int shm = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0600);
  int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  E2E_CHECK(shm >= 0 && sem >= 0 && msq >= 0, "get: %s", strerror(errno));
  unsigned char *p = shmat(shm, NULL, 0);
  E2E_CHECK(p != (void *)-1, "shmat");
  fill_pattern(p, SIZE, 42);
  E2E_CHECK(shmdt(p) == 0, "shmdt");
  E2E_CHECK(semctl(sem, 0, SETVAL, 2) == 0, "SETVAL");
  struct text_msg m = {1, "for an exec"};
  for (int i = 0; i < 2; ++i) {
    E2E_CHECK(msgsnd(msq, &m, sizeof m.text, 0) == 0, "msgsnd");
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  char a[3][16];
  snprintf(a[0], sizeof a[0], "%d", shm);
  snprintf(a[1], sizeof a[1], "%d", sem);
  snprintf(a[2], sizeof a[2], "%d", msq);
  pid_t child = fork();
  if (child == 0) {
    execl(argv[0], argv[0], "child", a[0], a[1], a[2], (char *)NULL);
    e2e_fail("exec: %s", strerror(errno));
  }
  expect_child_ok(child);
  execl(argv[0], argv[0], "self", a[0], a[1], a[2], (char *)NULL);
  e2e_fail("exec: %s", strerror(errno));
}
