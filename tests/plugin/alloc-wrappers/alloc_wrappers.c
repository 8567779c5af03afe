/* A plugin wrapping the allocator: malloc, calloc, realloc and free count
 * their calls and call the next definition through NEXT_FNC.
 *
 * The hard part is not ours but NEXT_FNC's: NEXT_FNC(free) is resolved
 * inside free, and free can be called from inside dlsym (glibc frees the
 * previous failed lookup's message there), so resolving must neither call
 * dlsym nor allocate.  The wrappers themselves use no stdio and no locks.
 *
 * Algorithm:
 *  1. Each wrapper: count the call (a relaxed atomic add), call NEXT_FNC,
 *     return its result.
 *  2. RESUME, RESTART (after passing the event on, as inner plugins come
 *     first on the way out): say so, then count it for the program
 *     (alloc_churn.c), which allocates again when it sees the count move. */
#include <stdatomic.h>
#include <stddef.h>

#include "alloc_counts.h"
#include "dmtcp/plugin.h"
#include "say.h"

AllocCounts alloc_wrappers_counts;

static void count(atomic_ulong* counter) {
  atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

void* malloc(size_t size) {
  count(&alloc_wrappers_counts.malloc_calls);
  return NEXT_FNC(malloc)(size);
}

void* calloc(size_t n, size_t size) {
  count(&alloc_wrappers_counts.calloc_calls);
  return NEXT_FNC(calloc)(n, size);
}

void* realloc(void* ptr, size_t size) {
  count(&alloc_wrappers_counts.realloc_calls);
  return NEXT_FNC(realloc)(ptr, size);
}

void free(void* ptr) {
  count(&alloc_wrappers_counts.free_calls);
  NEXT_FNC(free)(ptr);
}

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t* data) {
  DMTCP_NEXT_EVENT_HOOK(event, data);
  if (event == DMTCP_EVENT_RESUME) {
    say("alloc-wrappers: RESUME");
    atomic_fetch_add(&alloc_wrappers_counts.resumes, 1);
  } else if (event == DMTCP_EVENT_RESTART) {
    say("alloc-wrappers: RESTART");
    atomic_fetch_add(&alloc_wrappers_counts.restarts, 1);
  }
}
