/* SysV message queues across checkpoint and restart.  A keyed queue with
 * a smaller msg_qbytes holds typed messages: the child reads type 1 in
 * order (blocked in msgrcv during the checkpoint), while a backlog of
 * type 2 messages waits untouched.  A private queue is full, with a second
 * child blocked in msgsnd.  After go: the same ids, msg_qbytes and mode;
 * every message with its type, text and order, none lost or doubled; the
 * blocked sender's message arrives after the parked ones. */
#include <sys/ipc.h>
#include <sys/msg.h>

#include "sysvipc_test.h"

#define KEY_Q 0x5f0001
#define QBYTES 12000
#define BEFORE 40  /* type 1 messages before go (all read before READY) */
#define AFTER 60   /* type 1 messages after go */
#define PARKED 50  /* type 2, read at the end */
#define FULL_QBYTES 256

struct text_msg {
  long mtype;
  char text[64];
};

static void send_text(int q, long type, const char *fmt, int i) {
  struct text_msg m = {type, {0}};
  int n = snprintf(m.text, sizeof m.text, fmt, i);
  E2E_CHECK(msgsnd(q, &m, (size_t)n + 1, 0) == 0, "msgsnd: %s",
            strerror(errno));
}

static void expect_text(int q, long type, const char *fmt, int i) {
  struct text_msg m;
  char want[64];
  int n = snprintf(want, sizeof want, fmt, i);
  ssize_t got = msgrcv(q, &m, sizeof m.text, type, 0);
  E2E_CHECK(got == n + 1 && m.mtype == type && strcmp(m.text, want) == 0,
            "msgrcv type %ld: got %zd bytes type %ld '%s', wanted '%s'", type,
            got, m.mtype, got > 0 ? m.text : "", want);
}

int main(void) {
  int q = msgget(KEY_Q, IPC_CREAT | IPC_EXCL | 0620);
  int full = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  E2E_CHECK(q >= 0 && full >= 0, "msgget: %s", strerror(errno));
  struct msqid_ds ds;
  E2E_CHECK(msgctl(q, IPC_STAT, &ds) == 0, "IPC_STAT");
  ds.msg_qbytes = QBYTES;
  E2E_CHECK(msgctl(q, IPC_SET, &ds) == 0, "IPC_SET: %s", strerror(errno));
  E2E_CHECK(msgctl(full, IPC_STAT, &ds) == 0, "IPC_STAT");
  ds.msg_qbytes = FULL_QBYTES;
  E2E_CHECK(msgctl(full, IPC_SET, &ds) == 0, "IPC_SET: %s", strerror(errno));
  for (int i = 0; i < PARKED; ++i) {
    send_text(q, 2, "parked %d", i);
  }
  /* The full queue: four 64-byte messages. */
  for (int i = 0; i < 4; ++i) {
    struct text_msg m = {7, {0}};
    memset(m.text, 'a' + i, sizeof m.text);
    E2E_CHECK(msgsnd(full, &m, sizeof m.text, IPC_NOWAIT) == 0, "fill: %s",
              strerror(errno));
  }
  int ack[2];
  E2E_CHECK(pipe(ack) == 0, "pipe");
  pid_t reader = fork();
  if (reader == 0) {
    for (int i = 0; i < BEFORE + AFTER; ++i) {
      if (i == BEFORE) {
        E2E_CHECK(write(ack[1], "r", 1) == 1, "write");
      }
      expect_text(q, 1, "message %d", i); /* blocks at BEFORE */
      if (i >= BEFORE) {
        E2E_CHECK(e2e_go_seen(), "message %d came before go", i);
      }
    }
    _exit(0);
  }
  pid_t sender = fork();
  if (sender == 0) {
    struct text_msg m = {9, "from the blocked sender"};
    E2E_CHECK(write(ack[1], "s", 1) == 1, "write");
    E2E_CHECK(msgsnd(full, &m, sizeof m.text, 0) == 0, "blocked msgsnd: %s",
              strerror(errno));
    _exit(0);
  }
  for (int i = 0; i < BEFORE; ++i) {
    send_text(q, 1, "message %d", i);
  }
  char c;
  E2E_CHECK(read(ack[0], &c, 1) == 1 && read(ack[0], &c, 1) == 1, "read");
  /* Wait until the reader has taken all BEFORE messages. */
  for (;;) {
    E2E_CHECK(msgctl(q, IPC_STAT, &ds) == 0, "IPC_STAT");
    if (ds.msg_qnum == PARKED) {
      break;
    }
    usleep(1000);
  }
  usleep(50000); /* the reader and the sender are in the kernel now */
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  E2E_CHECK(msgget(KEY_Q, 0) == q, "msgget(KEY_Q) is %d, not %d",
            msgget(KEY_Q, 0), q);
  E2E_CHECK(msgctl(q, IPC_STAT, &ds) == 0, "IPC_STAT: %s", strerror(errno));
  E2E_CHECK(ds.msg_qbytes == QBYTES && (ds.msg_perm.mode & 0777) == 0620 &&
                ds.msg_perm.__key == KEY_Q && ds.msg_qnum == PARKED,
            "IPC_STAT: qbytes %lu mode %o key %#x qnum %lu",
            (unsigned long)ds.msg_qbytes, ds.msg_perm.mode & 0777,
            ds.msg_perm.__key, (unsigned long)ds.msg_qnum);
  for (int i = BEFORE; i < BEFORE + AFTER; ++i) {
    send_text(q, 1, "message %d", i);
  }
  expect_child_ok(reader);
  for (int i = 0; i < PARKED; ++i) {
    expect_text(q, 2, "parked %d", i);
  }
  E2E_CHECK(msgctl(full, IPC_STAT, &ds) == 0 && ds.msg_qbytes == FULL_QBYTES,
            "full queue: qbytes %lu", (unsigned long)ds.msg_qbytes);
  for (int i = 0; i < 5; ++i) {
    struct text_msg m;
    ssize_t n = msgrcv(full, &m, sizeof m.text, 0, 0);
    E2E_CHECK(n == (ssize_t)sizeof m.text, "full queue: %zd bytes", n);
    if (i < 4) {
      E2E_CHECK(m.mtype == 7 && m.text[0] == 'a' + i && m.text[63] == 'a' + i,
                "full queue message %d: type %ld '%c'", i, m.mtype, m.text[0]);
    } else {
      E2E_CHECK(m.mtype == 9 && strcmp(m.text, "from the blocked sender") == 0,
                "the blocked sender's message: type %ld '%s'", m.mtype,
                m.text);
    }
  }
  expect_child_ok(sender);
  E2E_CHECK(msgrcv(q, NULL, 0, 0, IPC_NOWAIT) == -1 && errno == ENOMSG,
            "messages left over");
  E2E_CHECK(msgctl(q, IPC_RMID, NULL) == 0 && msgctl(full, IPC_RMID, NULL) == 0,
            "IPC_RMID: %s", strerror(errno));
  e2e_say("PASS");
  return 0;
}
