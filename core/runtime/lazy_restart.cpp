// See lazy_restart.h.
#include "runtime/lazy_restart.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "common/log.h"

namespace dmtcp::lazy_restart {
namespace {

// Protects: g_fd (the read and the close).
pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
int g_fd = -1;
std::atomic<bool> g_pending{false};  // g_fd is open: someone must read it

}  // namespace

void adopt(int fd) {
  g_fd = fd;
  g_pending.store(fd >= 0, std::memory_order_release);
}

void wait_resident() {
  if (!g_pending.load(std::memory_order_acquire)) {
    return;
  }
  pthread_mutex_lock(&g_mu);
  if (g_fd >= 0) {
    char byte = 0;
    long r;
    do {
      r = syscall(SYS_read, g_fd, &byte, 1);
    } while (r < 0 && errno == EINTR);
    syscall(SYS_close, g_fd);
    g_fd = -1;
    if (r != 1 || byte != '1') {
      DMTCP_ERROR(
          "the lazy restart helper ended before every page of this "
          "process was read back; its memory cannot be trusted, exiting");
      _exit(70);
    }
    g_pending.store(false, std::memory_order_release);
  }
  pthread_mutex_unlock(&g_mu);
}

}  // namespace dmtcp::lazy_restart
