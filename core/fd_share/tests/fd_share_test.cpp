// fd_share_test.cpp -- the election picks exactly one leader for a
// description shared across fork, and an FdExchange hands the leader's
// description to the other process.  The runtime's functions the library
// calls are stood in for here (no coordinator, no virtual pids).
#define BOOST_TEST_MODULE fd_share
#include <linux/kcmp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dmtcp/fd_share.h"
#include "dmtcp/plugin.h"

extern "C" {
const char* dmtcp_get_computation_id_str(void) {
  static char id[64];
  snprintf(id, sizeof id, "fdsharetest%d", static_cast<int>(getpgrp()));
  return id;
}
pid_t dmtcp_real_to_virtual_pid(pid_t real_pid) {
  return real_pid;
}
pid_t dmtcp_virtual_to_real_pid(pid_t virtual_pid) {
  return virtual_pid;
}
void* dmtcp_alloc(size_t size) {
  return malloc(size);
}
void dmtcp_free(void* ptr) {
  free(ptr);
}
void dmtcp_log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}
}

using namespace dmtcp::share;

namespace {

// One byte through a pipe: the barrier between two processes' steps.
void signal_other(int fd) {
  BOOST_REQUIRE_EQUAL(write(fd, "x", 1), 1);
}
void wait_other(int fd) {
  char c;
  BOOST_REQUIRE_EQUAL(read(fd, &c, 1), 1);
}

struct Barrier {
  int to_child[2];
  int to_parent[2];
  Barrier() {
    BOOST_REQUIRE(pipe(to_child) == 0 && pipe(to_parent) == 0);
  }
};

// Runs the four election steps in this process, one barrier between each
// step and the next.
Election elect(int fd, Barrier& b, bool parent) {
  int out = parent ? b.to_child[1] : b.to_parent[1];
  int in = parent ? b.to_parent[0] : b.to_child[0];
  auto barrier = [&] {
    signal_other(out);
    wait_other(in);
  };
  Election e;
  e.fd = fd;
  save_owner(&e);
  barrier();
  claim(&e);
  barrier();
  read_leader(&e);
  barrier();
  restore_owner(&e);
  find_leader_fd(&e);
  barrier();
  return e;
}

}  // namespace

BOOST_AUTO_TEST_CASE(one_leader_for_a_description_shared_across_fork) {
  int sv[2];
  BOOST_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  // The program's own owner, which the election must put back.
  BOOST_REQUIRE(fcntl(sv[0], F_SETOWN, getpid()) == 0);
  pid_t parent_pid = getpid();
  int dup_fd = fcntl(sv[0], F_DUPFD, 40);  // the child finds it at 40 too
  Barrier b;
  pid_t child = fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    // The child holds the same description at a higher fd only.
    close(sv[0]);
    Election e = elect(dup_fd, b, false);
    int pipe_to_parent = b.to_parent[1];
    int report[3] = {e.leader ? 1 : 0, e.leader_fd, e.leader_vpid};
    (void)!write(pipe_to_parent, report, sizeof report);
    _exit(0);
  }
  Election e = elect(sv[0], b, true);
  int report[3];
  BOOST_REQUIRE_EQUAL(read(b.to_parent[0], report, sizeof report),
                      static_cast<ssize_t>(sizeof report));
  int status = 0;
  waitpid(child, &status, 0);
  BOOST_CHECK_EQUAL((e.leader ? 1 : 0) + report[0], 1);
  pid_t leader = e.leader ? parent_pid : child;
  BOOST_CHECK_EQUAL(e.leader_vpid, leader);
  BOOST_CHECK_EQUAL(report[2], leader);
  // The non-leader knows the leader's lowest fd for it.
  if (e.leader) {
    BOOST_CHECK_EQUAL(report[1], sv[0]);  // the parent's lowest
  } else {
    BOOST_CHECK_EQUAL(e.leader_fd, dup_fd);  // the child's only one
  }
  // The owner is the program's again.
  BOOST_CHECK_EQUAL(fcntl(sv[0], F_GETOWN), parent_pid);
}

namespace {

struct Provided {
  int fd;
  FdKey key;
};

int provide_one(void* ctx, const FdKey& key, int leader_fd) {
  auto* p = static_cast<Provided*>(ctx);
  if (leader_fd == 7 && memcmp(&key, &p->key, sizeof key) == 0) {
    return p->fd;
  }
  return -1;
}

struct Received {
  int count = 0;
  int fd[2] = {-1, -1};
  uint32_t cookie[2] = {0, 0};
  bool alive = false;
};

void receive(void* ctx, pid_t, uint32_t cookie, int fd, bool alive) {
  auto* r = static_cast<Received*>(ctx);
  r->fd[r->count] = fd;
  r->cookie[r->count] = cookie;
  r->alive = alive;
  ++r->count;
}

}  // namespace

BOOST_AUTO_TEST_CASE(exchange_hands_the_providers_description_over) {
  int pipe_fds[2];
  BOOST_REQUIRE(pipe(pipe_fds) == 0);
  Barrier b;
  Provided what{pipe_fds[1], {}};
  memset(&what.key, 0x5a, sizeof what.key);
  pid_t provider = fork();
  BOOST_REQUIRE(provider >= 0);
  if (provider == 0) {
    FdExchange ex("fdsharetest");
    bool ok = ex.listen(100);
    signal_other(b.to_parent[1]);  // listening
    wait_other(b.to_child[0]);     // asked
    ex.serve(provide_one, &what);
    _exit(ok ? 0 : 1);
  }
  wait_other(b.to_parent[0]);
  FdExchange ex("fdsharetest");
  FdRequest req[2] = {{what.key, 7, 11}, {what.key, 8, 12}};
  BOOST_REQUIRE(ex.ask(provider, req, 2, 100));
  signal_other(b.to_child[1]);
  Received got;
  ex.collect(100, receive, &got);
  int status = 0;
  waitpid(provider, &status, 0);
  BOOST_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  BOOST_REQUIRE_EQUAL(got.count, 2);
  BOOST_CHECK(got.alive);
  BOOST_CHECK_EQUAL(got.cookie[0], 11u);
  BOOST_CHECK_EQUAL(got.cookie[1], 12u);
  BOOST_CHECK_EQUAL(got.fd[1], -1);  // the provider did not have it
  BOOST_REQUIRE_GE(got.fd[0], 100);  // parked at the floor
  BOOST_CHECK(fcntl(got.fd[0], F_GETFD) & FD_CLOEXEC);
  // The very description: same pipe write end.
  BOOST_CHECK_EQUAL(syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE,
                            got.fd[0], pipe_fds[1]),
                    0);
}

namespace {

// A table of kEntries descriptions: entry i comes from provider i % 2,
// except every fifth, which this process re-makes itself (not asked).
constexpr size_t kEntries = 700;  // 280 per provider: more than one batch

struct TwoProviders {
  pid_t pid[2];
};

pid_t request_entry(void* ctx, size_t i, FdRequest* out) {
  if (i % 5 == 0) {
    return 0;
  }
  memset(&out->key, static_cast<int>(i % 2) + 1, sizeof out->key);
  out->leader_fd = -1;
  out->cookie = static_cast<uint32_t>(i);
  return static_cast<TwoProviders*>(ctx)->pid[i % 2];
}

int provide_by_key(void* ctx, const FdKey& key, int) {
  auto* p = static_cast<Provided*>(ctx);
  return memcmp(&key, &p->key, sizeof key) == 0 ? p->fd : -1;
}

struct Answers {
  int fd[kEntries];
  int times[kEntries] = {};
  pid_t from[kEntries] = {};
};

void receive_answer(void* ctx, pid_t provider, uint32_t cookie, int fd,
                    bool) {
  auto* a = static_cast<Answers*>(ctx);
  BOOST_REQUIRE_LT(cookie, kEntries);
  a->fd[cookie] = fd;
  a->from[cookie] = provider;
  ++a->times[cookie];
}

}  // namespace

BOOST_AUTO_TEST_CASE(ask_each_gets_every_entry_from_its_provider_once) {
  int pipes[2][2];
  Barrier b[2];
  TwoProviders providers{};
  for (int k = 0; k < 2; ++k) {
    BOOST_REQUIRE(pipe(pipes[k]) == 0);
    providers.pid[k] = fork();
    BOOST_REQUIRE(providers.pid[k] >= 0);
    if (providers.pid[k] == 0) {
      Provided what{pipes[k][1], {}};
      memset(&what.key, k + 1, sizeof what.key);
      FdExchange ex("fdsharetest");
      bool ok = ex.listen(100);
      signal_other(b[k].to_parent[1]);  // listening
      wait_other(b[k].to_child[0]);     // asked
      ex.serve(provide_by_key, &what);
      _exit(ok ? 0 : 1);
    }
    wait_other(b[k].to_parent[0]);
  }
  FdExchange ex("fdsharetest");
  BOOST_REQUIRE(ex.ask_each(kEntries, request_entry, &providers, 100));
  for (auto& barrier : b) {
    signal_other(barrier.to_child[1]);
  }
  auto* got = new Answers;
  ex.collect(100, receive_answer, got);
  for (pid_t pid : providers.pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    BOOST_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  for (size_t i = 0; i < kEntries; ++i) {
    if (i % 5 == 0) {
      BOOST_CHECK_EQUAL(got->times[i], 0);
      continue;
    }
    BOOST_REQUIRE_EQUAL(got->times[i], 1);
    BOOST_CHECK_EQUAL(got->from[i], providers.pid[i % 2]);
    BOOST_REQUIRE_GE(got->fd[i], 100);
    // The very description its provider holds: that pipe's write end.
    BOOST_CHECK_EQUAL(syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE,
                              got->fd[i], pipes[i % 2][1]),
                      0);
    close(got->fd[i]);
  }
  delete got;
}

BOOST_AUTO_TEST_CASE(asking_a_process_that_does_not_listen_fails) {
  FdExchange ex("fdsharetest");
  FdRequest req{{}, 1, 1};
  BOOST_CHECK(!ex.ask(1, &req, 1, 100));  // init never listens for us
}

BOOST_AUTO_TEST_CASE(highest_fd_and_park_fd) {
  int fd = fcntl(0, F_DUPFD, 300);
  BOOST_REQUIRE_EQUAL(fd, 300);
  BOOST_CHECK_GE(highest_fd(), 300);
  int low = dup(0);
  int parked = park_fd(low, 310);
  BOOST_CHECK_GE(parked, 310);
  BOOST_CHECK_EQUAL(fcntl(low, F_GETFD), -1);  // the old number is closed
  BOOST_CHECK_EQUAL(park_fd(parked, 310), parked);
  close(parked);
  close(fd);
}
