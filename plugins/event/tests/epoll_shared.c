/* An epoll set shared by a parent and its child after fork stays one set:
 * the child registers a pipe after the fork, the parent sees that
 * registration (EEXIST) and its events; the parent's own registration
 * (an eventfd) is seen by the child. */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "event_test.h"

static int ep, efd, p[2], sync_fd;

static uint64_t wait_one(void) {
  struct epoll_event ev;
  int r;
  while ((r = epoll_wait(ep, &ev, 1, 10000)) < 0 && errno == EINTR) {
  }
  E2E_CHECK(r == 1, "epoll_wait: %d (%s)", r, r < 0 ? strerror(errno) : "-");
  return ev.data.u64;
}

int main(void) {
  ep = epoll_create1(0);
  efd = eventfd(0, EFD_NONBLOCK);
  sync_fd = eventfd(0, 0); /* child -> parent: registered */
  E2E_CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe");
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0xEF};
  E2E_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0, "add efd");
  pid_t child = fork();
  if (child == 0) {
    ev.data.u64 = 0x919E;
    E2E_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "child add");
    efd_write(sync_fd, 1);
    e2e_wait_for_go(NULL);
    /* The parent's eventfd registration is in our set too. */
    efd_write(efd, 5);
    E2E_CHECK(wait_one() == 0xEF, "child: eventfd event");
    E2E_CHECK(efd_read(efd) == 5, "child: eventfd value");
    E2E_CHECK(write(p[1], "c", 1) == 1, "child: write");
    _exit(0);
  }
  E2E_CHECK(efd_read(sync_fd) == 1, "sync");
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  /* The child's registration, seen here: one set. */
  E2E_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) < 0 && errno == EEXIST,
            "parent: the child's registration is not in the set");
  /* Once the child has taken its eventfd event, only the pipe's is left. */
  expect_child_ok(child);
  E2E_CHECK(wait_one() == 0x919E, "parent: pipe event");
  char c;
  E2E_CHECK(read(p[0], &c, 1) == 1 && c == 'c', "parent: pipe byte");
  e2e_say("PASS");
  return 0;
}
