// sessions.cpp -- see sessions.h.
#include "tools/restart/sessions.h"

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "common/log.h"

namespace dmtcp::restart {

// One per image, in memory shared by every process of the restart.
struct Sessions::Slot {
  std::atomic<pid_t> real;        // the image's new real pid; 0 = not yet
  std::atomic<int> group_exists;  // a group leader's group was made
};
static_assert(std::atomic<pid_t>::is_always_lock_free &&
                  std::atomic<int>::is_always_lock_free,
              "slots are shared between processes");

namespace {

// How long a member waits for its leader's group: the leader is forked by
// a process that does not wait for anything, so this is only a safeguard
// against a leader that failed to restore.
constexpr int kJoinWaitMs = 10000;

void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, nullptr);
}

}  // namespace

Sessions::Sessions(const std::vector<ProcessIds>& ids)
    : ids_(ids), group_leader_(ids.size(), -1) {
  // (host, vpid) -> image; the first image wins if two claim one pid.
  std::map<std::pair<std::string, pid_t>, size_t> by_vpid;
  for (size_t i = 0; i < ids_.size(); ++i) {
    by_vpid.emplace(std::make_pair(ids_[i].host, ids_[i].vpid), i);
  }
  for (size_t i = 0; i < ids_.size(); ++i) {
    auto it = by_vpid.find(std::make_pair(ids_[i].host, ids_[i].vpgid));
    // The leader must still lead its group: an image that moved to
    // another group cannot recreate the one named after it.
    if (it != by_vpid.end() && group_leader(it->second)) {
      group_leader_[i] = static_cast<long>(it->second);
    }
  }
  outer_pgid_ = getpgrp();
  outer_sid_ = getsid(0);
  if (ids_.empty()) {
    return;
  }
  void* p = mmap(nullptr, ids_.size() * sizeof(Slot), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  DMTCP_ASSERT(p != MAP_FAILED, "mmap of %zu session slots failed",
               ids_.size());
  slots_ = static_cast<Slot*>(p);  // zero-filled: nothing known yet
}

Sessions::Sessions(Sessions&& other) noexcept {
  *this = std::move(other);
}

Sessions& Sessions::operator=(Sessions&& other) noexcept {
  if (this != &other) {
    release();
    ids_ = std::move(other.ids_);
    group_leader_ = std::move(other.group_leader_);
    slots_ = std::exchange(other.slots_, nullptr);
    outer_pgid_ = other.outer_pgid_;
    outer_sid_ = other.outer_sid_;
  }
  return *this;
}

Sessions::~Sessions() {
  release();
}

void Sessions::release() {
  if (slots_ != nullptr) {
    munmap(slots_, ids_.size() * sizeof(Slot));
    slots_ = nullptr;
  }
}

bool Sessions::session_leader(size_t i) const {
  return ids_[i].vsid == ids_[i].vpid;
}

bool Sessions::group_leader(size_t i) const {
  return ids_[i].vpgid == ids_[i].vpid;
}

long Sessions::group_leader_of(size_t i) const {
  return group_leader_[i];
}

Sessions::ForkOrder Sessions::fork_order(
    size_t i, const std::vector<size_t>& children) const {
  ForkOrder order;
  for (size_t c : children) {
    bool outside = session_leader(i) && ids_[c].vsid != ids_[i].vpid;
    (outside ? order.before_lead : order.after_lead).push_back(c);
  }
  auto leaders_first = [this](size_t a, size_t b) {
    return group_leader(a) && !group_leader(b);
  };
  std::stable_sort(order.before_lead.begin(), order.before_lead.end(),
                   leaders_first);
  std::stable_sort(order.after_lead.begin(), order.after_lead.end(),
                   leaders_first);
  return order;
}

void Sessions::enter(size_t i) {
  if (slots_ != nullptr) {
    slots_[i].real.store(getpid());
  }
}

void Sessions::lead(size_t i) {
  if (session_leader(i)) {
    // dmtcp_restart itself may lead a session already (run by script(1),
    // a terminal, setsid): then it is this one, terminal included.  If a
    // job-control shell made it a group leader, setsid() fails: it keeps
    // the shell's session and terminal (docs/pid.md), leading its group.
    if (getsid(0) != getpid() && setsid() < 0 && getpgrp() != getpid()) {
      DMTCP_WARN("pid %d: cannot restore its session: setsid: %s", ids_[i].vpid,
                 strerror(errno));
      return;
    }
    slots_[i].group_exists.store(1);
    return;
  }
  if (group_leader(i)) {
    if (setpgid(0, 0) < 0) {
      DMTCP_WARN("pid %d: cannot restore its process group: setpgid: %s",
                 ids_[i].vpid, strerror(errno));
      return;
    }
    slots_[i].group_exists.store(1);
    return;
  }
  if (group_leader_[i] < 0 && getsid(0) == outer_sid_ &&
      getpgrp() != outer_pgid_) {
    // An ancestor made a group ours is not: back to dmtcp_restart's, if it
    // still exists (best effort: the ids are not the program's anyway).
    setpgid(0, outer_pgid_);
  }
}

void Sessions::adopt(size_t child, pid_t pid) {
  slots_[child].real.store(pid);
  if (session_leader(child)) {
    return;  // it starts its own session; a group now would prevent it
  }
  if (group_leader(child)) {
    if (setpgid(pid, pid) == 0) {
      slots_[child].group_exists.store(1);
    }
    return;
  }
  long leader = group_leader_[child];
  if (leader >= 0 && slots_[leader].group_exists.load() != 0) {
    // EACCES if the child already became its image: join() did it then.
    setpgid(pid, slots_[leader].real.load());
  }
}

void Sessions::join(size_t i) {
  long leader = group_leader_[i];
  if (leader < 0 || static_cast<size_t>(leader) == i) {
    return;
  }
  Slot& s = slots_[leader];
  for (int waited = 0; s.group_exists.load() == 0; ++waited) {
    if (waited >= kJoinWaitMs) {
      DMTCP_WARN(
          "pid %d: the leader of its process group (%d) did not "
          "restore it; the group is not rebuilt",
          ids_[i].vpid, ids_[leader].vpid);
      return;
    }
    sleep_ms(1);
  }
  pid_t pgid = s.real.load();
  if (getpgrp() != pgid && setpgid(0, pgid) < 0) {
    DMTCP_WARN("pid %d: cannot join process group %d (now %d): %s",
               ids_[i].vpid, ids_[leader].vpid, pgid, strerror(errno));
  }
}

}  // namespace dmtcp::restart
