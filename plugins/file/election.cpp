// election.cpp -- one leader per open file description, across processes.
//
// Every process that holds a description writes its own pid as the
// description's owner (F_SETOWN); after a barrier the one whose pid stuck
// is the leader: it alone saves the description and re-makes it at
// restart.  The owner is the program's too (SIGIO/SIGURG go to it), so it
// is read before anyone writes and put back after everyone has read.
//
// The phases are the checkpoint's own barriers:
//   THREADS_SUSPEND  save_owners()     read the program's owner
//   SUSPENDED        claim()           write our pid
//   LEADER_ELECTION  read_leaders()    whose pid stuck
//   DRAIN            restore_owners()  the leader puts the owner back
#include "election.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/plugin.h"
#include "fd_table.h"
#include "file_util.h"

namespace dmtcp::file {
namespace {

bool takes_part(const Desc& d) {
  // Only descriptions a plugin of ours re-makes; O_PATH fds have no owner.
  return d.kind != Kind::kOther && (d.flags & O_PATH) == 0;
}

}  // namespace

void save_owners(Table* t) {
  for (Desc& d : t->descs) {
    d.owner_saved = false;
    if (!takes_part(d)) {
      continue;
    }
    if (raw_fcntl_ptr(d.first_fd, F_GETOWN_EX, &d.owner) == 0) {
      d.owner_saved = true;
      d.owner_virtual =
          d.owner.pid != 0 ? dmtcp_real_to_virtual_pid(d.owner.pid) : 0;
    }
  }
}

void claim(Table* t) {
  f_owner_ex me{F_OWNER_PID, raw_getpid()};
  for (Desc& d : t->descs) {
    if (d.owner_saved) {
      raw_fcntl_ptr(d.first_fd, F_SETOWN_EX, &me);
    }
  }
}

void read_leaders(Table* t) {
  pid_t me = raw_getpid();
  pid_t me_virtual = dmtcp_real_to_virtual_pid(me);
  for (Desc& d : t->descs) {
    d.leader = true;  // alone, or not shared: ours
    d.leader_vpid = me_virtual;
    d.leader_real = me;
    d.leader_fd = -1;
    if (!d.owner_saved) {
      continue;
    }
    f_owner_ex now{};
    if (raw_fcntl_ptr(d.first_fd, F_GETOWN_EX, &now) == 0 && now.pid != me &&
        now.pid > 0) {
      d.leader = false;
      d.leader_real = now.pid;
      d.leader_vpid = dmtcp_real_to_virtual_pid(now.pid);
    }
  }
}

void restore_owners(Table* t) {
  for (Desc& d : t->descs) {
    if (d.owner_saved && d.leader) {
      raw_fcntl_ptr(d.first_fd, F_SETOWN_EX, &d.owner);
    }
  }
}

void find_leader_fds(Table* t) {
  pid_t me = raw_getpid();
  for (Desc& d : t->descs) {
    if (d.leader || d.kind == Kind::kPipe) {
      continue;  // pipes are found by inode, whoever re-makes them
    }
    char dir_path[64];
    snprintf(dir_path, sizeof dir_path, "/proc/%d/fd", d.leader_real);
    int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
      continue;
    }
    for_each_dir_entry(dir, [&](const char* name) {
      if (name[0] >= '0' && name[0] <= '9' &&
          syscall(SYS_kcmp, me, d.leader_real, KCMP_FILE, d.first_fd,
                  atoi(name)) == 0) {
        d.leader_fd = atoi(name);
        return false;
      }
      return true;
    });
    close(dir);
  }
}

void restore_owner_after_restart(const Desc& d, int fd) {
  if (!d.owner_saved || !d.leader || d.owner_virtual == 0) {
    return;
  }
  f_owner_ex o = d.owner;
  o.pid = dmtcp_virtual_to_real_pid(d.owner_virtual);
  long rc = raw_fcntl_ptr(fd, F_SETOWN_EX, &o);
  if (rc < 0) {
    dmtcp_log("file plugin: fd %d: cannot set its owner back to %d: %s", fd,
              d.owner_virtual, strerror(static_cast<int>(-rc)));
  }
}

}  // namespace dmtcp::file
