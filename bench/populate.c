/* The machine's own cost of populating fresh anonymous memory, the limit a
 * restart is measured against (bench/ckpt_bench.py): SIZE MiB first
 * touched one 4 KiB page at a time, by MADV_POPULATE_WRITE, by
 * MAP_POPULATE, and the same with transparent huge pages (MADV_HUGEPAGE on
 * 2 MiB-aligned memory), each by one thread and by one thread per CPU.
 * Prints one line per method, "name seconds", and last "best name
 * seconds".
 *
 *   bench_populate [MiB] [IDLE_SECONDS]
 *
 * With IDLE_SECONDS, it sleeps that long before each method: on a VM that
 * hands freed memory back to its host (virtio-balloon free page reporting),
 * memory freed a moment ago populates far faster than memory the host has
 * taken back, and a restart started after a pause finds the latter
 * (docs/benchmarks.md). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HUGE (2ul << 20)

static size_t len;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

struct part {
  char* p;
  size_t n;
  int populate;
};

static void* fill(void* arg) {
  struct part* a = arg;
  if (a->populate) {
    if (madvise(a->p, a->n, MADV_POPULATE_WRITE) != 0) {
      perror("MADV_POPULATE_WRITE");
      exit(1);
    }
  } else {
    for (size_t i = 0; i < a->n; i += 4096) {
      a->p[i] = 1;
    }
  }
  return NULL;
}

/* One measurement: map, (advise), populate with `threads` threads, unmap. */
static double run(int huge, int populate, int threads) {
  char* raw = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  char* p = (char*)(((unsigned long)raw + HUGE - 1) & ~(HUGE - 1));
  if (huge) {
    madvise(p, len, MADV_HUGEPAGE);
  }
  pthread_t th[64];
  struct part parts[64];
  double t = now();
  size_t step = (len / threads + HUGE - 1) & ~(HUGE - 1);
  int n = 0;
  for (size_t off = 0; off < len && n < threads; off += step, ++n) {
    parts[n].p = p + off;
    parts[n].n = off + step <= len ? step : len - off;
    parts[n].populate = populate;
    pthread_create(&th[n], NULL, fill, &parts[n]);
  }
  for (int i = 0; i < n; ++i) {
    pthread_join(th[i], NULL);
  }
  t = now() - t;
  munmap(raw, len + HUGE);
  return t;
}

int main(int argc, char** argv) {
  len = (argc > 1 ? strtoull(argv[1], NULL, 10) : 1024) << 20;
  unsigned idle = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
  cpu_set_t cpus;
  int ncpu =
      sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
  if (ncpu > 64) {
    ncpu = 64;
  }
  const char* best_name = NULL;
  double best = 1e9;
  char name[64];
  for (int huge = 0; huge < 2; ++huge) {
    for (int populate = 0; populate < 2; ++populate) {
      for (int threads = 1; threads <= ncpu;
           threads = threads == ncpu ? ncpu + 1 : ncpu) {
        sleep(idle);
        double t = run(huge, populate, threads);
        snprintf(name, sizeof name, "%s%s-%dthr", huge ? "thp-" : "4k-",
                 populate ? "populate_write" : "touch", threads);
        printf("%s %.3f\n", name, t);
        if (t < best) {
          best = t;
          best_name = strdup(name);
        }
      }
    }
  }
  sleep(idle);
  double t = now();
  char* p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  t = now() - t;
  munmap(p, len);
  printf("map_populate %.3f\n", t);
  if (t < best) {
    best = t;
    best_name = "map_populate";
  }
  printf("best %s %.3f\n", best_name, best);
  return 0;
}
