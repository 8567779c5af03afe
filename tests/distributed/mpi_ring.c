/* mpi_ring ITERATIONS: a ring exchange (MPI_Sendrecv of 32 KiB to the
 * next rank) and an MPI_Allreduce every iteration, deterministic, for
 * tests/distributed/mpi_test.py (docs/mpi.md).  Half-way every rank
 * reaches a barrier; rank 0 prints READY and waits for the go file
 * ($DMTCP_TEST_GO; at once without it): the test checkpoints there, kills
 * the job and restarts it.  At the end rank 0 prints one line with every
 * rank's accumulator and the reduced checksum, which must equal a native
 * run's. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "e2e.h"

#define WORDS 4096

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int iters = argc > 1 ? atoi(argv[1]) : 400;
  static double out[WORDS], in[WORDS];
  uint64_t acc = (uint64_t)rank + 1, sum = 0;
  for (int it = 0; it < iters; ++it) {
    if (it == iters / 4 && rank == 0) {
      e2e_say("READY"); /* the test checkpoints now, while we run on */
    }
    if (it == 3 * iters / 4) {
      MPI_Barrier(MPI_COMM_WORLD);
      if (rank == 0) {
        e2e_say("WAITING");
        e2e_wait_for_go(NULL);
      }
      MPI_Barrier(MPI_COMM_WORLD);
    }
    for (int i = 0; i < WORDS; ++i) {
      out[i] = (double)((acc + (uint64_t)i + (uint64_t)it) & 0xfffffffffULL);
    }
    MPI_Sendrecv(out, WORDS, MPI_DOUBLE, (rank + 1) % size, it, in, WORDS,
                 MPI_DOUBLE, (rank + size - 1) % size, it, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    acc = acc * 6364136223846793005ULL + (uint64_t)in[it % WORDS];
    uint64_t r = 0;
    MPI_Allreduce(&acc, &r, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    sum = sum * 31 + r;
  }
  uint64_t all[64] = {0};
  MPI_Gather(&acc, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("RESULT %d ranks:", size);
    for (int i = 0; i < size && i < 64; ++i) {
      printf(" %016llx", (unsigned long long)all[i]);
    }
    printf(" sum %016llx\n", (unsigned long long)sum);
    fflush(stdout);
  }
  MPI_Finalize();
  return 0;
}
