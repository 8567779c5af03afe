// election.cpp -- one leader per open file description, across processes
// (dmtcp/fd_share.h, part 1).
//
// Every process that holds a description writes its own pid as the
// description's owner (F_SETOWN_EX); after a barrier the one whose pid
// stuck is the leader.
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dmtcp/fd_share.h"
#include "dmtcp/plugin.h"

namespace dmtcp::share {

void save_owner(Election* e) {
  e->owner_saved = false;
  if (raw_fcntl_ptr(e->fd, F_GETOWN_EX, &e->owner) == 0) {
    e->owner_saved = true;
    e->owner_virtual =
        e->owner.pid != 0 ? dmtcp_real_to_virtual_pid(e->owner.pid) : 0;
  }
}

void claim(Election* e) {
  f_owner_ex me{F_OWNER_PID, raw_getpid()};
  if (e->owner_saved) {
    raw_fcntl_ptr(e->fd, F_SETOWN_EX, &me);
  }
}

void read_leader(Election* e) {
  pid_t me = raw_getpid();
  e->leader = true;  // alone, or not shared: ours
  e->leader_vpid = dmtcp_real_to_virtual_pid(me);
  e->leader_real = me;
  e->leader_fd = -1;
  if (!e->owner_saved) {
    return;
  }
  f_owner_ex now{};
  if (raw_fcntl_ptr(e->fd, F_GETOWN_EX, &now) == 0 && now.pid != me &&
      now.pid > 0) {
    e->leader = false;
    e->leader_real = now.pid;
    e->leader_vpid = dmtcp_real_to_virtual_pid(now.pid);
  }
}

void restore_owner(Election* e) {
  if (e->owner_saved && e->leader) {
    raw_fcntl_ptr(e->fd, F_SETOWN_EX, &e->owner);
  }
}

void find_leader_fd(Election* e) {
  if (e->leader) {
    return;
  }
  pid_t me = raw_getpid();
  char dir_path[64];
  snprintf(dir_path, sizeof dir_path, "/proc/%d/fd", e->leader_real);
  int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return;
  }
  for_each_dir_entry(dir, [&](const char* name) {
    if (name[0] >= '0' && name[0] <= '9' &&
        syscall(SYS_kcmp, me, e->leader_real, KCMP_FILE, e->fd, atoi(name)) ==
            0) {
      e->leader_fd = atoi(name);
      return false;
    }
    return true;
  });
  close(dir);
}

void restore_owner_after_restart(const Election& e, int fd) {
  if (!e.owner_saved || !e.leader || e.owner_virtual == 0) {
    return;
  }
  f_owner_ex o = e.owner;
  o.pid = dmtcp_virtual_to_real_pid(e.owner_virtual);
  long rc = raw_fcntl_ptr(fd, F_SETOWN_EX, &o);
  if (rc < 0) {
    dmtcp_log("fd %d: cannot set its owner back to %d: %s", fd,
              e.owner_virtual, strerror(static_cast<int>(-rc)));
  }
}

}  // namespace dmtcp::share
