// file_notes.h -- what the file plugin tells dmtcp_inspect about each fd
// (image notes, dmtcp/inspect.h): one note per fd, written at WRITE_CKPT
// by file_notes.cpp, decoded by file_inspect.cpp.  Descriptive only:
// restart uses the table that comes back with memory, never these.
//
// This header stands alone (no plugin internals): the decoder is linked
// into dmtcp_inspect.
#pragma once

#include <stdint.h>

namespace dmtcp::file {

inline constexpr char kNoteOwner[] = "file";
inline constexpr uint32_t kNoteFd = 1;

// Kind, as stored (fd_table.h's Kind; file_notes.cpp checks they agree).
enum class NoteKind : uint8_t {
  kPath = 0,
  kDeleted,
  kFifo,
  kPipe,
  kTerminal,
  kPtyMaster,
  kOther,
};

struct FdNote {
  int32_t fd;
  int32_t fd_flags;  // F_GETFD
  int32_t flags;     // F_GETFL (O_ACCMODE, O_APPEND, O_NONBLOCK ...)
  uint8_t kind;      // NoteKind
  uint8_t leader;    // 1: this process saves and re-makes the description
  uint8_t pipe_read_end;
  uint8_t pad;
  int64_t pos;   // offset, -1 where not seekable
  uint64_t dev;  // st_dev, st_ino, st_mode of what it points at
  uint64_t ino;
  uint32_t mode;
  int32_t pty_index;     // /dev/pts number, -1 when not a pty
  int32_t leader_vpid;   // the process that saves it
  uint32_t path_len;     // bytes of path after this struct
  uint64_t saved_bytes;  // leader: unread pipe/FIFO bytes, or a deleted
                         // file's contents, kept in the image
  uint64_t tty_bytes;    // pty master (leader): bytes on their way in
};

}  // namespace dmtcp::file
