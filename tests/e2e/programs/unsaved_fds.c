/* Fds and objects no loaded plugin saves (docs/placeholders.md): an
 * eventfd, a timerfd, an epoll fd, a socketpair, a POSIX timer and a
 * SysV shm attachment (and, with "nofile", a file, for a run without the
 * file plugin).
 *
 * Resumed (and natively) every one still works.  After a restart each fd
 * number is still open, holding a placeholder: reads give end of file,
 * writes fail (not EBADF, no SIGPIPE death), close-on-exec is as it was,
 * and new opens do not get these numbers; the shm's bytes are still there
 * (as plain shared memory).  The harness checks the one
 * warning line per checkpoint (--ckpt-warning). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

enum { kEvent, kTimerFd, kEpoll, kSock0, kSock1, kFile, kCount };
static const char* const kNames[kCount] = {"eventfd", "timerfd", "epoll",
                                           "socket0", "socket1", "file"};

static int restarted_mode(void) {
  const char* m = getenv("DMTCP_TEST_MODE");
  return m != NULL &&
         (strcmp(m, "restart") == 0 || strcmp(m, "restart2") == 0 ||
          strcmp(m, "again") == 0 || strcmp(m, "moved") == 0);
}

static void check_placeholder(int fd, const char* name, int cloexec) {
  int flags = fcntl(fd, F_GETFD);
  E2E_CHECK(flags >= 0, "%s fd %d closed after restart: %s", name, fd,
            strerror(errno));
  E2E_CHECK((flags & FD_CLOEXEC) == cloexec, "%s fd %d: FD_CLOEXEC %d, want %d",
            name, fd, flags & FD_CLOEXEC, cloexec);
  char buf[16];
  ssize_t r = read(fd, buf, sizeof buf);
  E2E_CHECK(r == 0, "%s fd %d: read gave %zd (%s), want end of file", name, fd,
            r, r < 0 ? strerror(errno) : "data");
  errno = 0;
  ssize_t w = write(fd, "x", 1);
  E2E_CHECK(w < 0 && errno != EBADF,
            "%s fd %d: write gave %zd (%s), want a failure other than EBADF",
            name, fd, w, strerror(errno));
}

int main(int argc, char** argv) {
  int with_file = argc > 1 && strcmp(argv[1], "nofile") == 0;
  signal(SIGPIPE, SIG_DFL); /* a placeholder must not kill us */
  int fds[kCount];
  int cloexec[kCount] = {0};
  fds[kEvent] = eventfd(5, 0);
  fds[kTimerFd] = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  cloexec[kTimerFd] = FD_CLOEXEC;
  fds[kEpoll] = epoll_create1(0);
  int sp[2];
  E2E_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0, "socketpair");
  fds[kSock0] = sp[0];
  fds[kSock1] = sp[1];
  char path[4096];
  snprintf(
      path, sizeof path, "%s/unsaved_fds.data",
      getenv("DMTCP_CHECKPOINT_DIR") ? getenv("DMTCP_CHECKPOINT_DIR") : "/tmp");
  fds[kFile] = with_file ? open(path, O_RDWR | O_CREAT, 0600) : -1;
  for (int i = 0; i < kCount; ++i) {
    E2E_CHECK(fds[i] >= 0 || (i == kFile && !with_file), "%s: %s", kNames[i],
              strerror(errno));
  }
  struct itimerspec far = {.it_value = {.tv_sec = 100000}};
  E2E_CHECK(timerfd_settime(fds[kTimerFd], 0, &far, NULL) == 0, "timerfd");
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 77};
  E2E_CHECK(epoll_ctl(fds[kEpoll], EPOLL_CTL_ADD, fds[kEvent], &ev) == 0,
            "epoll_ctl");
  E2E_CHECK(write(sp[0], "hello", 5) == 5, "socket write");
  timer_t timer;
  struct sigevent sev = {.sigev_notify = SIGEV_NONE};
  E2E_CHECK(timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0, "timer_create");
  E2E_CHECK(timer_settime(timer, 0, &far, NULL) == 0, "timer_settime");
  int shmid = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
  E2E_CHECK(shmid >= 0, "shmget: %s", strerror(errno));
  char* shm = shmat(shmid, NULL, 0);
  shmctl(shmid, IPC_RMID, NULL); /* gone when we are */
  E2E_CHECK(shm != (void*)-1, "shmat: %s", strerror(errno));
  strcpy(shm, "shared");
  printf("fds: eventfd %d timerfd %d epoll %d sockets %d %d file %d\n",
         fds[kEvent], fds[kTimerFd], fds[kEpoll], sp[0], sp[1], fds[kFile]);

  e2e_say("READY");
  e2e_wait_for_go(NULL);
  E2E_CHECK(strcmp(shm, "shared") == 0, "shm holds %.8s", shm);

  if (restarted_mode()) {
    for (int i = 0; i < kCount; ++i) {
      if (fds[i] >= 0) {
        check_placeholder(fds[i], kNames[i], cloexec[i]);
      }
    }
    /* The lowest free numbers: none of them may be a number we hold. */
    for (int n = 0; n < 16; ++n) {
      int fd = open("/dev/null", O_RDONLY);
      E2E_CHECK(fd >= 0, "open: %s", strerror(errno));
      for (int i = 0; i < kCount; ++i) {
        E2E_CHECK(fd != fds[i], "open() took %s's fd %d", kNames[i], fd);
      }
    }
  } else {
    struct epoll_event got;
    E2E_CHECK(epoll_wait(fds[kEpoll], &got, 1, 1000) == 1 && got.data.u32 == 77,
              "epoll_wait: no event");
    uint64_t count = 0;
    E2E_CHECK(read(fds[kEvent], &count, 8) == 8 && count == 5,
              "eventfd count %llu", (unsigned long long)count);
    struct itimerspec left;
    E2E_CHECK(timerfd_gettime(fds[kTimerFd], &left) == 0 &&
                  left.it_value.tv_sec > 99000,
              "timerfd not armed");
    char buf[8] = "";
    E2E_CHECK(read(sp[1], buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0,
              "socket data");
    E2E_CHECK(timer_gettime(timer, &left) == 0 && left.it_value.tv_sec > 99000,
              "POSIX timer not armed");
    if (with_file) {
      E2E_CHECK(write(fds[kFile], "x", 1) == 1, "file write");
    }
  }
  e2e_say("PASS");
  return 0;
}
