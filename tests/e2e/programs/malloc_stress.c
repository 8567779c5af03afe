/* The heap works after restart: many small and large blocks (brk and mmap
 * arenas, several threads' arenas) are checked, freed and allocated again
 * in bulk, and the heap grows well past its size at checkpoint time. */
#include <pthread.h>
#include <string.h>

#include "e2e.h"

#define NBLOCKS 20000

static unsigned char *g_blocks[NBLOCKS];
static size_t g_sizes[NBLOCKS];

static size_t size_for(unsigned long long *seed) {
  unsigned long long r = e2e_next(seed);
  return (r % 16 == 0) ? 64 * 1024 + r % (512 * 1024) : 1 + r % 2048;
}

static void fill_block(int i) {
  memset(g_blocks[i], (int)(i * 7 + g_sizes[i]) & 0xff, g_sizes[i]);
}

static void check_block(int i) {
  unsigned char want = (unsigned char)((i * 7 + g_sizes[i]) & 0xff);
  for (size_t k = 0; k < g_sizes[i]; ++k) {
    E2E_CHECK(g_blocks[i][k] == want, "block %d byte %zu", i, k);
  }
}

static void *thread_alloc(void *arg) {
  /* A block from this thread's own arena, freed later by main. */
  char *p = malloc(100000);
  memset(p, 0x33, 100000);
  *(char **)arg = p;
  return NULL;
}

static void churn(unsigned long long seed, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < NBLOCKS; i += 3) {
      free(g_blocks[i]);
      g_sizes[i] = size_for(&seed);
      g_blocks[i] = malloc(g_sizes[i]);
      E2E_CHECK(g_blocks[i] != NULL, "malloc %zu", g_sizes[i]);
      fill_block(i);
    }
  }
}

int main(void) {
  unsigned long long seed = 7;
  for (int i = 0; i < NBLOCKS; ++i) {
    g_sizes[i] = size_for(&seed);
    g_blocks[i] = malloc(g_sizes[i]);
    fill_block(i);
  }
  churn(11, 2);
  char *from_thread = NULL;
  pthread_t t;
  pthread_create(&t, NULL, thread_alloc, &from_thread);
  pthread_join(t, NULL);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  for (int i = 0; i < NBLOCKS; ++i) {
    check_block(i);
  }
  for (int k = 0; k < 100000; ++k) {
    E2E_CHECK(from_thread[k] == 0x33, "thread arena block");
  }
  free(from_thread);
  churn(13, 5);
  /* Grow the heap far beyond its checkpoint-time size. */
  size_t grown = 0;
  char *chain[4096];
  for (int i = 0; i < 4096; ++i) {
    chain[i] = malloc(64 * 1024 - 64);
    E2E_CHECK(chain[i] != NULL, "grow %d", i);
    memset(chain[i], i & 0xff, 64 * 1024 - 64);
    grown += 64 * 1024;
  }
  for (int i = 0; i < 4096; ++i) {
    E2E_CHECK((unsigned char)chain[i][100] == (i & 0xff), "chain %d", i);
    free(chain[i]);
  }
  for (int i = 0; i < NBLOCKS; ++i) {
    check_block(i);
    free(g_blocks[i]);
  }
  printf("grew by %zu MiB\n", grown >> 20);
  e2e_say("PASS");
  return 0;
}
