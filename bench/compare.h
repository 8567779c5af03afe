/* Native-vs-launched comparison for the overhead benchmarks: runs a
 * benchmark program natively and under dmtcp_launch --new-coordinator, best
 * of several runs each; the program prints "<ns> ns/..." as its first
 * word. */
#ifndef DMTCP_BENCH_COMPARE_H
#define DMTCP_BENCH_COMPARE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Runs argv, returns the smallest number it printed over `runs` runs. */
static inline double bench_best_of(char *const argv[], int runs) {
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    int fds[2];
    if (pipe(fds) != 0) {
      return -1;
    }
    pid_t p = fork();
    if (p == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      execv(argv[0], argv);
      _exit(127);
    }
    close(fds[1]);
    char buf[256] = {0};
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 &&
           (n = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0) {
      got += (size_t)n;
    }
    close(fds[0]);
    waitpid(p, NULL, 0);
    double v = atof(buf);
    if (v > 0 && v < best) {
      best = v;
    }
  }
  return best;
}

/* Prints "<label>: native X, launched Y, ratio Z" for self run with args. */
static inline void bench_compare(const char *bin_dir, const char *label,
                                 char *args[], int nargs) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    return;
  }
  self[n] = '\0';
  char launch[4096];
  snprintf(launch, sizeof launch, "%s/dmtcp_launch", bin_dir);
  char *native[8] = {self};
  /* A private coordinator on a free port: never a user's, never busy. */
  char *launched[12] = {launch, "--new-coordinator", "-p", "0", "-q", self};
  for (int i = 0; i < nargs && i < 6; ++i) {
    native[1 + i] = args[i];
    launched[6 + i] = args[i];
  }
  double a = bench_best_of(native, 5);
  double b = bench_best_of(launched, 5);
  printf("%s: native %.1f ns, launched %.1f ns, ratio %.3f\n", label, a, b,
         b / a);
}

#endif
