/* mpi_payload MIB: an MPI job whose every rank holds MIB MiB of
 * non-repeating bytes (xorshift64*, seeded by the rank: compression finds
 * nothing to save), for bench/dist_scale_bench.py.  Compiled by the bench
 * with the flavour's mpicc (not by CMake).
 *
 * 1. Every rank fills its payload and sums it; a ring exchange and an
 *    MPI_Allreduce of the sums; rank 0 prints "READY <sum>".
 * 2. Every rank waits for the file named by $DMTCP_TEST_GO, polling it
 *    with naps and no MPI call, so the job is idle while the bench
 *    checkpoints, kills and restarts it (MPICH's ranks would spin in a
 *    barrier, 4 of them on this machine's 2 cores).
 * 3. Every rank sums its payload again; the same exchange; rank 0 prints
 *    "RESULT <sum>", which must equal the READY line's. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t sum_of(const uint64_t* p, size_t words) {
  uint64_t s = 0;
  for (size_t i = 0; i < words; ++i) {
    s = (s ^ p[i]) * 0x100000001b3ULL;
  }
  return s;
}

/* The sum of every rank's payload, each passed once round the ring first
 * (so the job's connections are used at each step). */
static uint64_t job_sum(uint64_t mine, int rank, int size) {
  uint64_t left = 0;
  MPI_Sendrecv(&mine, 1, MPI_UINT64_T, (rank + 1) % size, 1, &left, 1,
               MPI_UINT64_T, (rank + size - 1) % size, 1, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
  uint64_t all = 0;
  MPI_Allreduce(&left, &all, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  return all;
}

static int go_seen(void) {
  const char* go = getenv("DMTCP_TEST_GO");
  struct stat st;
  return go == NULL || stat(go, &st) == 0;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  size_t words = (size_t)(argc > 1 ? atol(argv[1]) : 16) << 17;
  uint64_t* payload = malloc(words * sizeof *payload);
  if (payload == NULL) {
    perror("malloc");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(rank + 1);
  for (size_t i = 0; i < words; ++i) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    payload[i] = x * 0x2545f4914f6cdd1dULL;
  }
  uint64_t before = job_sum(sum_of(payload, words), rank, size);
  if (rank == 0) {
    printf("READY %016llx\n", (unsigned long long)before);
    fflush(stdout);
  }
  while (!go_seen()) {
    usleep(20000);
  }
  uint64_t after = job_sum(sum_of(payload, words), rank, size);
  if (rank == 0) {
    printf("RESULT %016llx\n", (unsigned long long)after);
    fflush(stdout);
  }
  free(payload);
  MPI_Finalize();
  return after == before ? 0 : 1;
}
