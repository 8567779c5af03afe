/* Pids kept with file descriptors, used after the checkpoint: the owner of
 * an fd's I/O signal (fcntl F_SETOWN/F_GETOWN for ourselves, a child and
 * the child's process group; F_SETOWN_EX/F_GETOWN_EX for a thread, a
 * process and a group), checked both ways and by the signal arriving where
 * it should; and SO_PEERCRED of a socketpair and of a UNIX connection
 * between the root and its child, on both sides. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "e2e.h"
#include "pid_test.h"

static socklen_t socket_name(pid_t root, struct sockaddr_un* a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1,
                   "dmtcp-pid-fd-owner-%d", root);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static pid_t peer_pid(int fd) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  E2E_CHECK(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0,
            "SO_PEERCRED: %s", strerror(errno));
  return cred.pid;
}

/* The child, leader of its own group: on SIG_C connects to the root; then
 * waits for the I/O signal sent to its group. */
static void child_main(pid_t root) {
  E2E_CHECK(wait_signal(SIG_C, 600) == 0, "child: no SIG_C");
  struct sockaddr_un a;
  socklen_t len = socket_name(root, &a);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  E2E_CHECK(s >= 0 && connect(s, (struct sockaddr*)&a, len) == 0,
            "child: connect: %s", strerror(errno));
  pid_t peer = peer_pid(s);
  E2E_CHECK(peer == root, "child: SO_PEERCRED pid %d, want the root %d", peer,
            root);
  E2E_CHECK(write(s, "k", 1) == 1, "child: write: %s", strerror(errno));
  close(s);
  E2E_CHECK(wait_signal(SIG_A, 60) == 0, "child: no I/O signal to group %d",
            getpid());
  _exit(0);
}

/* Makes `fd` readable and expects the owner's signal `sig` (in us). */
static void expect_io_signal(int rd, int wr, int sig, const char* what) {
  char c = 'x';
  E2E_CHECK(fcntl(rd, F_SETSIG, sig) == 0, "F_SETSIG: %s", strerror(errno));
  E2E_CHECK(write(wr, &c, 1) == 1, "write: %s", strerror(errno));
  E2E_CHECK(wait_signal(sig, 10) == 0, "%s: no I/O signal", what);
  E2E_CHECK(read(rd, &c, 1) == 1, "read: %s", strerror(errno));
}

static void check_owner_ex(int fd, enum __pid_type type, pid_t pid) {
  struct f_owner_ex o = {type, pid};
  E2E_CHECK(fcntl(fd, F_SETOWN_EX, &o) == 0, "F_SETOWN_EX %d %d: %s", type, pid,
            strerror(errno));
  memset(&o, 0, sizeof o);
  E2E_CHECK(fcntl(fd, F_GETOWN_EX, &o) == 0 && o.type == type && o.pid == pid,
            "F_GETOWN_EX: type %d pid %d, want %d %d (%s)", o.type, o.pid, type,
            pid, strerror(errno));
}

static void check_sockets(pid_t child) {
  int sv[2];
  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s",
            strerror(errno));
  E2E_CHECK(peer_pid(sv[0]) == getpid() && peer_pid(sv[1]) == getpid(),
            "socketpair: SO_PEERCRED %d %d, want %d", peer_pid(sv[0]),
            peer_pid(sv[1]), getpid());
  close(sv[0]);
  close(sv[1]);
  struct sockaddr_un a;
  socklen_t len = socket_name(getpid(), &a);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  E2E_CHECK(
      l >= 0 && bind(l, (struct sockaddr*)&a, len) == 0 && listen(l, 1) == 0,
      "listen: %s", strerror(errno));
  E2E_CHECK(kill(child, SIG_C) == 0, "kill(child %d): %s", child,
            strerror(errno));
  int s = accept(l, NULL, NULL);
  E2E_CHECK(s >= 0, "accept: %s", strerror(errno));
  pid_t peer = peer_pid(s);
  E2E_CHECK(peer == child, "SO_PEERCRED pid %d, want the child %d", peer,
            child);
  char c;
  E2E_CHECK(read(s, &c, 1) == 1, "the child did not check its side");
  close(s);
  close(l);
}

static void check_owners(pid_t child) {
  int p[2];
  E2E_CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
  E2E_CHECK(fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK) == 0, "O_ASYNC: %s",
            strerror(errno));
  E2E_CHECK(fcntl(p[0], F_SETOWN, getpid()) == 0, "F_SETOWN(%d): %s", getpid(),
            strerror(errno));
  E2E_CHECK(fcntl(p[0], F_GETOWN) == getpid(), "F_GETOWN %d, want %d",
            fcntl(p[0], F_GETOWN), getpid());
  expect_io_signal(p[0], p[1], SIG_B, "F_SETOWN(getpid())");
  check_owner_ex(p[0], F_OWNER_TID, gettid());
  expect_io_signal(p[0], p[1], SIG_B, "F_OWNER_TID");
  check_owner_ex(p[0], F_OWNER_PID, getpid());
  check_owner_ex(p[0], F_OWNER_PID, child);
  E2E_CHECK(fcntl(p[0], F_SETOWN, child) == 0 && fcntl(p[0], F_GETOWN) == child,
            "F_SETOWN/F_GETOWN(child %d): %d (%s)", child,
            fcntl(p[0], F_GETOWN), strerror(errno));
  check_owner_ex(p[0], F_OWNER_PGRP, child);
  E2E_CHECK(
      fcntl(p[0], F_SETOWN, -child) == 0 && fcntl(p[0], F_GETOWN) == -child,
      "F_SETOWN/F_GETOWN(-%d): %d (%s)", child, fcntl(p[0], F_GETOWN),
      strerror(errno));
  /* To the child's group: the child waits for it. */
  char c = 'x';
  E2E_CHECK(fcntl(p[0], F_SETSIG, SIG_A) == 0, "F_SETSIG: %s", strerror(errno));
  E2E_CHECK(write(p[1], &c, 1) == 1, "write: %s", strerror(errno));
  close(p[0]);
  close(p[1]);
}

int main(void) {
  block_test_signals();
  pid_t root = getpid();
  pid_t child = fork();
  E2E_CHECK(child >= 0, "fork: %s", strerror(errno));
  if (child == 0) {
    setpgid(0, 0);
    child_main(root);
  }
  setpgid(child, child);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  check_sockets(child);
  check_owners(child);
  int st = -1;
  E2E_CHECK(
      waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
      "child %d: status %#x (%s)", child, st, strerror(errno));
  e2e_say("PASS");
  return 0;
}
