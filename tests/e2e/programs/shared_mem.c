/* MAP_SHARED memory between a parent and its child stays shared across
 * checkpoint and restart.  argv[1] picks the object both map:
 *   anon     MAP_SHARED|MAP_ANONYMOUS ("/dev/zero (deleted)" in maps)
 *   memfd    a memfd (its fd closed: only the mapping holds it)
 *   deleted  a file, unlinked right after mmap; the parent also maps part
 *            A of it privately and changes one word there (restart brings
 *            the private copy back with its data, the change unshared)
 *   file     a file that stays: after restart, writes through the mapping
 *            reach it (read() after msync sees them) and writes to the file
 *            show in the mapping
 * Before the checkpoint the parent fills part A, the child part B (the
 * parent never touches B: only the object holds it), one page in the middle
 * is made read-only (so each process maps the object as three regions) and
 * the tail is never touched.  The parent unmaps pages 1-15 after the fork;
 * the child writes page 5, so only the child's image holds it (restart
 * must fill the object from more than one image).  After go both check all of
 * it; the child writes part C and raises a flag, the parent checks C byte for
 * byte and writes part D, the child checks D.  The two talk only through the
 * shared page 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "e2e.h"

enum {
  kPage = 4096,
  kPages = 2048,  /* 8 MiB */
  kChildOnly = 5, /* child, before; [1, kA) unmapped in the parent */
  kA = 16,        /* parent, before the checkpoint */
  kB = 512,       /* child, before the checkpoint */
  kRo = 1000,     /* read-only page */
  kC = 1024,      /* child, after go */
  kD = 1536,      /* parent, after go */
  kPartPages = 256,
  kUntouched = 1800, /* [kUntouched, kPages) never written */
  kProbe = 1900,     /* file mode: written with pwrite after the checks */
};

/* Page 0: the two processes' flags. */
struct Control {
  int child_ready;  /* B written */
  int child_stage;  /* 1: C written; 2: D checked (child_ok says how) */
  int parent_stage; /* 1: C checked, D written */
  int child_ok;
  char child_why[256];
};

static unsigned char* g_mem;
static unsigned char* g_private; /* deleted mode: part A, MAP_PRIVATE */
static const char* g_mode;
static char g_path[4096];

static struct Control* control(void) {
  return (struct Control*)g_mem;
}

static unsigned char* page(int n) {
  return g_mem + (size_t)n * kPage;
}

static void fill(int first, unsigned long long seed) {
  unsigned long long* w = (unsigned long long*)page(first);
  for (size_t i = 0; i < (size_t)kPartPages * kPage / 8; ++i) {
    w[i] = e2e_next(&seed);
  }
}

/* Empty string when part [first, +kPartPages) holds seed's stream, else
 * what differs. */
static const char* check(int first, unsigned long long seed) {
  static char why[256];
  const unsigned long long* w = (const unsigned long long*)page(first);
  for (size_t i = 0; i < (size_t)kPartPages * kPage / 8; ++i) {
    unsigned long long want = e2e_next(&seed);
    if (w[i] != want) {
      snprintf(why, sizeof why, "page %d word %zu is %llx, want %llx",
               first + (int)(i * 8 / kPage), i % (kPage / 8), w[i], want);
      return why;
    }
  }
  return "";
}

static const char* check_before(void) {
  static char why[300];
  const char* bad = check(kA, 11);
  if (*bad != '\0') {
    snprintf(why, sizeof why, "part A: %s", bad);
    return why;
  }
  bad = check(kB, 22);
  if (*bad != '\0') {
    snprintf(why, sizeof why, "part B: %s", bad);
    return why;
  }
  if (strcmp((const char*)page(kRo), "read-only page") != 0) {
    return "read-only page changed";
  }
  for (size_t i = (size_t)kUntouched * kPage; i < (size_t)kPages * kPage; ++i) {
    if (g_mem[i] != 0) {
      snprintf(why, sizeof why, "untouched byte %zu is %d", i, g_mem[i]);
      return why;
    }
  }
  return "";
}

/* Waits until *flag >= want (the other process), at most 30 s. */
static int wait_flag(int* flag, int want) {
  for (int i = 0; i < 30000; ++i) {
    if (__atomic_load_n(flag, __ATOMIC_ACQUIRE) >= want) {
      return 1;
    }
    usleep(1000);
  }
  return 0;
}

static void set_flag(int* flag, int value) {
  __atomic_store_n(flag, value, __ATOMIC_RELEASE);
}

static void child_main(void) {
  struct Control* c = control();
  fill(kB, 22);
  strcpy((char*)page(kChildOnly), "only the child maps this page");
  set_flag(&c->child_ready, 1);
  e2e_wait_for_go(NULL);
  const char* bad = check_before();
  if (*bad == '\0' && strcmp((const char*)page(kChildOnly),
                             "only the child maps this page") != 0) {
    bad = "the page only the child maps changed";
  }
  if (*bad == '\0') {
    fill(kC, 33);
    set_flag(&c->child_stage, 1);
    if (!wait_flag(&c->parent_stage, 1)) {
      bad = "the parent never wrote part D";
    } else {
      bad = check(kD, 44);
    }
  }
  snprintf(c->child_why, sizeof c->child_why, "%s", bad);
  c->child_ok = *bad == '\0';
  set_flag(&c->child_stage, 2);
  _exit(c->child_ok ? 0 : 1);
}

/* The object both processes map, size kPages pages, read-write. */
static unsigned char* map_object(void) {
  size_t len = (size_t)kPages * kPage;
  if (strcmp(g_mode, "anon") == 0) {
    return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                -1, 0);
  }
  int fd;
  if (strcmp(g_mode, "memfd") == 0) {
    fd = memfd_create("e2e-shared", MFD_CLOEXEC);
  } else if (strcmp(g_mode, "deleted") == 0 || strcmp(g_mode, "file") == 0) {
    fd = open(g_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  } else {
    e2e_fail("unknown mode %s (anon, memfd, deleted, file)", g_mode);
  }
  E2E_CHECK(fd >= 0, "create %s: %s", g_mode, strerror(errno));
  E2E_CHECK(ftruncate(fd, (off_t)len) == 0, "ftruncate: %s", strerror(errno));
  unsigned char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (strcmp(g_mode, "deleted") == 0) {
    g_private = mmap(NULL, (size_t)kPartPages * kPage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE, fd, (off_t)kA * kPage);
    E2E_CHECK(g_private != MAP_FAILED, "private mmap: %s", strerror(errno));
    E2E_CHECK(unlink(g_path) == 0, "unlink %s", g_path);
  }
  /* Only the mappings keep the object: fds are not this test's subject. */
  close(fd);
  return p;
}

static const unsigned long long kPrivateWord = 0x9e3779b97f4a7c15ull;

/* deleted mode: the private view of part A holds A's data, and its one
 * changed word stayed private. */
static void check_private(void) {
  unsigned long long first;
  memcpy(&first, g_private, sizeof first);
  E2E_CHECK(first == kPrivateWord, "private word is %llx", first);
  E2E_CHECK(
      memcmp(g_private + 8, page(kA) + 8, (size_t)kPartPages * kPage - 8) == 0,
      "the private mapping of the deleted file lost its data");
}

/* file mode: the file on disk holds what the mapping holds, and a write
 * to the file shows in the mapping. */
static void check_file(void) {
  size_t len = (size_t)kPages * kPage;
  E2E_CHECK(msync(g_mem, kPage, MS_SYNC) == 0 &&
                msync(page(kA), len - (size_t)kA * kPage, MS_SYNC) == 0,
            "msync: %s", strerror(errno));
  int fd = open(g_path, O_RDWR | O_CLOEXEC);
  E2E_CHECK(fd >= 0, "reopen %s: %s", g_path, strerror(errno));
  static unsigned char buf[kPage];
  for (int n = 0; n < kPages; ++n) {
    if (n > 0 && n < kA) {
      continue; /* not mapped here */
    }
    E2E_CHECK(pread(fd, buf, kPage, (off_t)n * kPage) == kPage, "read page %d",
              n);
    E2E_CHECK(memcmp(buf, page(n), kPage) == 0,
              "file page %d differs from the mapping after msync", n);
  }
  memset(buf, 0x5e, kPage);
  E2E_CHECK(pwrite(fd, buf, kPage, (off_t)kProbe * kPage) == kPage, "pwrite");
  E2E_CHECK(memcmp(page(kProbe), buf, kPage) == 0,
            "a write to the file does not show in the mapping: not the file");
  close(fd);
}

int main(int argc, char** argv) {
  g_mode = argc > 1 ? argv[1] : "anon";
  const char* go = getenv("DMTCP_TEST_GO");
  if (go != NULL) {
    snprintf(g_path, sizeof g_path, "%s.%s", go, g_mode);
  } else {
    snprintf(g_path, sizeof g_path, "/tmp/e2e_shared_mem.%d.%s", (int)getpid(),
             g_mode);
  }
  g_mem = map_object();
  E2E_CHECK(g_mem != MAP_FAILED, "mmap: %s", strerror(errno));
  fill(kA, 11);
  if (g_private != NULL) {
    memcpy(g_private, &kPrivateWord, sizeof kPrivateWord);
  }
  strcpy((char*)page(kRo), "read-only page");
  E2E_CHECK(mprotect(page(kRo), kPage, PROT_READ) == 0, "mprotect");

  pid_t pid = fork();
  E2E_CHECK(pid >= 0, "fork");
  if (pid == 0) {
    child_main();
  }
  E2E_CHECK(munmap(page(1), (kA - 1) * kPage) == 0, "munmap");
  struct Control* c = control();
  E2E_CHECK(wait_flag(&c->child_ready, 1), "child never got ready");
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  const char* bad = check_before();
  E2E_CHECK(*bad == '\0', "parent: %s", bad);
  if (g_private != NULL) {
    check_private();
  }
  E2E_CHECK(wait_flag(&c->child_stage, 1), "the child never wrote part C");
  bad = check(kC, 33);
  E2E_CHECK(*bad == '\0', "part C as the parent sees it: %s (not shared)", bad);
  fill(kD, 44);
  set_flag(&c->parent_stage, 1);
  E2E_CHECK(wait_flag(&c->child_stage, 2), "the child never finished");
  E2E_CHECK(c->child_ok, "child: %s", c->child_why);
  if (strcmp(g_mode, "file") == 0) {
    check_file();
  }
  /* Reap the child (a real child of ours also after restart). */
  int status = 0;
  pid_t r = waitpid(-1, &status, 0);
  E2E_CHECK(r > 0 || errno == ECHILD, "waitpid: %s", strerror(errno));
  if (r > 0) {
    E2E_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %x",
              status);
  }
  e2e_say("PASS");
  return 0;
}
