// timer_notes.h -- what the timer plugin tells dmtcp_inspect (image notes,
// dmtcp/inspect.h): one note per POSIX timer, written at WRITE_CKPT by
// posix_timer.cpp, decoded by timer_inspect.cpp (linked into
// dmtcp_inspect).  Descriptive only: restart uses the records that come
// back with memory.
#pragma once

#include <stdint.h>

namespace dmtcp::timer {

inline constexpr char kNoteOwner[] = "timer";
inline constexpr uint32_t kNotePosixTimer = 1;

struct PosixTimerNote {
  int32_t virt;    // the program's timer id
  int32_t real;    // the kernel's, at checkpoint
  int32_t clock;   // the clockid_t the program gave
  int32_t notify;  // SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, ...
  int32_t signo;
  int32_t absolute;  // last timer_settime had TIMER_ABSTIME
  int64_t left_ns;   // time left at checkpoint (0: disarmed)
  int64_t interval_ns;
};

}  // namespace dmtcp::timer
