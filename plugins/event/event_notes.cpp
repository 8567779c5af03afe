// event_notes.cpp -- one image note per fd for dmtcp_inspect
// (event_notes.h), from the table DRAIN completed.  No malloc: each note is
// built on the stack and copied by the runtime.
#include "event_notes.h"

#include "dmtcp/inspect.h"
#include "event_table.h"

namespace dmtcp::event {

static_assert(static_cast<int>(Kind::kInotify) == 3);

void add_notes(const Table& t) {
  if (dmtcp_add_image_note == nullptr) {
    return;
  }
  for (const FdSlot& s : t.fds) {
    if (s.desc >= t.descs.size()) {
      continue;
    }
    const Desc& d = t.descs[s.desc];
    FdNote n{};
    n.fd = s.fd;
    n.flags = d.flags;
    n.kind = static_cast<uint8_t>(d.kind);
    n.leader = d.el.leader ? 1 : 0;
    n.saved_by = d.el.leader_vpid;
    if (d.el.leader) {
      n.semaphore = d.semaphore ? 1 : 0;
      n.count = d.count;
      n.sigmask = d.sigmask;
      n.targets = static_cast<uint32_t>(d.targets.size());
      n.watches = static_cast<uint32_t>(d.watches.size());
      n.unread_bytes = d.unread_bytes;
    }
    // A full notes area loses the rest: only dmtcp_inspect misses them.
    if (dmtcp_add_image_note(kNoteOwner, kNoteFd, &n, sizeof n) != 0) {
      return;
    }
  }
}

}  // namespace dmtcp::event
