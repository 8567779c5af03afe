// file_notes.cpp -- one image note per fd for dmtcp_inspect (file_notes.h),
// written at WRITE_CKPT from the table DRAIN completed.  No malloc: each
// note is built on the stack and copied by the runtime.
#include "file_notes.h"

#include <string.h>

#include "dmtcp/inspect.h"
#include "fd_table.h"

namespace dmtcp::file {

static_assert(static_cast<int>(NoteKind::kOther) ==
              static_cast<int>(Kind::kOther));
static_assert(static_cast<int>(NoteKind::kPtyMaster) ==
              static_cast<int>(Kind::kPtyMaster));
static_assert(static_cast<int>(NoteKind::kPath) ==
              static_cast<int>(Kind::kPath));

void add_notes(const Table& t) {
  if (dmtcp_add_image_note == nullptr) {
    return;
  }
  constexpr size_t kMaxPath = 4096;
  alignas(8) char buf[sizeof(FdNote) + kMaxPath];
  for (const FdSlot& s : t.fds) {
    if (s.desc >= t.descs.size()) {
      continue;
    }
    const Desc& d = t.descs[s.desc];
    FdNote n{};
    n.fd = s.fd;
    n.fd_flags = s.fd_flags;
    n.flags = d.flags;
    n.kind = static_cast<uint8_t>(d.kind);
    n.leader = d.el.leader ? 1 : 0;
    n.pipe_read_end = d.pipe_is_read_end ? 1 : 0;
    n.pos = d.pos;
    n.dev = d.st.st_dev;
    n.ino = d.st.st_ino;
    n.mode = d.st.st_mode;
    n.pty_index = d.pty_index;
    n.leader_vpid = d.el.leader_vpid;
    n.path_len = static_cast<uint32_t>(d.path.size() < kMaxPath ? d.path.size()
                                                                : kMaxPath);
    n.saved_bytes = d.data.size();
    n.tty_bytes = d.tty_input.size();
    memcpy(buf, &n, sizeof n);
    memcpy(buf + sizeof n, d.path.data(), n.path_len);
    // A full notes area loses the rest of them: dmtcp_inspect shows what
    // is there; the checkpoint itself does not depend on notes.
    if (dmtcp_add_image_note(kNoteOwner, kNoteFd, buf, sizeof n + n.path_len) !=
        0) {
      return;
    }
  }
}

}  // namespace dmtcp::file
