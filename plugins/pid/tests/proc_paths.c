/* /proc paths built from virtual ids keep working across restart:
 * /proc/<getpid()>/..., /proc/<child>/..., /proc/self/task/<gettid()>,
 * /proc/<getpid()>/task/<thread's tid>, and readlink("/proc/self") and
 * ("/proc/thread-self") give virtual ids.  The kernel writes real ids
 * inside the files, so only what does not hold a pid is compared. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "e2e.h"

#define N_THREADS 3

/* The child's umask, unlike ours: it tells its /proc entry from ours
 * (umask comes back with the image; comm and cmdline do not). */
#define CHILD_UMASK 027
#define OUR_UMASK 022

static pid_t g_tids[N_THREADS];
static atomic_int g_started;
static atomic_int g_done;
static const char *g_argv0;
static pid_t g_child;

static void *worker(void *arg) {
  g_tids[(long)arg] = gettid();
  atomic_fetch_add(&g_started, 1);
  while (!atomic_load(&g_done)) {
    usleep(10000);
  }
  return NULL;
}

/* Reads a whole (small) file with open/read; its length, or -1. */
static ssize_t read_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    return -1;
  }
  size_t len = 0;
  ssize_t n;
  while (len < size && (n = read(fd, buf + len, size - len)) > 0) {
    len += (size_t)n;
  }
  close(fd);
  return (ssize_t)len;
}

/* The comm the kernel gives this program: its file name, cut to 15. */
static void expected_comm(char *out, size_t size) {
  const char *slash = strrchr(g_argv0, '/');
  snprintf(out, size, "%.15s", slash != NULL ? slash + 1 : g_argv0);
}

/* "Name:", "Umask:" and "Threads:" of /proc/<pid>/status (fopen()). */
static void read_status(pid_t pid, char *name, size_t size, int *mask,
                        int *threads) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  E2E_CHECK(f != NULL, "fopen(%s): %s", path, strerror(errno));
  name[0] = '\0';
  *threads = -1;
  *mask = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "Name:\t", 6) == 0) {
      size_t n = strcspn(line + 6, "\n");
      n = n < size ? n : size - 1;
      memcpy(name, line + 6, n);
      name[n] = '\0';
    }
    sscanf(line, "Threads: %d", threads);
    sscanf(line, "Umask: %o", (unsigned *)mask);
  }
  fclose(f);
}

/* Entries of /proc/<pid>/task, without . and .. */
static int count_tasks(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  E2E_CHECK(d != NULL, "opendir(%s): %s", path, strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      ++n;
    }
  }
  closedir(d);
  return n;
}

/* /proc/<child>/cmdline equals the argv the child exec'd with. */
static int child_cmdline_ok(void) {
  char path[64], buf[4096], want[4096];
  snprintf(path, sizeof path, "/proc/%d/cmdline", g_child);
  ssize_t n = read_file(path, buf, sizeof buf);
  int w = snprintf(want, sizeof want, "%s%c--child", g_argv0, '\0') + 1;
  return n == w && memcmp(buf, want, (size_t)w) == 0;
}

static int is_our_id(pid_t id) {
  for (int i = 0; i < N_THREADS; ++i) {
    if (g_tids[i] == id) {
      return 1;
    }
  }
  return id == getpid() || id == g_child;
}

/* The child has exec'd and set its umask. */
static int child_ready(void) {
  char name[64];
  int mask, threads;
  read_status(g_child, name, sizeof name, &mask, &threads);
  return mask == CHILD_UMASK && child_cmdline_ok();
}

static void check_all(const char *when) {
  pid_t me = getpid();
  char path[128], name[64], comm[64];
  int threads;

  int mask;
  read_status(me, name, sizeof name, &mask, &threads);
  expected_comm(comm, sizeof comm);
  E2E_CHECK(strcmp(name, comm) == 0, "%s: /proc/%d/status Name %s, want %s",
            when, me, name, comm);

  /* The child names itself (below); comm comes back with the image. */
  E2E_CHECK(mask == OUR_UMASK, "%s: /proc/%d/status Umask %o", when, me, mask);
  int child_mask, child_threads;
  read_status(g_child, name, sizeof name, &child_mask, &child_threads);
  E2E_CHECK(child_mask == CHILD_UMASK, "%s: /proc/%d/status Umask %o, want %o",
            when, g_child, child_mask, CHILD_UMASK);
  /* cmdline: a restored process's argument area is not the program's (the
   * file is empty, ours too), so it is compared only before a restart. */
  char args[4096];
  int restored = read_file("/proc/self/cmdline", args, sizeof args) == 0;
  snprintf(path, sizeof path, "/proc/%d/cmdline", g_child);
  E2E_CHECK(read_file(path, args, sizeof args) >= 0, "%s: %s: %s", when, path,
            strerror(errno));
  E2E_CHECK(restored || child_cmdline_ok(),
            "%s: /proc/%d/cmdline is not the child's", when, g_child);

  snprintf(path, sizeof path, "/proc/self/task/%d/comm", gettid());
  ssize_t n = read_file(path, comm, sizeof comm);
  E2E_CHECK(n > 0, "%s: %s: %s", when, path, strerror(errno));

  for (int i = 0; i < N_THREADS; ++i) {
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", me, g_tids[i]);
    E2E_CHECK(stat(path, &st) == 0, "%s: stat(%s): %s", when, path,
              strerror(errno));
    snprintf(path, sizeof path, "/proc/self/task/%d", g_tids[i]);
    E2E_CHECK(fstatat(AT_FDCWD, path, &st, 0) == 0, "%s: fstatat(%s): %s", when,
              path, strerror(errno));
  }

  char link[64], want[64];
  ssize_t len = readlink("/proc/self", link, sizeof link - 1);
  E2E_CHECK(len > 0, "%s: readlink(/proc/self): %s", when, strerror(errno));
  link[len] = '\0';
  snprintf(want, sizeof want, "%d", me);
  E2E_CHECK(strcmp(link, want) == 0, "%s: readlink(/proc/self) = %s, want %s",
            when, link, want);
  len = readlink("/proc/thread-self", link, sizeof link - 1);
  E2E_CHECK(len > 0, "%s: readlink(/proc/thread-self): %s", when,
            strerror(errno));
  link[len] = '\0';
  snprintf(want, sizeof want, "%d/task/%d", me, gettid());
  E2E_CHECK(strcmp(link, want) == 0,
            "%s: readlink(/proc/thread-self) = %s, want %s", when, link, want);

  struct stat st;
  snprintf(path, sizeof path, "/proc/%d", g_child);
  E2E_CHECK(stat(path, &st) == 0, "%s: stat(%s): %s", when, path,
            strerror(errno));
  snprintf(path, sizeof path, "/proc/%d/stat", g_child);
  E2E_CHECK(access(path, R_OK) == 0, "%s: access(%s): %s", when, path,
            strerror(errno));

  /* The child's real pid (the kernel writes it into its stat file) was
   * never given to us: after a restart it is not the child's virtual pid,
   * and /proc/<it> must not name some process (ENOENT), unless that number
   * is one of our virtual ids too. */
  char text[256];
  snprintf(path, sizeof path, "/proc/%d/stat", g_child);
  n = read_file(path, text, sizeof text - 1);
  E2E_CHECK(n > 0, "%s: %s: %s", when, path, strerror(errno));
  text[n] = '\0';
  pid_t real = (pid_t)atoi(text);
  if (real != g_child && !is_our_id(real)) {
    snprintf(path, sizeof path, "/proc/%d", real);
    errno = 0;
    E2E_CHECK(stat(path, &st) != 0 && errno == ENOENT,
              "%s: stat(%s) (the child's real pid): %s", when, path,
              strerror(errno));
  }

  /* At least ours; the runtime may add its own (the checkpoint thread). */
  int tasks = count_tasks(me);
  E2E_CHECK(tasks >= N_THREADS + 1 && tasks == threads,
            "%s: /proc/%d/task has %d entries, status says %d threads", when,
            me, tasks, threads);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--child") == 0) {
    umask(CHILD_UMASK);
    /* Until the parent's SIGTERM, or the parent's end (a failed check). */
    pid_t parent = getppid();
    while (getppid() == parent) {
      usleep(50000);
    }
    return 1;
  }
  g_argv0 = argv[0];
  umask(OUR_UMASK);
  pthread_t th[N_THREADS];
  for (long i = 0; i < N_THREADS; ++i) {
    E2E_CHECK(pthread_create(&th[i], NULL, worker, (void *)i) == 0,
              "pthread_create");
  }
  while (atomic_load(&g_started) < N_THREADS) {
    usleep(1000);
  }
  g_child = fork();
  E2E_CHECK(g_child >= 0, "fork: %s", strerror(errno));
  if (g_child == 0) {
    execl(argv[0], argv[0], "--child", (char *)NULL);
    printf("FAIL: exec: %s\n", strerror(errno));
    _exit(1);
  }
  /* The checkpoint must see the child after its exec. */
  for (int i = 0; !child_ready(); ++i) {
    E2E_CHECK(i < 1000, "child never exec'd");
    usleep(10000);
  }
  check_all("before");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  check_all("after");
  E2E_CHECK(kill(g_child, SIGTERM) == 0, "kill: %s", strerror(errno));
  int status = 0;
  E2E_CHECK(waitpid(g_child, &status, 0) == g_child, "waitpid: %s",
            strerror(errno));
  atomic_store(&g_done, 1);
  for (int i = 0; i < N_THREADS; ++i) {
    pthread_join(th[i], NULL);
  }
  e2e_say("PASS");
  return 0;
}
