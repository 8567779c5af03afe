// sysvipc_notes.h -- what the sysvipc plugin tells dmtcp_inspect (image
// notes, dmtcp/inspect.h): one note per SysV object the process knows,
// written at WRITE_CKPT (Steps<K>::note(), steps.h), decoded by
// sysvipc_inspect.cpp (linked into dmtcp_inspect).  Descriptive only:
// restart uses the registries that come back with memory.
#pragma once

#include <stdint.h>

namespace dmtcp::sysvipc {

inline constexpr char kNoteOwner[] = "sysvipc";
inline constexpr uint32_t kNoteObject = 1;

struct ObjectNote {
  char kind[4];   // "shm", "sem", "msg" (NUL-padded)
  int32_t virt;   // the program's id
  int32_t real;   // the kernel's, at checkpoint
  int32_t key;    // key_t (0 = IPC_PRIVATE)
  int32_t saver;  // 1: this process saves and re-makes it
};

}  // namespace dmtcp::sysvipc
