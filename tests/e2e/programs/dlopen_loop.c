/* Two threads call into the dynamic loader without pause (dlopen and
 * dlclose of a library; dl_iterate_phdr, as C++ exception unwinding does),
 * so a checkpoint almost always finds one holding one of the loader's
 * recursive locks, which record their owner's tid.  After go the main
 * thread does the same: it must not wait (a lock left owned by the old tid
 * of a restored thread would make it wait for good). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>

#include "e2e.h"

static atomic_long g_calls;

static int count_object(struct dl_phdr_info* info, size_t size, void* n) {
  (void)info;
  (void)size;
  ++*(int*)n;
  return 0;
}

static void load_and_walk(void) {
  void* h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
  E2E_CHECK(h != NULL, "dlopen: %s", dlerror());
  E2E_CHECK(dlsym(h, "cos") != NULL, "dlsym cos");
  E2E_CHECK(dlclose(h) == 0, "dlclose");
  int n = 0;
  dl_iterate_phdr(count_object, &n);
  E2E_CHECK(n > 2, "dl_iterate_phdr saw %d objects", n);
}

static void* churn(void* arg) {
  (void)arg;
  for (;;) {
    load_and_walk();
    atomic_fetch_add(&g_calls, 1);
  }
  return NULL;
}

static void nothing(void) {}

int main(void) {
  pthread_t t[2];
  for (int i = 0; i < 2; ++i) {
    E2E_CHECK(pthread_create(&t[i], NULL, churn, NULL) == 0,
              "pthread_create");
  }
  while (atomic_load(&g_calls) < 1000) {
    usleep(1000);
  }
  e2e_say("READY");
  e2e_wait_for_go(nothing);
  long before = atomic_load(&g_calls);
  load_and_walk();
  while (atomic_load(&g_calls) < before + 1000) {
    usleep(1000);
  }
  e2e_say("PASS");
  return 0;
}
