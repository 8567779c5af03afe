#include "leavers.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace dmtcp::coordinator {

Leavers::~Leavers() {
  for (const auto& [fd, w] : watched_) {
    ::close(fd);
  }
}

void Leavers::add(pid_t pid, int64_t now_ms) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    // ESRCH: already reaped, nothing to wait for.  Anything else (a
    // kernel without pidfds): the round goes on as it did before.
    if (errno != ESRCH) {
      DMTCP_DEBUG("pidfd_open(%d): %s; not waiting for its exit", pid,
                  strerror(errno));
    }
    return;
  }
  watched_[fd] = Watch{pid, now_ms + kMaxWaitMs};
}

std::vector<int> Leavers::fds() const {
  std::vector<int> v;
  v.reserve(watched_.size());
  for (const auto& [fd, w] : watched_) {
    v.push_back(fd);
  }
  return v;
}

void Leavers::on_ready(int fd) {
  auto it = watched_.find(fd);
  if (it != watched_.end()) {
    ::close(fd);
    watched_.erase(it);
  }
}

bool Leavers::expire(int64_t now_ms) {
  bool any = false;
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (now_ms < it->second.deadline_ms) {
      ++it;
      continue;
    }
    DMTCP_INFO("process %d left the computation %lld ms ago and has not "
               "exited yet; rounds no longer wait for it",
               it->second.pid, static_cast<long long>(kMaxWaitMs));
    ::close(it->first);
    it = watched_.erase(it);
    any = true;
  }
  return any;
}

int64_t Leavers::next_deadline_ms() const {
  int64_t next = 0;
  for (const auto& [fd, w] : watched_) {
    if (next == 0 || w.deadline_ms < next) {
      next = w.deadline_ms;
    }
  }
  return next;
}

}  // namespace dmtcp::coordinator
