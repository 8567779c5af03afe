/* Signal state comes back: handlers and their flags, ignored signals, each
 * thread's signal mask and alternate stack; a handler installed with
 * SA_ONSTACK still runs on the alternate stack after restart. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "e2e.h"

static char g_altstack[64 * 1024];
static volatile sig_atomic_t g_hits = 0;
static volatile sig_atomic_t g_on_altstack = 0;
static volatile int g_thread_ok = -1;

static void on_usr1(int sig) {
  (void)sig;
  char here;
  uintptr_t p = (uintptr_t)&here;
  g_on_altstack = p >= (uintptr_t)g_altstack &&
                  p < (uintptr_t)g_altstack + sizeof g_altstack;
  g_hits++;
}

static void *thread_main(void *arg) {
  (void)arg;
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &m, NULL);
  e2e_wait_for_go(NULL);
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  g_thread_ok = sigismember(&now, SIGHUP) && !sigismember(&now, SIGINT);
  return NULL;
}

int main(void) {
  stack_t ss = {.ss_sp = g_altstack, .ss_size = sizeof g_altstack};
  E2E_CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK | SA_RESTART;
  sigaddset(&sa.sa_mask, SIGWINCH);
  E2E_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
  signal(SIGTERM, SIG_IGN);
  /* The thread starts before main blocks SIGINT: masks are per thread. */
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, NULL);
  raise(SIGUSR1);
  E2E_CHECK(g_hits == 1 && g_on_altstack, "handler before checkpoint");
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  struct sigaction now;
  sigaction(SIGUSR1, NULL, &now);
  E2E_CHECK(now.sa_handler == on_usr1, "SIGUSR1 handler lost");
  E2E_CHECK((now.sa_flags & SA_ONSTACK) && (now.sa_flags & SA_RESTART),
            "SIGUSR1 flags %x", now.sa_flags);
  E2E_CHECK(sigismember(&now.sa_mask, SIGWINCH), "handler mask lost");
  sigaction(SIGTERM, NULL, &now);
  E2E_CHECK(now.sa_handler == SIG_IGN, "SIGTERM no longer ignored");
  sigset_t mask;
  sigprocmask(SIG_BLOCK, NULL, &mask);
  E2E_CHECK(sigismember(&mask, SIGINT), "SIGINT no longer blocked");
  E2E_CHECK(!sigismember(&mask, SIGUSR1), "SIGUSR1 blocked");
  stack_t cur;
  sigaltstack(NULL, &cur);
  E2E_CHECK(cur.ss_sp == g_altstack && cur.ss_size == sizeof g_altstack &&
                !(cur.ss_flags & SS_DISABLE),
            "sigaltstack lost (%p %zu %d)", cur.ss_sp, cur.ss_size,
            cur.ss_flags);
  raise(SIGUSR1);
  E2E_CHECK(g_hits == 2, "handler did not run after restart");
  E2E_CHECK(g_on_altstack, "handler not on the alternate stack");
  pthread_join(t, NULL);
  E2E_CHECK(g_thread_ok == 1, "second thread's mask lost");
  e2e_say("PASS");
  return 0;
}
