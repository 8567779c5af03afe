/* SysV shared memory across checkpoint and restart: a parent and a child
 * share segments made with a key and with IPC_PRIVATE; one is attached
 * read-only in the child and split by mprotect in the parent; one is
 * marked IPC_RMID but still attached; one is attached by nobody; one is
 * attached with SHM_EXEC (executable) in both; one (mode 0600) made
 * executable by mprotect after a plain shmat; a big one of random bytes
 * is attached in both, and its contents must be in the images once (the
 * harness's --max-images-mib: less than twice its size).  After
 * go: the same ids work (shmget by key returns the id the program holds),
 * IPC_STAT reports the same size, mode and key, every byte is as it was,
 * the segments are still shared (each side sees the other's writes), each
 * attachment is at its address with its permissions, and the removed one
 * disappears when the last process detaches it.  Without a restart the
 * segments are the kernel's same objects (the inode in /proc/self/maps is
 * the kernel's id): a checkpoint that resumes re-makes nothing. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "sysvipc_test.h"

#define KEY_A 0x5d0001
#define KEY_D 0x5d0004
#define PAGE 4096
#define SIZE_A (3 * PAGE + 100)
#define SIZE_B (2 * PAGE)
#define SIZE_C (PAGE + 1)
#define SIZE_D (5 * PAGE)
#define SIZE_E (PAGE)
#define SIZE_G (PAGE)
#define SIZE_F (16 << 20) /* CMakeLists.txt: --max-images-mib */

static void expect_stat(int id, size_t size, int mode, key_t key, int dest,
                        const char *what) {
  struct shmid_ds ds;
  E2E_CHECK(shmctl(id, IPC_STAT, &ds) == 0, "%s: IPC_STAT(%d): %s", what, id,
            strerror(errno));
  E2E_CHECK(ds.shm_segsz == size, "%s: size %zu, wanted %zu", what,
            (size_t)ds.shm_segsz, size);
  E2E_CHECK((int)(ds.shm_perm.mode & 0777) == mode, "%s: mode %o, wanted %o",
            what, ds.shm_perm.mode & 0777, mode);
  E2E_CHECK(ds.shm_perm.__key == key, "%s: key %#x, wanted %#x", what,
            ds.shm_perm.__key, key);
  E2E_CHECK(!!(ds.shm_perm.mode & SHM_DEST) == dest,
            "%s: SHM_DEST is %d, wanted %d", what,
            !!(ds.shm_perm.mode & SHM_DEST), dest);
}

static void expect_mapping(const void *addr, const char *perms,
                           const char *what) {
  char p[5] = {0}, path[256];
  E2E_CHECK(maps_line_at(addr, p, path, sizeof path),
            "%s: nothing mapped at %p", what, addr);
  E2E_CHECK(strncmp(p, perms, 4) == 0, "%s: mapped %s at %p, wanted %s", what,
            p, addr, perms);
  E2E_CHECK(strncmp(path, "/SYSV", 5) == 0, "%s: %p maps %s, not a segment",
            what, addr, path);
}

/* The kernel's id of the segment mapped at addr: the inode column of its
 * /proc/self/maps line (-1 if none). */
static long kernel_shmid_at(const void *addr) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  long id = -1;
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    unsigned long start = 0, inode = 0;
    if (sscanf(line, "%lx-%*x %*s %*s %*s %lu", &start, &inode) == 2 &&
        start == (unsigned long)addr) {
      id = (long)inode;
      break;
    }
  }
  if (f != NULL) {
    fclose(f);
  }
  return id;
}

static void read_byte(int fd, char want) {
  char c = 0;
  E2E_CHECK(read(fd, &c, 1) == 1 && c == want, "handshake: got %c want %c",
            c, want);
}

int main(void) {
  int a = shmget(KEY_A, SIZE_A, IPC_CREAT | IPC_EXCL | 0640);
  int b = shmget(IPC_PRIVATE, SIZE_B, IPC_CREAT | 0600);
  int c = shmget(IPC_PRIVATE, SIZE_C, IPC_CREAT | 0600);
  int d = shmget(KEY_D, SIZE_D, IPC_CREAT | IPC_EXCL | 0604);
  /* SHM_EXEC needs execute permission on the segment. */
  int e = shmget(IPC_PRIVATE, SIZE_E, IPC_CREAT | 0700);
  int f = shmget(IPC_PRIVATE, SIZE_F, IPC_CREAT | 0600);
  int g = shmget(IPC_PRIVATE, SIZE_G, IPC_CREAT | 0600);
  E2E_CHECK(a >= 0 && b >= 0 && c >= 0 && d >= 0 && e >= 0 && f >= 0 &&
                g >= 0,
            "shmget: %s", strerror(errno));
  unsigned char *pa = shmat(a, NULL, 0);
  unsigned char *pb = shmat(b, NULL, 0);
  unsigned char *pc = shmat(c, NULL, 0);
  unsigned char *pd = shmat(d, NULL, 0);
  unsigned char *pe = shmat(e, NULL, SHM_EXEC);
  unsigned char *pf = shmat(f, NULL, 0);
  unsigned char *pg = shmat(g, NULL, 0);
  E2E_CHECK(pa != (void *)-1 && pb != (void *)-1 && pc != (void *)-1 &&
                pd != (void *)-1 && pe != (void *)-1 && pf != (void *)-1 &&
                pg != (void *)-1,
            "shmat: %s", strerror(errno));
  fill_pattern(pa, SIZE_A, 1);
  fill_pattern(pb, SIZE_B, 2);
  fill_pattern(pc, SIZE_C, 3);
  fill_pattern(pd, SIZE_D, 4);
  fill_pattern(pe, SIZE_E, 5);
  fill_pattern(pf, SIZE_F, 6);
  fill_pattern(pg, SIZE_G, 7);
  /* Executable without SHM_EXEC (and without x in the segment's mode). */
  E2E_CHECK(mprotect(pg, SIZE_G, PROT_READ | PROT_WRITE | PROT_EXEC) == 0,
            "mprotect G: %s", strerror(errno));
  E2E_CHECK(shmdt(pd) == 0, "shmdt: %s", strerror(errno));
  E2E_CHECK(shmctl(c, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
  /* The parent's attachment of A: its second page read-only. */
  E2E_CHECK(mprotect(pa + PAGE, PAGE, PROT_READ) == 0, "mprotect");

  int to_child[2], to_parent[2];
  E2E_CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0, "pipe");
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    /* The child: B read-only at an address of its own. */
    E2E_CHECK(shmdt(pb) == 0, "child shmdt");
    unsigned char *rb = shmat(b, NULL, SHM_RDONLY);
    E2E_CHECK(rb != (void *)-1, "child shmat ro: %s", strerror(errno));
    E2E_CHECK(write(to_parent[1], "r", 1) == 1, "write");
    e2e_wait_for_go(NULL);
    expect_mapping(rb, "r--s", "child B");
    expect_mapping(pe, "rwxs", "child E");
    long bad = check_pattern(rb, SIZE_B, 2);
    E2E_CHECK(bad < 0, "child B: byte %ld differs", bad);
    bad = check_pattern(pc, SIZE_C, 3);
    E2E_CHECK(bad < 0, "child C: byte %ld differs", bad);
    bad = check_pattern(pf, SIZE_F, 6);
    E2E_CHECK(bad < 0, "child F: byte %ld differs", bad);
    /* The parent changed A's last page; we change its first. */
    read_byte(to_child[0], 'w');
    E2E_CHECK(pa[3 * PAGE] == 0xAB, "child: parent's write not seen");
    pa[0] = 0xCD;
    E2E_CHECK(shmdt(pc) == 0, "child shmdt C");
    E2E_CHECK(write(to_parent[1], "d", 1) == 1, "write");
    _exit(0);
  }
  read_byte(to_parent[0], 'r');
  /* The kernel counts mappings (a split attachment counts once per
   * piece): the same number after restart. */
  struct shmid_ds ds;
  E2E_CHECK(shmctl(a, IPC_STAT, &ds) == 0, "IPC_STAT: %s", strerror(errno));
  unsigned long nattch_a = ds.shm_nattch;
  long kernel_a = kernel_shmid_at(pa), kernel_f = kernel_shmid_at(pf);
  E2E_CHECK(kernel_a >= 0 && kernel_f >= 0, "no inode for A or F");
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  const char *mode = getenv("DMTCP_TEST_MODE");
  if (mode == NULL || strncmp(mode, "restart", 7) != 0) {
    E2E_CHECK(kernel_shmid_at(pa) == kernel_a && kernel_shmid_at(pf) == kernel_f,
              "not restarted, but the kernel's segments are new: A %ld -> %ld, "
              "F %ld -> %ld",
              kernel_a, kernel_shmid_at(pa), kernel_f, kernel_shmid_at(pf));
  }

  E2E_CHECK(shmget(KEY_A, 0, 0) == a, "shmget(KEY_A) is %d, not %d",
            shmget(KEY_A, 0, 0), a);
  E2E_CHECK(shmget(KEY_D, 0, 0) == d, "shmget(KEY_D) is %d, not %d",
            shmget(KEY_D, 0, 0), d);
  expect_stat(a, SIZE_A, 0640, KEY_A, 0, "A");
  expect_stat(b, SIZE_B, 0600, IPC_PRIVATE, 0, "B");
  expect_stat(c, SIZE_C, 0600, IPC_PRIVATE, 1, "C");
  expect_stat(d, SIZE_D, 0604, KEY_D, 0, "D");
  expect_mapping(pa, "rw-s", "A page 0");
  expect_mapping(pa + PAGE, "r--s", "A page 1");
  expect_mapping(pa + 2 * PAGE, "rw-s", "A page 2");
  expect_mapping(pb, "rw-s", "B");
  expect_mapping(pc, "rw-s", "C");
  expect_mapping(pe, "rwxs", "E");
  expect_mapping(pg, "rwxs", "G");
  long bad = check_pattern(pa, SIZE_A, 1);
  E2E_CHECK(bad < 0, "A: byte %ld differs", bad);
  bad = check_pattern(pb, SIZE_B, 2);
  E2E_CHECK(bad < 0, "B: byte %ld differs", bad);
  bad = check_pattern(pc, SIZE_C, 3);
  E2E_CHECK(bad < 0, "C: byte %ld differs", bad);
  bad = check_pattern(pe, SIZE_E, 5);
  E2E_CHECK(bad < 0, "E: byte %ld differs", bad);
  bad = check_pattern(pf, SIZE_F, 6);
  E2E_CHECK(bad < 0, "F: byte %ld differs", bad);
  bad = check_pattern(pg, SIZE_G, 7);
  E2E_CHECK(bad < 0, "G: byte %ld differs", bad);
  expect_stat(e, SIZE_E, 0700, IPC_PRIVATE, 0, "E");
  unsigned char *pd2 = shmat(d, NULL, SHM_RDONLY);
  E2E_CHECK(pd2 != (void *)-1, "shmat D: %s", strerror(errno));
  bad = check_pattern(pd2, SIZE_D, 4);
  E2E_CHECK(bad < 0, "D: byte %ld differs", bad);
  E2E_CHECK(shmctl(a, IPC_STAT, &ds) == 0 && ds.shm_nattch == nattch_a,
            "A: nattch %lu, wanted %lu", (unsigned long)ds.shm_nattch,
            nattch_a);

  /* Still shared both ways. */
  pa[3 * PAGE] = 0xAB;
  E2E_CHECK(write(to_child[1], "w", 1) == 1, "write");
  read_byte(to_parent[0], 'd');
  E2E_CHECK(pa[0] == 0xCD, "parent: child's write not seen");
  expect_child_ok(child);

  /* The last detach of C removes it. */
  E2E_CHECK(shmdt(pc) == 0, "shmdt C: %s", strerror(errno));
  E2E_CHECK(shmctl(c, IPC_STAT, &ds) == -1 &&
                (errno == EINVAL || errno == EIDRM),
            "C still exists after its last detach");
  E2E_CHECK(shmdt(pa) == 0 && shmdt(pb) == 0 && shmdt(pd2) == 0 &&
                shmdt(pe) == 0 && shmdt(pf) == 0 &&
                shmdt(pg) == 0,
            "shmdt");
  E2E_CHECK(shmctl(a, IPC_RMID, NULL) == 0 && shmctl(b, IPC_RMID, NULL) == 0 &&
                shmctl(d, IPC_RMID, NULL) == 0 && shmctl(e, IPC_RMID, NULL) == 0 &&
                shmctl(f, IPC_RMID, NULL) == 0 && shmctl(g, IPC_RMID, NULL) == 0,
            "IPC_RMID: %s", strerror(errno));
  e2e_say("PASS");
  return 0;
}
