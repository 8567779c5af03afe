/* /proc/sysvipc/{shm,sem,msg} as the program sees them: after a restart
 * the kernel's ids are new, but the listing shows the ids the program
 * holds (and its own virtual pid as the segment's creator), read with
 * fopen() and with open(). */
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

int main(void) {
  int shm = shmget(KEY_SHM, 4096, IPC_CREAT | IPC_EXCL | 0600);
  int sem = semget(KEY_SEM, 2, IPC_CREAT | IPC_EXCL | 0600);
  int msq = msgget(KEY_MSG, IPC_CREAT | IPC_EXCL | 0600);
  E2E_CHECK(shm >= 0 && sem >= 0 && msq >= 0, "get: %s", strerror(errno));
  check(shm, sem, msq);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  check(shm, sem, msq);
  E2E_CHECK(shmctl(shm, IPC_RMID, NULL) == 0 && semctl(sem, 0, IPC_RMID) == 0 &&
                msgctl(msq, IPC_RMID, NULL) == 0,
            "IPC_RMID: %s", strerror(errno));
  e2e_say("PASS");
  return 0;
}
