/* The alloc_wrappers test's program: allocates and frees through the
 * plugin's wrappers before a checkpoint, between resume and go, after
 * restart, and checks every call was counted and every block kept its
 * contents.
 *
 *  1. A failed dlsym leaves glibc's message behind; the next dlsym frees
 *     it, through the plugin's free (the bug: endless recursion).
 *  2. That next dlsym finds the plugin's counters (none when run without
 *     DMTCP: then only the contents are checked).
 *  3. churn, READY; until go, churn again every 10 ms, and once more when
 *     a RESUME or RESTART was counted, saying so.
 *  4. After go: churn, PASS. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <string.h>

#include "alloc_counts.h"
#include "e2e.h"

/* Called through volatile pointers: the compiler may not pair up and drop
 * a malloc and its free. */
static void* (*volatile do_malloc)(size_t) = malloc;
static void* (*volatile do_calloc)(size_t, size_t) = calloc;
static void* (*volatile do_realloc)(void*, size_t) = realloc;
static void (*volatile do_free)(void*) = free;

static AllocCounts* counts;
static unsigned long long seed = 88172645463325252ull;

typedef struct Snapshot {
  unsigned long malloc_calls, calloc_calls, realloc_calls, free_calls;
} Snapshot;

static Snapshot snapshot(void) {
  Snapshot s = {0, 0, 0, 0};
  if (counts != NULL) {
    s.malloc_calls = atomic_load(&counts->malloc_calls);
    s.calloc_calls = atomic_load(&counts->calloc_calls);
    s.realloc_calls = atomic_load(&counts->realloc_calls);
    s.free_calls = atomic_load(&counts->free_calls);
  }
  return s;
}

static void check_bytes(const unsigned char* p, size_t n, unsigned char v,
                        const char* what) {
  for (size_t i = 0; i < n; ++i) {
    E2E_CHECK(p[i] == v, "%s: byte %zu of %zu is %u, not %u", what, i, n, p[i],
              v);
  }
}

/* One block of each kind per round, contents checked; each call must move
 * its counter (other threads may move them more). */
static void churn(int rounds) {
  Snapshot before = snapshot();
  for (int i = 0; i < rounds; ++i) {
    size_t n = 1 + e2e_next(&seed) % 8192;
    unsigned char v = (unsigned char)i;
    unsigned char* a = do_malloc(n);
    unsigned char* b = do_calloc(n, 1);
    E2E_CHECK(a != NULL && b != NULL, "out of memory for %zu bytes", n);
    memset(a, v, n);
    check_bytes(b, n, 0, "calloc");
    a = do_realloc(a, 2 * n);
    E2E_CHECK(a != NULL, "realloc to %zu bytes failed", 2 * n);
    check_bytes(a, n, v, "realloc");
    do_free(a);
    do_free(b);
  }
  if (counts == NULL) {
    return;
  }
  Snapshot after = snapshot();
  unsigned long r = (unsigned long)rounds;
  E2E_CHECK(after.malloc_calls - before.malloc_calls >= r &&
                after.calloc_calls - before.calloc_calls >= r &&
                after.realloc_calls - before.realloc_calls >= r &&
                after.free_calls - before.free_calls >= 2 * r,
            "%d rounds counted as malloc %lu calloc %lu realloc %lu "
            "free %lu",
            rounds, after.malloc_calls - before.malloc_calls,
            after.calloc_calls - before.calloc_calls,
            after.realloc_calls - before.realloc_calls,
            after.free_calls - before.free_calls);
}

static int resumes_seen;
static int restarts_seen;

static void tick(void) {
  int resumes = atomic_load(&counts->resumes);
  int restarts = atomic_load(&counts->restarts);
  churn(50);
  if (resumes != resumes_seen) {
    resumes_seen = resumes;
    e2e_say("alloc: churned after resume");
  }
  if (restarts != restarts_seen) {
    restarts_seen = restarts;
    e2e_say("alloc: churned after restart");
  }
}

int main(void) {
  E2E_CHECK(dlsym(RTLD_DEFAULT, "no_such_symbol_xyz") == NULL,
            "no_such_symbol_xyz exists");
  counts = dlsym(RTLD_DEFAULT, "alloc_wrappers_counts");
  e2e_say("alloc: the dlsym after a failed one returned");
  if (counts == NULL) {
    e2e_say("alloc: no wrappers");
  }
  churn(20000);
  if (counts != NULL) {
    e2e_say("alloc: every call counted");
  }
  e2e_say("READY");
  e2e_wait_for_go(counts != NULL ? tick : NULL);
  churn(20000);
  if (counts != NULL) {
    e2e_say("alloc: every call counted");
  }
  e2e_say("PASS");
  return 0;
}
