/* SysV semaphores across checkpoint and restart.  A parent and a child
 * bump a counter in a shared segment under a semaphore lock (SEM_UNDO)
 * until go, each also counting in its own slot: the total must equal the
 * sum of the slots.  A token semaphore: the parent posts, the child takes,
 * and the value must always equal posted minus taken.  A second child is
 * blocked in semop on a gate during the checkpoint and must go on waiting
 * until the parent opens it after go; another child waits the same way
 * in semtimedop with an hour's timeout: it must neither time out nor wake
 * before go.  A fourth child holds SEM_UNDO adjustments (+5 on one
 * semaphore, -2 on another) and exits after go: the kernel must undo them
 * then, as it would have.  The set's ids, key, mode and values are
 * checked too. */
#define _GNU_SOURCE /* semtimedop */
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>

#include "sysvipc_test.h"

#define KEY_SET 0x5e0001
enum { LOCK, TOKEN, GATE, UNDO_UP, UNDO_DOWN, TIMED_GATE, NSEMS };
#define TIMED_WAIT 3600 /* seconds: the timed waiter's timeout */

struct shared {
  unsigned long total;
  unsigned long slot[2];
  unsigned long posted, taken;
};

static int set_id;
static struct shared *sh;
static int who; /* 0 parent, 1 child */

static int op(int num, int delta, int flags) {
  struct sembuf b = {(unsigned short)num, (short)delta, (short)flags};
  return semop(set_id, &b, 1);
}

static void bump(void) {
  E2E_CHECK(op(LOCK, -1, SEM_UNDO) == 0, "lock: %s", strerror(errno));
  sh->total++;
  sh->slot[who]++;
  if (who == 0 && sh->posted - sh->taken < 1000) {
    E2E_CHECK(op(TOKEN, 1, 0) == 0, "post: %s", strerror(errno));
    sh->posted++;
  } else if (who == 1 && op(TOKEN, -1, IPC_NOWAIT) == 0) {
    sh->taken++;
  }
  int v = semctl(set_id, TOKEN, GETVAL);
  E2E_CHECK(v >= 0 && (unsigned long)v == sh->posted - sh->taken,
            "token value %d, posted %lu - taken %lu", v, sh->posted,
            sh->taken);
  E2E_CHECK(sh->total == sh->slot[0] + sh->slot[1],
            "total %lu != %lu + %lu", sh->total, sh->slot[0], sh->slot[1]);
  E2E_CHECK(op(LOCK, 1, SEM_UNDO) == 0, "unlock: %s", strerror(errno));
}

static void tick(void) {
  for (int i = 0; i < 20; ++i) {
    bump();
  }
}

int main(void) {
  set_id = semget(KEY_SET, NSEMS, IPC_CREAT | IPC_EXCL | 0640);
  E2E_CHECK(set_id >= 0, "semget: %s", strerror(errno));
  unsigned short init[NSEMS] = {1, 0, 0, 0, 7, 0};
  E2E_CHECK(semctl(set_id, 0, SETALL, init) == 0, "SETALL: %s",
            strerror(errno));
  int seg = shmget(IPC_PRIVATE, sizeof(struct shared), IPC_CREAT | 0600);
  E2E_CHECK(seg >= 0, "shmget");
  sh = shmat(seg, NULL, 0);
  E2E_CHECK(sh != (void *)-1, "shmat");
  E2E_CHECK(shmctl(seg, IPC_RMID, NULL) == 0, "IPC_RMID");

  int ready[2], quit[2];
  E2E_CHECK(pipe(ready) == 0 && pipe(quit) == 0, "pipe");
  pid_t bumper = fork();
  if (bumper == 0) {
    who = 1;
    e2e_wait_for_go(tick);
    tick();
    _exit(0);
  }
  pid_t waiter = fork();
  if (waiter == 0) {
    E2E_CHECK(write(ready[1], "w", 1) == 1, "write");
    /* Blocked here through the checkpoint. */
    E2E_CHECK(op(GATE, -1, 0) == 0, "gate: %s", strerror(errno));
    E2E_CHECK(e2e_go_seen(), "the gate opened before go");
    _exit(0);
  }
  pid_t timed = fork();
  if (timed == 0) {
    struct sembuf b = {TIMED_GATE, -1, 0};
    struct timespec t = {TIMED_WAIT, 0};
    E2E_CHECK(write(ready[1], "t", 1) == 1, "write");
    /* Blocked here through the checkpoint, with an hour to wait. */
    E2E_CHECK(semtimedop(set_id, &b, 1, &t) == 0, "timed gate: %s",
              strerror(errno));
    E2E_CHECK(e2e_go_seen(), "the timed gate opened before go");
    _exit(0);
  }
  pid_t undoer = fork();
  if (undoer == 0) {
    E2E_CHECK(op(UNDO_UP, 5, SEM_UNDO) == 0, "up: %s", strerror(errno));
    E2E_CHECK(op(UNDO_DOWN, -2, SEM_UNDO) == 0, "down: %s", strerror(errno));
    E2E_CHECK(write(ready[1], "u", 1) == 1, "write");
    char q;
    E2E_CHECK(read(quit[0], &q, 1) == 1, "read"); /* after go */
    _exit(0); /* the kernel undoes +5 and -2 now */
  }
  char c;
  for (int i = 0; i < 3; ++i) {
    E2E_CHECK(read(ready[0], &c, 1) == 1, "read");
  }
  while (semctl(set_id, GATE, GETNCNT) != 1 ||
         semctl(set_id, TIMED_GATE, GETNCNT) != 1) {
    usleep(1000);
  }
  e2e_say("READY");
  e2e_wait_for_go(tick);

  E2E_CHECK(semget(KEY_SET, 0, 0) == set_id, "semget(KEY_SET) is %d, not %d",
            semget(KEY_SET, 0, 0), set_id);
  struct semid_ds ds;
  union {
    int val;
    struct semid_ds *buf;
  } arg = {.buf = &ds};
  E2E_CHECK(semctl(set_id, 0, IPC_STAT, arg) == 0, "IPC_STAT: %s",
            strerror(errno));
  E2E_CHECK(ds.sem_nsems == NSEMS && (ds.sem_perm.mode & 0777) == 0640 &&
                ds.sem_perm.__key == KEY_SET,
            "IPC_STAT: nsems %lu mode %o key %#x", (unsigned long)ds.sem_nsems,
            ds.sem_perm.mode & 0777, ds.sem_perm.__key);
  E2E_CHECK(semctl(set_id, UNDO_UP, GETVAL) == 5 &&
                semctl(set_id, UNDO_DOWN, GETVAL) == 5,
            "before the undoer's exit: %d and %d, wanted 5 and 5",
            semctl(set_id, UNDO_UP, GETVAL), semctl(set_id, UNDO_DOWN, GETVAL));
  E2E_CHECK(write(quit[1], "q", 1) == 1, "write");
  expect_child_ok(undoer);
  E2E_CHECK(semctl(set_id, UNDO_UP, GETVAL) == 0 &&
                semctl(set_id, UNDO_DOWN, GETVAL) == 7,
            "after the undoer's exit: %d and %d, wanted 0 and 7",
            semctl(set_id, UNDO_UP, GETVAL), semctl(set_id, UNDO_DOWN, GETVAL));
  tick();
  E2E_CHECK(op(GATE, 1, 0) == 0, "open the gate: %s", strerror(errno));
  expect_child_ok(waiter);
  E2E_CHECK(op(TIMED_GATE, 1, 0) == 0, "open the timed gate: %s",
            strerror(errno));
  expect_child_ok(timed);
  expect_child_ok(bumper);
  E2E_CHECK(sh->total == sh->slot[0] + sh->slot[1] && sh->slot[0] > 0 &&
                sh->slot[1] > 0,
            "total %lu, slots %lu %lu", sh->total, sh->slot[0], sh->slot[1]);
  /* Every SEM_UNDO lock was unlocked: the lock is free, once. */
  E2E_CHECK(semctl(set_id, LOCK, GETVAL) == 1, "lock value %d",
            semctl(set_id, LOCK, GETVAL));
  E2E_CHECK(semctl(set_id, 0, IPC_RMID) == 0, "IPC_RMID: %s", strerror(errno));
  e2e_say("PASS");
  return 0;
}
