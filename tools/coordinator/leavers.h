// Processes of this host that closed their connection to leave (exit), and
// are not dead yet.
//
// Why: a process leaves the computation in an atexit handler, before its
// exit is over (it still runs destructors, flushes stdio).  Its parent,
// frozen in a round, notes at WRITE_CKPT which of its children are zombies
// so that they come back as zombies after a restart; a child that left
// but is not a zombie yet would be neither in the images nor noted, and
// after the restart the parent's wait() gets ECHILD ("gcc: failed to get
// exit status").  So no round releases THREADS_SUSPENDED while a process
// that left is still alive: each is watched with a pidfd (readable once
// the process has exited), for at most kMaxWaitMs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <vector>

namespace dmtcp::coordinator {

class Leavers {
 public:
  static constexpr int64_t kMaxWaitMs = 2000;

  Leavers() = default;
  Leavers(const Leavers&) = delete;
  Leavers& operator=(const Leavers&) = delete;
  ~Leavers();

  // Watches `pid` until it has exited.  The caller named the process
  // beyond doubt (pid, start time, owner); one already gone is ignored.
  void add(pid_t pid, int64_t now_ms);

  bool empty() const { return watched_.empty(); }
  // The pidfds to poll for POLLIN, in a stable order for on_ready().
  std::vector<int> fds() const;
  // `fd` (one of fds()) became readable: its process has exited.
  void on_ready(int fd);
  // Gives up on processes watched for kMaxWaitMs; true if any was dropped.
  bool expire(int64_t now_ms);
  // The earliest deadline, 0 with nothing watched.
  int64_t next_deadline_ms() const;

 private:
  struct Watch {
    pid_t pid;
    int64_t deadline_ms;
  };
  std::map<int, Watch> watched_;  // by pidfd
};

}  // namespace dmtcp::coordinator
