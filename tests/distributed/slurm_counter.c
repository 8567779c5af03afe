/* slurm_counter: a deterministic computation for the Slurm batch test
 * (tests/distributed/slurm_test.py, docs/slurm.md).
 *
 *   slurm_counter STEPS HALF
 *
 * A 1 MiB table, mixed STEPS times: each step rewrites entries chosen by a
 * running xorshift state and adds them into a sum.  After HALF steps it
 * prints READY, then, until the go file $DMTCP_TEST_GO exists (at once
 * when unset), a line every 100 ms:
 *
 *   tick T generation G restarts R
 *
 * T counts the ticks (kept in memory, so a restarted process goes on from
 * the tick of its image); G and R are dmtcp_get_local_status's
 * checkpoints and restarts (-1 natively): the test reads from the first
 * line after a restart which checkpoint the image came from.  The ticks
 * do not touch the computation, but each one checks the table against
 * the checksum taken at HALF (a restart that brought memory back wrong
 * fails at once, naming the tick).  Then the remaining steps and
 *
 *   RESULT steps=STEPS sum=HEX table=HEX
 *
 * the same in every run that goes right (native, or checkpointed and
 * restarted on any host), then "on HOST" and PASS. */
#include <stdint.h>
#include <string.h>

#include "../../core/include/dmtcp.h"
#include "e2e.h"

#define WORDS (1u << 17) /* 1 MiB of 8-byte words */

static uint64_t table[WORDS];

static uint64_t table_sum(void) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint32_t i = 0; i < WORDS; i++) {
    h = (h ^ table[i]) * 0x100000001b3ull;
  }
  return h;
}

static void step(unsigned long long* state, uint64_t* sum) {
  for (int k = 0; k < 64; k++) {
    uint64_t r = e2e_next(state);
    uint32_t at = (uint32_t)(r >> 20) & (WORDS - 1);
    table[at] = table[at] * 6364136223846793005ull + r;
    *sum += table[at] ^ (r >> 7);
  }
}

int main(int argc, char** argv) {
  E2E_CHECK(argc == 3, "usage: slurm_counter STEPS HALF");
  unsigned long long steps = strtoull(argv[1], NULL, 10);
  unsigned long long half = strtoull(argv[2], NULL, 10);
  E2E_CHECK(half <= steps, "HALF > STEPS");
  setvbuf(stdout, NULL, _IOLBF, 0);
  unsigned long long state = 0x9e3779b97f4a7c15ull;
  for (uint32_t i = 0; i < WORDS; i++) {
    table[i] = e2e_next(&state);
  }
  uint64_t sum = 0;
  unsigned long long i = 0;
  for (; i < half; i++) {
    step(&state, &sum);
  }
  const uint64_t at_half = table_sum();
  printf("READY\n");
  unsigned long long tick = 0;
  while (!e2e_go_seen()) {
    int gen = -1, restarts = -1;
    dmtcp_get_local_status(&gen, &restarts);
    printf("tick %llu generation %d restarts %d\n", tick, gen, restarts);
    uint64_t now = table_sum();
    E2E_CHECK(now == at_half, "tick %llu: table %016llx, was %016llx",
              tick, (unsigned long long)now, (unsigned long long)at_half);
    tick++;
    usleep(100000);
  }
  for (; i < steps; i++) {
    step(&state, &sum);
  }
  printf("RESULT steps=%llu sum=%016llx table=%016llx\n", steps,
         (unsigned long long)sum, (unsigned long long)table_sum());
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  printf("on %s\n", host);
  printf("PASS\n");
  return 0;
}
