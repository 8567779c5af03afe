/* Objects made after a restart under kernel ids that another process of
 * the computation holds for another object.  After a reboot the kernel
 * hands out ids from the start again (the harness restarts in a new IPC
 * namespace), so the ids of objects made after the restart are the old
 * ones.  The parent makes a segment, a semaphore set and a queue (each
 * the second of its kind: id 1; the first, id 0, is removed) with
 * contents of its own; its child, forked before, knows none of them.
 * Between the restarts (restart2 mode; after the only restart in restart
 * mode) the child makes one of each: the re-made objects took id 0, so
 * the child's get id 1 from the kernel, the ids the parent holds.  After
 * the next checkpoint and restart each process must still find its own
 * objects with their own contents: nothing saved for one in place of the
 * other, nobody given the other's object. */
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "sysvipc_test.h"

#define SIZE_B (3 * 4096)
#define SIZE_Y (2 * 4096)
#define NSEMS_B 1
#define NSEMS_Y 2

struct text_msg {
  long mtype;
  char text[16];
};

struct ids {
  int shm, sem, msq;
};

static int go1_seen(void) {
  const char *go1 = getenv("DMTCP_TEST_GO1");
  return go1 != NULL && access(go1, F_OK) == 0;
}

static void check_objects(const struct ids *o, const unsigned char *p,
                          size_t size, int nsems, int seed, int value,
                          const char *text, const char *who) {
  struct shmid_ds ds;
  E2E_CHECK(shmctl(o->shm, IPC_STAT, &ds) == 0 && ds.shm_segsz == size,
            "%s: segment %d: size %zu, wanted %zu (%s)", who, o->shm,
            (size_t)ds.shm_segsz, size, strerror(errno));
  long bad = check_pattern(p, size, (unsigned long long)seed);
  E2E_CHECK(bad < 0, "%s: segment %d: byte %ld differs", who, o->shm, bad);
  struct semid_ds sds;
  union {
    struct semid_ds *buf;
  } arg = {.buf = &sds};
  E2E_CHECK(semctl(o->sem, 0, IPC_STAT, arg) == 0 &&
                (int)sds.sem_nsems == nsems,
            "%s: semaphore set %d: %lu semaphores, wanted %d (%s)", who,
            o->sem, (unsigned long)sds.sem_nsems, nsems, strerror(errno));
  E2E_CHECK(semctl(o->sem, 0, GETVAL) == value,
            "%s: semaphore set %d: value %d, wanted %d", who, o->sem,
            semctl(o->sem, 0, GETVAL), value);
  struct text_msg m;
  ssize_t n = msgrcv(o->msq, &m, sizeof m.text, 0, IPC_NOWAIT);
  E2E_CHECK(n > 0 && strcmp(m.text, text) == 0,
            "%s: queue %d: got %zd '%s', wanted '%s' (%s)", who, o->msq, n,
            n > 0 ? m.text : "", text, strerror(errno));
  E2E_CHECK(msgrcv(o->msq, &m, sizeof m.text, 0, IPC_NOWAIT) == -1,
            "%s: queue %d: a message too many", who, o->msq);
}

static void make_objects(struct ids *o, unsigned char **p, size_t size,
                         int nsems, int seed, int value, const char *text) {
  o->shm = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
  o->sem = semget(IPC_PRIVATE, nsems, IPC_CREAT | 0600);
  o->msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  E2E_CHECK(o->shm >= 0 && o->sem >= 0 && o->msq >= 0, "get: %s",
            strerror(errno));
  *p = shmat(o->shm, NULL, 0);
  E2E_CHECK(*p != (void *)-1, "shmat: %s", strerror(errno));
  fill_pattern(*p, size, (unsigned long long)seed);
  E2E_CHECK(semctl(o->sem, 0, SETVAL, value) == 0, "SETVAL: %s",
            strerror(errno));
  struct text_msg m = {1, {0}};
  snprintf(m.text, sizeof m.text, "%s", text);
  E2E_CHECK(msgsnd(o->msq, &m, sizeof m.text, 0) == 0, "msgsnd: %s",
            strerror(errno));
}

static void child_main(int cmd, int ans) {
  struct ids y = {-1, -1, -1};
  unsigned char *py = NULL;
  char c;
  while (read(cmd, &c, 1) == 1) {
    if (c == 'm') {
      make_objects(&y, &py, SIZE_Y, NSEMS_Y, 2, 5, "the child's");
      E2E_CHECK(write(ans, &y, sizeof y) == sizeof y, "write");
    } else if (c == 'c') {
      check_objects(&y, py, SIZE_Y, NSEMS_Y, 2, 5, "the child's", "child");
      E2E_CHECK(write(ans, "k", 1) == 1, "write");
    } else {
      break;
    }
  }
  _exit(0);
}

int main(void) {
  int cmd[2], ans[2];
  E2E_CHECK(pipe(cmd) == 0 && pipe(ans) == 0, "pipe");
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    child_main(cmd[0], ans[1]);
  }
  /* The first of each kind (id 0) only makes the second take id 1. */
  int first_shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  int first_sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  int first_msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  E2E_CHECK(first_shm >= 0 && first_sem >= 0 && first_msq >= 0, "get: %s",
            strerror(errno));
  struct ids b;
  unsigned char *pb = NULL;
  make_objects(&b, &pb, SIZE_B, NSEMS_B, 1, 3, "the parent's");
  E2E_CHECK(shmctl(first_shm, IPC_RMID, NULL) == 0 &&
                semctl(first_sem, 0, IPC_RMID) == 0 &&
                msgctl(first_msq, IPC_RMID, NULL) == 0,
            "IPC_RMID: %s", strerror(errno));
  e2e_say("READY");
  while (!go1_seen() && !e2e_go_seen()) {
    usleep(10000);
  }

  /* Between the restarts (or after the only one, or without any). */
  struct ids y;
  E2E_CHECK(write(cmd[1], "m", 1) == 1, "write");
  E2E_CHECK(read(ans[0], &y, sizeof y) == sizeof y, "read");
  const char *mode = getenv("DMTCP_TEST_MODE");
  if (mode != NULL && strncmp(mode, "restart", 7) == 0) {
    /* Else this test shows nothing. */
    E2E_CHECK(y.shm == b.shm && y.sem == b.sem && y.msq == b.msq,
              "the child's new objects have ids %d %d %d, not the parent's "
              "%d %d %d: the restart did not start the kernel's ids over",
              y.shm, y.sem, y.msq, b.shm, b.sem, b.msq);
  }
  e2e_say("READY2");
  e2e_wait_for_go(NULL);

  check_objects(&b, pb, SIZE_B, NSEMS_B, 1, 3, "the parent's", "parent");
  char c;
  E2E_CHECK(write(cmd[1], "c", 1) == 1, "write");
  E2E_CHECK(read(ans[0], &c, 1) == 1 && c == 'k', "the child's check");
  E2E_CHECK(write(cmd[1], "q", 1) == 1, "write");
  expect_child_ok(child);
  e2e_say("PASS");
  return 0;
}
