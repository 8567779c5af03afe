// election.cpp -- one leader per open file description, across processes:
// the file plugin's descriptions go through the shared election
// (dmtcp/fd_share.h), step by step with the round's barriers.
#include "election.h"

#include "fd_table.h"

namespace dmtcp::file {
namespace {

bool takes_part(const Desc& d) {
  // Only descriptions this plugin re-makes; O_PATH fds have no owner.
  return d.kind != Kind::kOther && (d.flags & O_PATH) == 0;
}

}  // namespace

void save_owners(Table* t) {
  for (Desc& d : t->descs) {
    d.el = share::Election{};
    d.el.fd = d.first_fd;
    if (takes_part(d)) {
      share::save_owner(&d.el);
    }
  }
}

void claim(Table* t) {
  for (Desc& d : t->descs) {
    share::claim(&d.el);
  }
}

void read_leaders(Table* t) {
  for (Desc& d : t->descs) {
    share::read_leader(&d.el);
  }
}

void restore_owners(Table* t) {
  for (Desc& d : t->descs) {
    share::restore_owner(&d.el);
  }
}

void find_leader_fds(Table* t) {
  for (Desc& d : t->descs) {
    if (d.kind != Kind::kPipe) {  // pipes are found by inode
      share::find_leader_fd(&d.el);
    }
  }
}

}  // namespace dmtcp::file
