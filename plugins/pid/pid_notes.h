// pid_notes.h -- what the pid plugin tells dmtcp_inspect (image notes,
// dmtcp/inspect.h): its table of virtual and real pids and tids, written
// at WRITE_CKPT (pid_notes.cpp) in notes of up to kPairsPerNote pairs,
// decoded by pid_inspect.cpp (linked into dmtcp_inspect).  Descriptive
// only: restart uses the table that comes back with memory.
#pragma once

#include <stdint.h>

namespace dmtcp::pid {

inline constexpr char kNoteOwner[] = "pid";
inline constexpr uint32_t kNoteTable = 1;  // PidPair[]
inline constexpr uint32_t kPairsPerNote = 256;

struct PidPair {
  int32_t virt;  // as the program sees it
  int32_t real;  // the kernel's, at checkpoint
};

// WRITE_CKPT, checkpoint thread (no malloc).
void add_notes();

}  // namespace dmtcp::pid
