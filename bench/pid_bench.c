/* pid plugin overhead: a loop of getpid(), kill(self, 0) and
 * waitpid(-1, WNOHANG) (one live child, so it returns 0), timed inside the
 * program so launcher start-up is not counted.
 *
 *   pid_bench [ITERATIONS]            run the loop, print ns per iteration
 *   pid_bench --compare BIN [ITER]    run it natively and under
 *                                     BIN/dmtcp_launch --new-coordinator,
 *                                     best of 5 each, print the ratio
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int run_loop(long iterations) {
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  long sum = 0;
  double t0 = now();
  for (long i = 0; i < iterations; ++i) {
    sum += getpid();
    sum += kill(getpid(), 0);
    sum += waitpid(-1, NULL, WNOHANG);
  }
  double t1 = now();
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  printf("%.2f ns/iteration (%ld)\n", (t1 - t0) * 1e9 / (double)iterations,
         sum & 1);
  return 0;
}

/* Runs argv, returns the ns/iteration it printed (best of several). */
static double best_of(char *const argv[], int runs) {
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

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--compare") == 0) {
    const char *iters = argc > 3 ? argv[3] : "2000000";
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
      return 1;
    }
    self[n] = '\0';
    char launch[4096];
    snprintf(launch, sizeof launch, "%s/dmtcp_launch", argv[2]);
    char *native[] = {self, (char *)iters, NULL};
    char *launched[] = {launch, "--new-coordinator", "-q",
                        self,   (char *)iters,       NULL};
    double a = best_of(native, 5);
    double b = best_of(launched, 5);
    printf("native %.2f ns/iter, launched %.2f ns/iter, ratio %.3f\n", a, b,
           b / a);
    return 0;
  }
  return run_loop(argc > 1 ? atol(argv[1]) : 2000000);
}
