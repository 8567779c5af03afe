/* eventfd: counters exactly (one above UINT_MAX), EFD_SEMAPHORE,
 * EFD_NONBLOCK, EFD_CLOEXEC, a dup, and one eventfd shared with a forked
 * child: what the child adds after the checkpoint, the parent reads. */
#include <sys/eventfd.h>

#include "event_test.h"

static int plain, sem, big, shared, dupped;
static uint64_t ticks;

/* Carries a value from tick to tick: the counter holds `ticks` between
 * ticks, each tick takes it out and puts it back one higher. */
static void tick(void) {
  uint64_t v = efd_read(plain);
  E2E_CHECK(v == ticks, "tick: counter %llu, want %llu",
            (unsigned long long)v, (unsigned long long)ticks);
  efd_write(plain, ++ticks);
}

int main(void) {
  plain = eventfd(0, EFD_NONBLOCK);
  sem = eventfd(3, EFD_SEMAPHORE | EFD_CLOEXEC);
  big = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  shared = eventfd(0, 0);
  E2E_CHECK(plain >= 0 && sem >= 0 && big >= 0 && shared >= 0, "eventfd: %s",
            strerror(errno));
  efd_write(big, 0xfffffffffffffff0ull);
  dupped = dup(big);
  ticks = 1;
  efd_write(plain, ticks);
  pid_t child = fork();
  if (child == 0) {
    e2e_wait_for_go(NULL);
    efd_write(shared, 42);
    _exit(0);
  }
  e2e_say("READY");
  e2e_wait_for_go(tick);
  tick();
  /* The counters, exactly. */
  E2E_CHECK(efd_read(dupped) == 0xfffffffffffffff0ull, "big counter lost");
  uint64_t v;
  E2E_CHECK(read(big, &v, sizeof v) < 0 && errno == EAGAIN,
            "big: read after a dup's read did not say EAGAIN (not shared?)");
  for (int i = 0; i < 3; ++i) {
    E2E_CHECK(efd_read(sem) == 1, "semaphore read %d is not 1", i);
  }
  E2E_CHECK(fcntl(sem, F_GETFL) & O_NONBLOCK ? 0 : 1, "sem became nonblock");
  E2E_CHECK((fcntl(plain, F_GETFL) & O_NONBLOCK) != 0, "plain lost NONBLOCK");
  E2E_CHECK((fcntl(big, F_GETFL) & O_NONBLOCK) != 0, "big lost NONBLOCK");
  E2E_CHECK((fcntl(shared, F_GETFL) & O_NONBLOCK) == 0, "shared got NONBLOCK");
  E2E_CHECK((fcntl(plain, F_GETFD) & FD_CLOEXEC) == 0, "plain got CLOEXEC");
  E2E_CHECK((fcntl(sem, F_GETFD) & FD_CLOEXEC) != 0, "sem lost CLOEXEC");
  E2E_CHECK((fcntl(dupped, F_GETFD) & FD_CLOEXEC) == 0, "dup got CLOEXEC");
  /* One eventfd with the child: its 42 arrives here (blocking read). */
  E2E_CHECK(efd_read(shared) == 42, "shared eventfd: child's value lost");
  expect_child_ok(child);
  printf("ticks %llu\n", (unsigned long long)ticks);
  e2e_say("PASS");
  return 0;
}
