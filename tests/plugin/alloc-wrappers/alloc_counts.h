/* What the alloc_wrappers plugin counts, shared with its program: the
 * plugin defines one AllocCounts named alloc_wrappers_counts, the program
 * finds it with dlsym. */
#ifndef DMTCP_TEST_ALLOC_COUNTS_H
#define DMTCP_TEST_ALLOC_COUNTS_H

#include <stdatomic.h>

typedef struct AllocCounts {
  atomic_ulong malloc_calls;
  atomic_ulong calloc_calls;
  atomic_ulong realloc_calls;
  atomic_ulong free_calls;
  atomic_int resumes;  /* RESUME events seen by this process */
  atomic_int restarts; /* RESTART events seen by this process */
} AllocCounts;

#endif
