/* A named file in /dev/shm (tmpfs) mapped shared by a parent and its
 * child, as MPI libraries keep their shared segments: after a restart the
 * mapping holds what it held at the checkpoint, consistent with the rest
 * of memory, and is still shared between the two processes.  The parent
 * keeps counting in private memory and in the mapping (private first)
 * until the go file, so the program runs on after the checkpoint: the
 * file's bytes by the time of the kill are later than the checkpoint's. */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "file_test.h"

#define LEN (4 * 4096)

struct Shared {
  volatile uint64_t counter;
  volatile uint32_t child_go;
  unsigned char pattern[3 * 4096];
};

static volatile uint64_t g_private;
static char g_path[128];

static void remove_file(void) {
  unlink(g_path);
}

int main(void) {
  char* path = g_path;
  snprintf(g_path, sizeof g_path, "/dev/shm/dmtcp-e2e-shm-%d", (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == ENOENT) {
    printf("SKIP: no /dev/shm\n");
    return 77;
  }
  E2E_CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
  atexit(remove_file); /* also when a check fails (the child _exits) */
  E2E_CHECK(ftruncate(fd, LEN) == 0, "ftruncate: %s", strerror(errno));
  struct Shared* s = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  E2E_CHECK(s != MAP_FAILED, "mmap: %s", strerror(errno));
  close(fd);
  fill_pattern(s->pattern, sizeof s->pattern, 9);
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    while (s->child_go == 0) {
      usleep(1000);
    }
    unsigned char want[sizeof s->pattern];
    fill_pattern(want, sizeof want, 9);
    s->pattern[0] ^= 0xff; /* the parent must see this */
    _exit(s->child_go == 42 &&
                  memcmp(want + 1, s->pattern + 1, sizeof want - 1) == 0
              ? 0
              : 3);
  }
  int ready = 0;
  while (!e2e_go_seen()) {
    for (int i = 0; i < 1000; ++i) {
      g_private = g_private + 1;
      s->counter = s->counter + 1;
    }
    if (!ready) {
      ready = 1;
      e2e_say("READY");
    }
    usleep(100);
  }
  uint64_t priv = g_private, shared = s->counter;
  E2E_CHECK(priv - shared <= 1,
            "the mapping's counter %llu does not go "
            "with the process's %llu (restored from a later file?)",
            (unsigned long long)shared, (unsigned long long)priv);
  s->child_go = 42;
  int st = 0;
  E2E_CHECK(
      waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
      "the child saw other bytes (status %d)", st);
  unsigned char want[1];
  fill_pattern(want, 1, 9);
  E2E_CHECK(s->pattern[0] == (unsigned char)(want[0] ^ 0xff),
            "the child's write does not show: the mapping is not shared");
  e2e_say("PASS");
  return 0;
}
