/* One process of a computation on two simulated hosts (hosts.py starts
 * two, each in an IPC namespace of its own, and restarts each image in a
 * new one): a segment, a semaphore set and a queue with contents of its
 * own (argv[1] picks them).  The kernel of each host gives the same ids to
 * both processes' objects; after the restart each process must find its
 * own objects, not the other host's, and not nothing.
 * "hosts SEED split": the process forks a child that shares its segment,
 * and hosts.py restarts the two images on two hosts: the segment can be
 * on one only.  After go each says SEGMENT HERE (its contents intact) or
 * SEGMENT GONE (calls on the id fail with EINVAL, no stranger's object).
 */
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "sysvipc_test.h"

struct text_msg {
  long mtype;
  char text[32];
};

static void split(int seed) {
  size_t size = 4096 * (size_t)seed;
  int shm = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
  E2E_CHECK(shm >= 0, "shmget: %s", strerror(errno));
  unsigned char *p = shmat(shm, NULL, 0);
  E2E_CHECK(p != (void *)-1, "shmat: %s", strerror(errno));
  fill_pattern(p, size, (unsigned long long)seed);
  int ready[2];
  E2E_CHECK(pipe(ready) == 0, "pipe");
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    E2E_CHECK(write(ready[1], "r", 1) == 1, "write");
  } else {
    char c;
    E2E_CHECK(read(ready[0], &c, 1) == 1, "read");
    e2e_say("READY");
  }
  close(ready[0]);
  close(ready[1]);
  e2e_wait_for_go(NULL);
  struct shmid_ds ds;
  if (shmctl(shm, IPC_STAT, &ds) == 0) {
    E2E_CHECK(ds.shm_segsz == size, "segment %d: size %zu, wanted %zu", shm,
              (size_t)ds.shm_segsz, size);
    long bad = check_pattern(p, size, (unsigned long long)seed);
    E2E_CHECK(bad < 0, "segment %d: byte %ld differs", shm, bad);
    printf("SEGMENT HERE\n");
  } else {
    E2E_CHECK(errno == EINVAL, "segment %d: %s, wanted EINVAL", shm,
              strerror(errno));
    printf("SEGMENT GONE\n");
  }
  e2e_say("PASS");
  exit(0);
}

int main(int argc, char **argv) {
  E2E_CHECK(argc == 2 || argc == 3, "usage: %s SEED [split]", argv[0]);
  int seed = atoi(argv[1]);
  if (argc == 3) {
    split(seed);
  }
  size_t size = 4096 * (size_t)seed;
  int shm = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
  int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  E2E_CHECK(shm >= 0 && sem >= 0 && msq >= 0, "get: %s", strerror(errno));
  unsigned char *p = shmat(shm, NULL, 0);
  E2E_CHECK(p != (void *)-1, "shmat: %s", strerror(errno));
  fill_pattern(p, size, (unsigned long long)seed);
  E2E_CHECK(semctl(sem, 0, SETVAL, seed) == 0, "SETVAL: %s", strerror(errno));
  struct text_msg m = {1, {0}};
  snprintf(m.text, sizeof m.text, "host %d", seed);
  E2E_CHECK(msgsnd(msq, &m, sizeof m.text, 0) == 0, "msgsnd: %s",
            strerror(errno));
  printf("IDS %d %d %d\n", shm, sem, msq);
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  struct shmid_ds ds;
  E2E_CHECK(shmctl(shm, IPC_STAT, &ds) == 0 && ds.shm_segsz == size,
            "segment %d: size %zu, wanted %zu (%s)", shm, (size_t)ds.shm_segsz,
            size, strerror(errno));
  long bad = check_pattern(p, size, (unsigned long long)seed);
  E2E_CHECK(bad < 0, "segment %d: byte %ld differs", shm, bad);
  E2E_CHECK(semctl(sem, 0, GETVAL) == seed, "set %d: value %d, wanted %d",
            sem, semctl(sem, 0, GETVAL), seed);
  char want[32];
  snprintf(want, sizeof want, "host %d", seed);
  ssize_t n = msgrcv(msq, &m, sizeof m.text, 0, IPC_NOWAIT);
  E2E_CHECK(n > 0 && strcmp(m.text, want) == 0,
            "queue %d: got %zd '%s', wanted '%s' (%s)", msq, n,
            n > 0 ? m.text : "", want, strerror(errno));
  e2e_say("PASS");
  return 0;
}
