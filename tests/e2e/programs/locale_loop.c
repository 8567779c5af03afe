/* One thread calls setlocale(), another newlocale/duplocale/freelocale,
 * without pause, so a checkpoint almost always finds one inside, holding
 * glibc's setlocale lock for writing.  After
 * go the main thread sets the locale and asks gettext (which reads it):
 * both must return.  A thread frozen inside setlocale came back with a new
 * tid, and glibc then unlocked that write lock as a reader: the next
 * setlocale blocked for good (make -j2 restarted: cc1 hung in gettext). */
#include <libintl.h>
#include <locale.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "e2e.h"

static atomic_long g_calls;

static const char* const kNames[] = {"C", "C.UTF-8", "POSIX"};

static void* churn(void* arg) {
  unsigned i = 0;
  for (;;) {
    if (arg == NULL) {
      E2E_CHECK(setlocale(LC_ALL, kNames[i++ % 3]) != NULL, "setlocale");
    } else {  /* what std::locale does: the same lock, for writing */
      locale_t l = newlocale(LC_ALL_MASK, kNames[i++ % 3], (locale_t)0);
      E2E_CHECK(l != (locale_t)0, "newlocale");
      locale_t d = duplocale(l);
      E2E_CHECK(d != (locale_t)0, "duplocale");
      freelocale(d);
      freelocale(l);
    }
    atomic_fetch_add(&g_calls, 1);
  }
  return NULL;
}

static void nothing(void) {}

int main(void) {
  pthread_t t[2];
  for (long i = 0; i < 2; ++i) {
    E2E_CHECK(pthread_create(&t[i], NULL, churn, (void*)i) == 0,
              "pthread_create");
  }
  while (atomic_load(&g_calls) < 1000) {
    usleep(1000);
  }
  e2e_say("READY");
  e2e_wait_for_go(nothing);
  long before = atomic_load(&g_calls);
  E2E_CHECK(setlocale(LC_ALL, "C") != NULL, "setlocale after go");
  E2E_CHECK(strcmp(gettext("hello"), "hello") == 0, "gettext");
  E2E_CHECK(textdomain("e2e") != NULL, "textdomain");
  locale_t l = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  E2E_CHECK(l != (locale_t)0, "newlocale after go");
  freelocale(l);
  while (atomic_load(&g_calls) < before + 1000) {
    usleep(1000);
  }
  e2e_say("PASS");
  return 0;
}
