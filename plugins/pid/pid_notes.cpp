// pid_notes.cpp -- the table of virtual and real ids as image notes for
// dmtcp_inspect (pid_notes.h).  Runs in the checkpoint thread with every
// user thread frozen: the table is read under its own lock only (no
// TableAccess, which user threads take), into a buffer on the stack.
#include "pid_notes.h"

#include "dmtcp/inspect.h"
#include "pid_state.h"

namespace dmtcp::pid {

void add_notes() {
  if (dmtcp_add_image_note == nullptr) {
    return;
  }
  PidPair pairs[kPairsPerNote];
  uint32_t n = 0;
  bool full = false;
  auto flush = [&] {
    if (n != 0 && !full &&
        dmtcp_add_image_note(kNoteOwner, kNoteTable, pairs,
                             n * sizeof(PidPair)) != 0) {
      full = true;  // the notes area is full: the rest is not shown
    }
    n = 0;
  };
  table().for_each([&](VirtPid v, RealPid r) {
    pairs[n++] = {v.value, r.value};
    if (n == kPairsPerNote) {
      flush();
    }
  });
  flush();
}

}  // namespace dmtcp::pid
