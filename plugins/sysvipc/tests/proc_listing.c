/* /proc/sysvipc/{shm,sem,msg} and the *ctl calls that list or describe
 * objects, as the program sees them: after a restart the kernel's ids are
 * new, but the listing shows the ids the program holds (and its own
 * virtual pid as the segment's creator), read with fopen() and with
 * open(); walking the kernel's table with SHM_STAT/SEM_STAT/MSG_STAT up to
 * the highest index IPC_INFO reports finds each object under the id the
 * program holds; IPC_STAT and IPC_SET work through those ids. */
#define _GNU_SOURCE /* SHM_STAT, SEM_STAT, MSG_STAT, struct *info */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "sysvipc_test.h"

#define KEY_SHM 0x600001
#define KEY_SEM 0x600002
#define KEY_MSG 0x600003

/* Finds the line whose key column is `key`; returns its id column (and
 * the fifth column, shm's cpid, in *col5).  -1 if none. */
static int find_key(const char *text, key_t key, long *col5) {
  const char *line = strchr(text, '\n'); /* past the header */
  while (line != NULL && *++line != '\0') {
    long k = 0, id = 0, c2 = 0, c3 = 0, c4 = 0;
    int n = sscanf(line, "%ld %ld %ld %ld %ld", &k, &id, &c2, &c3, &c4);
    if (n >= 2 && k == key) {
      if (col5 != NULL) {
        *col5 = n == 5 ? c4 : -1;
      }
      return (int)id;
    }
    line = strchr(line, '\n');
  }
  return -1;
}

static void read_fopen(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  E2E_CHECK(f != NULL, "fopen %s: %s", path, strerror(errno));
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
}

static void read_open(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY);
  E2E_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
  size_t got = 0;
  ssize_t n;
  while (got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0) {
    got += (size_t)n;
  }
  buf[got] = '\0';
  close(fd);
}

static char buf[1 << 16];

static void check(int shm, int sem, int msq) {
  long cpid = 0;
  read_fopen("/proc/sysvipc/shm", buf, sizeof buf);
  int id = find_key(buf, KEY_SHM, &cpid);
  E2E_CHECK(id == shm, "/proc/sysvipc/shm (fopen) shows id %d, not %d", id,
            shm);
  E2E_CHECK(cpid == getpid(), "/proc/sysvipc/shm shows cpid %ld, not %d",
            cpid, getpid());
  read_open("/proc/sysvipc/shm", buf, sizeof buf);
  id = find_key(buf, KEY_SHM, NULL);
  E2E_CHECK(id == shm, "/proc/sysvipc/shm (open) shows id %d, not %d", id,
            shm);
  read_fopen("/proc/sysvipc/sem", buf, sizeof buf);
  id = find_key(buf, KEY_SEM, NULL);
  E2E_CHECK(id == sem, "/proc/sysvipc/sem shows id %d, not %d", id, sem);
  read_open("/proc/sysvipc/msg", buf, sizeof buf);
  id = find_key(buf, KEY_MSG, NULL);
  E2E_CHECK(id == msq, "/proc/sysvipc/msg shows id %d, not %d", id, msq);
}

/* Walks 0..max index (IPC_INFO's answer) with *_STAT: the id returned
 * for the object with `key`, or -1. */
static int shm_stat_find(key_t key) {
  struct shminfo info;
  int max = shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
  E2E_CHECK(max >= 0, "shmctl IPC_INFO: %s", strerror(errno));
  struct shm_info used;
  E2E_CHECK(shmctl(0, SHM_INFO, (struct shmid_ds *)&used) == max,
            "shmctl SHM_INFO does not agree with IPC_INFO: %s",
            strerror(errno));
  for (int i = 0; i <= max; ++i) {
    struct shmid_ds ds;
    int id = shmctl(i, SHM_STAT, &ds);
    if (id >= 0 && ds.shm_perm.__key == key) {
      E2E_CHECK(ds.shm_cpid == getpid(), "SHM_STAT: cpid %d, not %d",
                (int)ds.shm_cpid, getpid());
      return id;
    }
  }
  return -1;
}

static int sem_stat_find(key_t key) {
  struct seminfo info;
  union {
    struct semid_ds *buf;
    struct seminfo *info;
  } arg = {.info = &info};
  int max = semctl(0, 0, IPC_INFO, arg);
  E2E_CHECK(max >= 0, "semctl IPC_INFO: %s", strerror(errno));
  for (int i = 0; i <= max; ++i) {
    struct semid_ds ds;
    arg.buf = &ds;
    int id = semctl(i, 0, SEM_STAT, arg);
    if (id >= 0 && ds.sem_perm.__key == key) {
      return id;
    }
  }
  return -1;
}

static int msg_stat_find(key_t key) {
  struct msginfo info;
  int max = msgctl(0, IPC_INFO, (struct msqid_ds *)&info);
  E2E_CHECK(max >= 0, "msgctl IPC_INFO: %s", strerror(errno));
  for (int i = 0; i <= max; ++i) {
    struct msqid_ds ds;
    int id = msgctl(i, MSG_STAT, &ds);
    if (id >= 0 && ds.msg_perm.__key == key) {
      return id;
    }
  }
  return -1;
}

static void check_stat(int shm, int sem, int msq) {
  int id = shm_stat_find(KEY_SHM);
  E2E_CHECK(id == shm, "SHM_STAT finds id %d, not %d", id, shm);
  id = sem_stat_find(KEY_SEM);
  E2E_CHECK(id == sem, "SEM_STAT finds id %d, not %d", id, sem);
  id = msg_stat_find(KEY_MSG);
  E2E_CHECK(id == msq, "MSG_STAT finds id %d, not %d", id, msq);
}

/* IPC_SET through the program's ids: a new mode, read back. */
static void check_set(int shm, int sem, int msq, unsigned mode) {
  struct shmid_ds sds;
  E2E_CHECK(shmctl(shm, IPC_STAT, &sds) == 0, "shm IPC_STAT: %s",
            strerror(errno));
  sds.shm_perm.mode = (unsigned short)mode;
  E2E_CHECK(shmctl(shm, IPC_SET, &sds) == 0, "shm IPC_SET: %s",
            strerror(errno));
  E2E_CHECK(
      shmctl(shm, IPC_STAT, &sds) == 0 && (sds.shm_perm.mode & 0777) == mode,
      "shm mode %o after IPC_SET, wanted %o", sds.shm_perm.mode & 0777, mode);
  struct semid_ds ds;
  union {
    struct semid_ds *buf;
  } arg = {.buf = &ds};
  E2E_CHECK(semctl(sem, 0, IPC_STAT, arg) == 0, "sem IPC_STAT: %s",
            strerror(errno));
  ds.sem_perm.mode = (unsigned short)mode;
  E2E_CHECK(semctl(sem, 0, IPC_SET, arg) == 0, "sem IPC_SET: %s",
            strerror(errno));
  E2E_CHECK(
      semctl(sem, 0, IPC_STAT, arg) == 0 && (ds.sem_perm.mode & 0777) == mode,
      "sem mode %o after IPC_SET, wanted %o", ds.sem_perm.mode & 0777, mode);
  struct msqid_ds mds;
  E2E_CHECK(msgctl(msq, IPC_STAT, &mds) == 0, "msg IPC_STAT: %s",
            strerror(errno));
  mds.msg_perm.mode = (unsigned short)mode;
  E2E_CHECK(msgctl(msq, IPC_SET, &mds) == 0, "msg IPC_SET: %s",
            strerror(errno));
  E2E_CHECK(
      msgctl(msq, IPC_STAT, &mds) == 0 && (mds.msg_perm.mode & 0777) == mode,
      "msg mode %o after IPC_SET, wanted %o", mds.msg_perm.mode & 0777, mode);
}

int main(void) {
  int shm = shmget(KEY_SHM, 4096, IPC_CREAT | IPC_EXCL | 0600);
  int sem = semget(KEY_SEM, 2, IPC_CREAT | IPC_EXCL | 0600);
  int msq = msgget(KEY_MSG, IPC_CREAT | IPC_EXCL | 0600);
  E2E_CHECK(shm >= 0 && sem >= 0 && msq >= 0, "get: %s", strerror(errno));
  check(shm, sem, msq);
  check_stat(shm, sem, msq);
  check_set(shm, sem, msq, 0640);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  check(shm, sem, msq);
  check_stat(shm, sem, msq);
  check_set(shm, sem, msq, 0604);
  E2E_CHECK(shmctl(shm, IPC_RMID, NULL) == 0 && semctl(sem, 0, IPC_RMID) == 0 &&
                msgctl(msq, IPC_RMID, NULL) == 0,
            "IPC_RMID: %s", strerror(errno));
  e2e_say("PASS");
  return 0;
}
