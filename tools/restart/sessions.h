// Sessions and process groups rebuilt on restart (docs/pid.md, "Sessions
// and process groups").
//
// Each image's header carries the ids its program saw (virtual ones when
// the pid plugin runs): vpid, vpgid, vsid.  A session or group whose leader
// is one of the images is rebuilt with the leader's new real pid as its id;
// the pid plugin maps that back to the leader's virtual pid, so the program
// sees the ids it saw before.  In the process of image i (restore_subtree):
//  1. enter(): record our real pid in the shared slots.
//  2. Fork the children that are not in our session first (when we are
//     about to start a new one, they stay in the one we have).
//  3. lead(): a session leader calls setsid(), unless it leads one already
//     (dmtcp_restart itself, run by script(1), a terminal or setsid) or
//     cannot (a job-control shell made dmtcp_restart a group leader: it
//     keeps the shell's session and terminal, leading its own group); a
//     group leader calls setpgid(0, 0); a process whose group leader is
//     not an image rejoins dmtcp_restart's group if an ancestor left it.
//  4. Fork the other children, group leaders first.  After each fork the
//     parent makes the child a leader, or moves it into its leader's group
//     when that group exists already (as shells do: whichever of parent and
//     child runs first does it, so there is no race).
//  5. join(): a member of a group led by another image waits (bounded)
//     until the leader's group exists, then setpgid(0, leader's real pid).
//     Only members wait, and every process forks all its children first,
//     so no wait depends on a waiting process.
// Whose leader is not among the images (or is an image that left its own
// group or session) stays in dmtcp_restart's session and group.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace dmtcp::restart {

// What an image's program saw; host: ids are compared only within a host.
struct ProcessIds {
  pid_t vpid = 0;
  pid_t vpgid = 0;
  pid_t vsid = 0;
  std::string host;
};

class Sessions {
 public:
  Sessions() = default;
  // Before any fork: finds each image's leaders and maps the slots shared
  // by every process of the restart.
  explicit Sessions(const std::vector<ProcessIds>& ids);
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;
  Sessions(Sessions&& other) noexcept;
  Sessions& operator=(Sessions&& other) noexcept;
  ~Sessions();

  // Children of image i in fork order: before_lead are forked before
  // lead(i) (they are not in the session i starts), after_lead after it,
  // group leaders first.
  struct ForkOrder {
    std::vector<size_t> before_lead;
    std::vector<size_t> after_lead;
  };
  ForkOrder fork_order(size_t i, const std::vector<size_t>& children) const;

  void enter(size_t i);
  void lead(size_t i);
  // In the parent, right after forking image `child` as `pid`.
  void adopt(size_t child, pid_t pid);
  void join(size_t i);
  // Unmaps the shared slots: a restored process must not keep them.
  void release();

  bool session_leader(size_t i) const;
  bool group_leader(size_t i) const;
  // The image leading i's group, or -1 when its leader is not an image.
  long group_leader_of(size_t i) const;

 private:
  struct Slot;
  std::vector<ProcessIds> ids_;
  std::vector<long> group_leader_;  // image index or -1
  Slot* slots_ = nullptr;           // MAP_SHARED, one per image
  pid_t outer_pgid_ = 0;            // dmtcp_restart's group and session
  pid_t outer_sid_ = 0;
};

}  // namespace dmtcp::restart
