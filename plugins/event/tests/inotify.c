/* inotify watches come back by path with their masks and their wd
 * numbers: wd 1 (IN_CREATE, then IN_DELETE or'ed in with IN_MASK_ADD),
 * wd 2 removed (a gap), wd 3 (IN_CREATE|IN_DELETE|IN_ONLYDIR), wd 4 on a
 * directory the harness removes before the last restart
 * (--remove-before-restart), wd 5 added by a relative path (IN_ATTRIB);
 * wds 6..21 on sixteen more directories (fdinfo shows wds in hex: "wd:a",
 * "wd:10"); a second instance whose wds 1 and 2 were handed out and 2
 * removed.
 * After the go: the masks in fdinfo are what they were; events made after
 * the go arrive with their wds; the removed wd stays silent; the next
 * inotify_add_watch gets the number it would have had (22, and 3 on the
 * second instance); adding a watched path again gives its old wd.  When
 * the directory of wd 4 is gone, the queue holds exactly one IN_IGNORED
 * for wd 4 (the restart also says so in one line, which the harness
 * expects). */
#include <sys/inotify.h>
#include <sys/stat.h>

#include "event_test.h"

enum { kMany = 16, kFirstMany = 6 };
static int ino, ino2;
static char base[4096];

static int watch(int fd, const char* name, uint32_t mask) {
  char p[4200];
  test_path(p, sizeof p, name);
  int wd = inotify_add_watch(fd, p, mask);
  E2E_CHECK(wd > 0, "watch %s: %s", p, strerror(errno));
  return wd;
}

static void touch(const char* name) {
  char p[4200];
  test_path(p, sizeof p, name);
  int f = open(p, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
  E2E_CHECK(f >= 0, "create %s: %s", p, strerror(errno));
  close(f);
}

/* Reads what is queued now: up to `cap` events into wds/masks. */
static int drain(int fd, int* wds, uint32_t* masks, int cap) {
  char buf[8192] __attribute__((aligned(8)));
  int n = 0;
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EAGAIN) {
      return n;
    }
    E2E_CHECK(r > 0, "read inotify: %s", r < 0 ? strerror(errno) : "eof");
    for (char* p = buf; p < buf + r;) {
      struct inotify_event* e = (struct inotify_event*)p;
      E2E_CHECK(n < cap, "too many events");
      wds[n] = e->wd;
      masks[n] = e->mask;
      ++n;
      p += sizeof *e + e->len;
    }
  }
}

/* "wd:mask" of every watch in fdinfo, by wd; returns how many. */
static int watches(int fd, int* wds, unsigned* masks, int cap) {
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
  FILE* f = fopen(p, "re");
  E2E_CHECK(f != NULL, "open %s", p);
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    int wd;
    const char* m = strstr(line, " mask:");
    if (sscanf(line, "inotify wd:%x", (unsigned*)&wd) == 1 && m != NULL) {
      E2E_CHECK(n < cap, "too many watches");
      wds[n] = wd;
      masks[n] = (unsigned)strtoul(m + 6, NULL, 16);
      ++n;
    }
  }
  fclose(f);
  for (int i = 1; i < n; ++i) {
    for (int j = i; j > 0 && wds[j - 1] > wds[j]; --j) {
      int w = wds[j];
      wds[j] = wds[j - 1];
      wds[j - 1] = w;
      unsigned k = masks[j];
      masks[j] = masks[j - 1];
      masks[j - 1] = k;
    }
  }
  return n;
}

/* Waits up to 5 s for an event (wd, bit) among what arrives. */
static void expect_event(int fd, int wd, uint32_t bit) {
  for (int tries = 0; tries < 500; ++tries) {
    int wds[64];
    uint32_t masks[64];
    int n = drain(fd, wds, masks, 64);
    for (int i = 0; i < n; ++i) {
      E2E_CHECK(wds[i] == wd && (masks[i] & bit) != 0,
                "event wd %d mask %#x, want wd %d %#x", wds[i], masks[i], wd,
                bit);
    }
    if (n > 0) {
      return;
    }
    usleep(10000);
  }
  e2e_fail("no event %#x for wd %d", bit, wd);
}

int main(void) {
  snprintf(base, sizeof base, "%s", test_dir());
  test_mkdir("a");
  test_mkdir("b");
  test_mkdir("c");
  test_mkdir("gone");
  test_mkdir("rel");
  test_mkdir("new");
  ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ino2 = inotify_init1(IN_NONBLOCK);
  E2E_CHECK(ino >= 0 && ino2 >= 0, "inotify_init1: %s", strerror(errno));
  E2E_CHECK(watch(ino, "a", IN_CREATE) == 1, "wd 1");
  E2E_CHECK(watch(ino, "b", IN_CREATE) == 2, "wd 2");
  E2E_CHECK(watch(ino, "c", IN_CREATE | IN_DELETE | IN_ONLYDIR) == 3, "wd 3");
  E2E_CHECK(watch(ino, "gone", IN_CREATE) == 4, "wd 4");
  E2E_CHECK(inotify_rm_watch(ino, 2) == 0, "rm 2: %s", strerror(errno));
  E2E_CHECK(watch(ino, "a", IN_DELETE | IN_MASK_ADD) == 1, "wd 1 again");
  E2E_CHECK(chdir(base) == 0, "chdir");
  E2E_CHECK(inotify_add_watch(ino, "rel", IN_ATTRIB) == 5, "wd 5: %s",
            strerror(errno));
  E2E_CHECK(chdir("/") == 0, "chdir /");
  for (int i = 0; i < kMany; ++i) {
    char name[32];
    snprintf(name, sizeof name, "m%d", i);
    test_mkdir(name);
    E2E_CHECK(watch(ino, name, IN_CREATE) == kFirstMany + i, "wd %d",
              kFirstMany + i);
  }
  E2E_CHECK(watch(ino2, "a", IN_CREATE) == 1 && watch(ino2, "b", IN_CREATE) == 2,
            "second instance");
  E2E_CHECK(inotify_rm_watch(ino2, 2) == 0, "rm 2 of the second");
  int wds[64];
  uint32_t masks[64];
  drain(ino, wds, masks, 64);  /* the IN_IGNORED of the removed wds */
  drain(ino2, wds, masks, 64);
  int bw[64], bw2[64];
  unsigned bm[64], bm2[64];
  int nb = watches(ino, bw, bm, 64);
  int nb2 = watches(ino2, bw2, bm2, 64);
  E2E_CHECK(nb == 4 + kMany && nb2 == 1, "%d and %d watches", nb, nb2);
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  char gone_path[4200];
  test_path(gone_path, sizeof gone_path, "gone");
  struct stat st;
  int gone = stat(gone_path, &st) != 0;
  /* What is queued: nothing, or the IN_IGNORED of a watch whose path was
   * gone at the restart. */
  int n = drain(ino, wds, masks, 64);
  if (gone) {
    E2E_CHECK(n == 1 && wds[0] == 4 && masks[0] == IN_IGNORED,
              "path gone: %d events, first wd %d mask %#x (want one "
              "IN_IGNORED for wd 4)",
              n, n > 0 ? wds[0] : 0, n > 0 ? masks[0] : 0);
  } else {
    E2E_CHECK(n == 0, "%d events queued, first wd %d mask %#x", n, wds[0],
              masks[0]);
  }
  E2E_CHECK(drain(ino2, wds, masks, 64) == 0, "second instance: events");
  /* The masks, as they were. */
  int aw[64], aw2[64];
  unsigned am[64], am2[64];
  int na = watches(ino, aw, am, 64);
  int na2 = watches(ino2, aw2, am2, 64);
  E2E_CHECK(na == nb - gone && na2 == nb2, "%d and %d watches after", na, na2);
  for (int i = 0, j = 0; i < nb; ++i) {
    if (gone && bw[i] == 4) {
      continue;
    }
    E2E_CHECK(aw[j] == bw[i] && am[j] == bm[i], "wd %d mask %#x, was wd %d %#x",
              aw[j], am[j], bw[i], bm[i]);
    ++j;
  }
  E2E_CHECK(aw2[0] == bw2[0] && am2[0] == bm2[0], "second: wd %d mask %#x",
            aw2[0], am2[0]);
  /* Events made now, each with its wd; b's removed watch stays silent. */
  touch("b/x");
  touch("a/x");
  expect_event(ino, 1, IN_CREATE);
  expect_event(ino2, 1, IN_CREATE);
  char p[4200];
  test_path(p, sizeof p, "a/x");
  E2E_CHECK(unlink(p) == 0, "unlink");
  expect_event(ino, 1, IN_DELETE);
  touch("c/x");
  expect_event(ino, 3, IN_CREATE);
  test_path(p, sizeof p, "rel");
  E2E_CHECK(chmod(p, 0750) == 0, "chmod");
  expect_event(ino, 5, IN_ATTRIB);
  if (!gone) {
    touch("gone/x");
    expect_event(ino, 4, IN_CREATE);
  }
  for (int i = 0; i < kMany; ++i) {
    char name[32];
    snprintf(name, sizeof name, "m%d/x", i);
    touch(name);
    expect_event(ino, kFirstMany + i, IN_CREATE);
  }
  /* The numbers the program would have had. */
  E2E_CHECK(watch(ino, "new", IN_CREATE) == kFirstMany + kMany,
            "next wd is not %d", kFirstMany + kMany);
  E2E_CHECK(watch(ino, "c", IN_CREATE | IN_DELETE) == 3, "c is not wd 3");
  E2E_CHECK(watch(ino2, "new", IN_CREATE) == 3, "second: next wd is not 3");
  E2E_CHECK((fcntl(ino, F_GETFD) & FD_CLOEXEC) != 0 &&
                (fcntl(ino2, F_GETFD) & FD_CLOEXEC) == 0 &&
                (fcntl(ino, F_GETFL) & O_NONBLOCK) != 0,
            "flags");
  printf("%s\n", gone ? "wd 4: path gone, IN_IGNORED" : "wd 4: path kept");
  e2e_say("PASS");
  return 0;
}
