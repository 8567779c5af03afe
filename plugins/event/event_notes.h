// event_notes.h -- what the event plugin tells dmtcp_inspect (image notes,
// dmtcp/inspect.h): one note per fd of an epoll set, eventfd, signalfd or
// inotify instance, written at WRITE_CKPT (event_notes.cpp), decoded by
// event_inspect.cpp (linked into dmtcp_inspect).  Descriptive only:
// restart uses the table that comes back with memory.
#pragma once

#include <stdint.h>

namespace dmtcp::event {

inline constexpr char kNoteOwner[] = "event";
inline constexpr uint32_t kNoteFd = 1;

struct FdNote {
  int32_t fd;
  int32_t flags;      // F_GETFL
  uint8_t kind;       // Kind: 0 epoll, 1 eventfd, 2 signalfd, 3 inotify
  uint8_t leader;     // 1: this process saves and re-makes it
  uint8_t semaphore;  // eventfd: EFD_SEMAPHORE
  uint8_t pad;
  int32_t saved_by;  // the leader's virtual pid
  // The leader's saved state (0 in the others' notes):
  uint64_t count;        // eventfd: the counter
  uint64_t sigmask;      // signalfd: bit n-1 = signal n
  uint32_t targets;      // epoll: registrations
  uint32_t watches;      // inotify: watches
  int32_t unread_bytes;  // inotify: events not yet read
  int32_t pad2;
};

// WRITE_CKPT, checkpoint thread (no malloc).
struct Table;
void add_notes(const Table& t);

}  // namespace dmtcp::event
