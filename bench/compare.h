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

/* Seconds on `clock`: CLOCK_MONOTONIC, or CLOCK_THREAD_CPUTIME_ID for a
 * loop that other processes running meanwhile must not inflate. */
static inline double bench_seconds(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline double bench_now(void) {
  return bench_seconds(CLOCK_MONOTONIC);
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

/* The median of n values (sorts them). */
static inline double bench_median(double *v, int n) {
  for (int i = 1; i < n; ++i) {
    for (int j = i; j > 0 && v[j - 1] > v[j]; --j) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  }
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The machine's 1-minute load average now (-1 if unreadable). */
static inline double bench_loadavg(void) {
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f != NULL) {
    if (fscanf(f, "%lf", &l) != 1) {
      l = -1;
    }
    fclose(f);
  }
  return l;
}

/* Like bench_compare, but `runs` runs of each, interleaved (native,
 * launched, and launched with `launch_opt` when it is not NULL, one after
 * the other, so a load that comes and goes hits all of them alike); prints
 * the median, the range and the ratio of medians, with the load average
 * before and after. */
static inline void bench_compare_medians(const char *bin_dir,
                                         const char *label, char *args[],
                                         int nargs, int runs,
                                         char *launch_opt) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0 || runs < 1 || runs > 101) {
    return;
  }
  self[n] = '\0';
  char launch[4096];
  snprintf(launch, sizeof launch, "%s/dmtcp_launch", bin_dir);
  char *argv[3][16] = {{self},
                       {launch, "--new-coordinator", "-p", "0", "-q", self},
                       {launch, "--new-coordinator", "-p", "0", "-q",
                        launch_opt, self}};
  int first[3] = {1, 6, 7};
  int kinds = launch_opt != NULL ? 3 : 2;
  for (int k = 0; k < kinds; ++k) {
    for (int i = 0; i < nargs && i < 6; ++i) {
      argv[k][first[k] + i] = args[i];
    }
  }
  double v[3][101];
  double load0 = bench_loadavg();
  for (int r = 0; r < runs; ++r) {
    for (int k = 0; k < kinds; ++k) {
      v[k][r] = bench_best_of(argv[k], 1);
    }
  }
  double load1 = bench_loadavg();
  const char *name[3] = {"native", "launched", launch_opt};
  double med[3];
  printf("%s, %d interleaved runs, load average %.2f -> %.2f:\n", label,
         runs, load0, load1);
  for (int k = 0; k < kinds; ++k) {
    med[k] = bench_median(v[k], runs);
    printf("  %-24s median %.2f ns (%.2f .. %.2f)", name[k], med[k], v[k][0],
           v[k][runs - 1]);
    if (k > 0) {
      printf(", ratio to native %.3f", med[k] / med[0]);
    }
    printf("\n");
  }
}

#endif
