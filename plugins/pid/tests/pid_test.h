/* Helpers shared by the pid plugin's test programs (besides e2e.h). */
#ifndef DMTCP_PID_TEST_H
#define DMTCP_PID_TEST_H

#include <errno.h>
#include <signal.h>
#include <time.h>

/* Signals the tests exchange.  Not SIGUSR2: that is DMTCP's checkpoint
 * signal. */
#define SIG_A SIGUSR1
#define SIG_B (SIGRTMIN + 3)
#define SIG_C (SIGRTMIN + 4)

/* Blocks SIG_A, SIG_B and SIG_C, so that they wait to be taken with
 * wait_signal(); children inherit the mask. */
static inline void block_test_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIG_A);
  sigaddset(&set, SIG_B);
  sigaddset(&set, SIG_C);
  sigprocmask(SIG_BLOCK, &set, NULL);
}

/* Waits (at most `seconds`) for sig; 0 when it came, -1 otherwise. */
static inline int wait_signal(int sig, int seconds) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  struct timespec t = {1, 0};
  for (int i = 0; i < seconds; ++i) {
    int r = sigtimedwait(&set, NULL, &t);
    if (r == sig) {
      return 0;
    }
    if (r < 0 && errno != EAGAIN && errno != EINTR) {
      return -1;
    }
  }
  return -1;
}

/* 1 if sig is pending for this thread or process. */
static inline int signal_pending(int sig) {
  sigset_t set;
  sigpending(&set);
  return sigismember(&set, sig);
}

#endif
