/* sysvipc plugin overhead: its wrappers translate ids on every call.
 * Timed inside the program, so launcher start-up is not counted.
 *
 *   sysvipc_bench semop|msg [ITERATIONS]   one loop, prints ns/iteration
 *   sysvipc_bench --compare BIN            both loops, native and under
 *                                          BIN/dmtcp_launch, best of 5
 *
 * semop: a lock and an unlock (two semop calls, never blocking).  msg: a
 * msgsnd and a msgrcv of 64 bytes on a private queue. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>

#include "compare.h"

static int run(const char *what, long iterations) {
  long sum = 0;
  double t0, t1;
  if (strcmp(what, "semop") == 0) {
    int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    struct sembuf up = {0, 1, 0}, down = {0, -1, 0};
    if (id < 0 || semop(id, &up, 1) != 0) {
      return 1;
    }
    t0 = bench_now();
    for (long i = 0; i < iterations; ++i) {
      sum += semop(id, &down, 1);
      sum += semop(id, &up, 1);
    }
    t1 = bench_now();
    semctl(id, 0, IPC_RMID);
  } else {
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct {
      long mtype;
      char text[64];
    } m = {1, {0}};
    if (id < 0) {
      return 1;
    }
    t0 = bench_now();
    for (long i = 0; i < iterations; ++i) {
      sum += msgsnd(id, &m, sizeof m.text, 0);
      sum += msgrcv(id, &m, sizeof m.text, 0, 0);
    }
    t1 = bench_now();
    msgctl(id, IPC_RMID, NULL);
  }
  printf("%.2f ns/iteration (%ld)\n", (t1 - t0) * 1e9 / (double)iterations,
         sum & 1);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--compare") == 0) {
    char *sem[] = {"semop", "500000"};
    char *msg[] = {"msg", "500000"};
    bench_compare(argv[2], "semop down+up", sem, 2);
    bench_compare(argv[2], "msgsnd+msgrcv 64 B", msg, 2);
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: sysvipc_bench semop|msg [N] | --compare BIN\n");
    return 2;
  }
  return run(argv[1], argc > 2 ? atol(argv[2]) : 500000);
}
