/* POSIX message queues across checkpoint and restart: a queue with
 * messages of mixed priorities and its attributes, a second descriptor of
 * it with O_NONBLOCK, a child blocked in mq_receive during the checkpoint,
 * an mq_notify (SIGEV_SIGNAL) registration, and a queue whose name was
 * unlinked while it is still open.  After go: attributes, flags, every
 * message in priority order (FIFO within a priority), the notification
 * fires, the unlinked queue keeps its messages and its name stays gone. */
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "sysvipc_test.h"

#define NAME "/sysvipc-test-main"
#define NAME_NOTIFY "/sysvipc-test-notify"
#define NAME_WAIT "/sysvipc-test-wait"
#define NAME_GONE "/sysvipc-test-gone"
#define COUNT 9 /* msg_max is 10 in a new IPC namespace */

static int prio_of(int i) {
  return (i * 7) % 5;
}

static mqd_t make(const char *name, long maxmsg, long msgsize, int mode) {
  struct mq_attr a = {0, maxmsg, msgsize, 0, {0}};
  printf("MQNAME %s\n", name); /* the harness removes it before restart */
  fflush(stdout);
  mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, mode, &a);
  E2E_CHECK(q >= 0, "mq_open %s: %s", name, strerror(errno));
  return q;
}

static void send_text(mqd_t q, const char *text, unsigned prio) {
  E2E_CHECK(mq_send(q, text, strlen(text) + 1, prio) == 0, "mq_send: %s",
            strerror(errno));
}

static void expect_text(mqd_t q, const char *want, unsigned want_prio) {
  char buf[128];
  unsigned prio = 0;
  ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
  E2E_CHECK(n == (ssize_t)strlen(want) + 1 && strcmp(buf, want) == 0 &&
                prio == want_prio,
            "mq_receive: %zd bytes '%s' prio %u, wanted '%s' prio %u (%s)", n,
            n > 0 ? buf : "", prio, want, want_prio, strerror(errno));
}

int main(void) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);

  mqd_t q = make(NAME, 10, 128, 0640);
  mqd_t nq = make(NAME_NOTIFY, 4, 32, 0600);
  mqd_t wq = make(NAME_WAIT, 4, 32, 0600);
  mqd_t gq = make(NAME_GONE, 8, 64, 0600);
  mqd_t nb = mq_open(NAME, O_RDONLY | O_NONBLOCK);
  E2E_CHECK(nb >= 0, "mq_open nb: %s", strerror(errno));
  char text[64];
  for (int i = 0; i < COUNT; ++i) {
    snprintf(text, sizeof text, "message %d", i);
    send_text(q, text, (unsigned)prio_of(i));
  }
  for (int i = 0; i < 3; ++i) {
    snprintf(text, sizeof text, "gone %d", i);
    send_text(gq, text, 1);
  }
  E2E_CHECK(mq_unlink(NAME_GONE) == 0, "mq_unlink: %s", strerror(errno));
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGUSR1;
  E2E_CHECK(mq_notify(nq, &sev) == 0, "mq_notify: %s", strerror(errno));

  int ready[2];
  E2E_CHECK(pipe(ready) == 0, "pipe");
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork");
  if (child == 0) {
    E2E_CHECK(write(ready[1], "r", 1) == 1, "write");
    expect_text(wq, "wake up", 3); /* blocked through the checkpoint */
    E2E_CHECK(e2e_go_seen(), "woke before go");
    send_text(nq, "ring", 0); /* fires the parent's notification */
    _exit(0);
  }
  char c;
  E2E_CHECK(read(ready[0], &c, 1) == 1, "read");
  usleep(50000); /* the child is in mq_receive now */
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  struct mq_attr a;
  E2E_CHECK(mq_getattr(q, &a) == 0, "mq_getattr: %s", strerror(errno));
  E2E_CHECK(a.mq_maxmsg == 10 && a.mq_msgsize == 128 && a.mq_curmsgs == COUNT &&
                a.mq_flags == 0,
            "attributes: maxmsg %ld msgsize %ld curmsgs %ld flags %ld",
            a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs, a.mq_flags);
  E2E_CHECK(mq_getattr(nb, &a) == 0 && a.mq_flags == O_NONBLOCK,
            "nb: flags %ld", a.mq_flags);
  for (int p = 4; p >= 0; --p) {
    for (int i = 0; i < COUNT; ++i) {
      if (prio_of(i) == p) {
        snprintf(text, sizeof text, "message %d", i);
        expect_text(i % 2 ? q : nb, text, (unsigned)p);
      }
    }
  }
  char buf[128];
  E2E_CHECK(mq_receive(nb, buf, sizeof buf, NULL) == -1 && errno == EAGAIN,
            "nb: an empty queue did not say EAGAIN (%s)", strerror(errno));
  for (int i = 0; i < 3; ++i) {
    snprintf(text, sizeof text, "gone %d", i);
    expect_text(gq, text, 1);
  }
  E2E_CHECK(mq_open(NAME_GONE, O_RDONLY) == -1 && errno == ENOENT,
            "the unlinked name came back");
  send_text(wq, "wake up", 3);
  struct timespec t = {20, 0};
  E2E_CHECK(sigtimedwait(&usr1, NULL, &t) == SIGUSR1,
            "no notification: %s", strerror(errno));
  expect_text(nq, "ring", 0);
  expect_child_ok(child);
  E2E_CHECK(mq_close(q) == 0 && mq_close(nb) == 0 && mq_close(gq) == 0,
            "mq_close");
  mq_unlink(NAME);
  mq_unlink(NAME_NOTIFY);
  mq_unlink(NAME_WAIT);
  e2e_say("PASS");
  return 0;
}
