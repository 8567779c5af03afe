// file_inspect.cpp -- dmtcp_inspect's decoder for the file plugin's notes
// (file_notes.h): one object "fd" per note.  Linked into dmtcp_inspect,
// not into the plugin; the payload is untrusted bytes from an image.
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <string>

#include "dmtcp/inspect.h"
#include "file_notes.h"

namespace dmtcp::file {
namespace {

const char* type_name(uint8_t kind) {
  switch (static_cast<NoteKind>(kind)) {
    case NoteKind::kPath:
      return "file";
    case NoteKind::kDeleted:
      return "deleted file";
    case NoteKind::kFifo:
      return "fifo";
    case NoteKind::kPipe:
      return "pipe";
    case NoteKind::kTerminal:
      return "terminal";
    case NoteKind::kPtyMaster:
      return "pty master";
    case NoteKind::kOther:
      return "other";
  }
  return "unknown";
}

// "O_RDWR|O_APPEND|O_NONBLOCK" for the flags that matter at restart.
std::string open_flags(int flags) {
  std::string out;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      out = "O_RDONLY";
      break;
    case O_WRONLY:
      out = "O_WRONLY";
      break;
    default:
      out = "O_RDWR";
      break;
  }
  static const std::pair<int, const char*> kBits[] = {
      {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_SYNC, "O_SYNC"},
      {O_DIRECT, "O_DIRECT"}, {O_NOATIME, "O_NOATIME"},   {O_PATH, "O_PATH"}};
  for (const auto& [bit, name] : kBits) {
    if ((flags & bit) == bit) {
      out += std::string("|") + name;
    }
  }
  return out;
}

int decode(uint32_t type, const void* data, size_t size,
           const DmtcpInspectOut* out) {
  FdNote n;
  if (type != kNoteFd || size < sizeof n) {
    return -1;
  }
  memcpy(&n, data, sizeof n);
  if (n.path_len != size - sizeof n) {
    return -1;
  }
  const char* path = static_cast<const char*>(data) + sizeof n;
  dmtcp_inspect_object(out, "fd");
  dmtcp_inspect_int(out, "fd", n.fd);
  dmtcp_inspect_str(out, "type", type_name(n.kind));
  dmtcp_inspect_strn(out, "path", path, n.path_len);
  dmtcp_inspect_str(out, "flags", open_flags(n.flags).c_str());
  dmtcp_inspect_int(out, "cloexec", (n.fd_flags & FD_CLOEXEC) != 0 ? 1 : 0);
  dmtcp_inspect_int(out, "offset", n.pos);
  if (static_cast<NoteKind>(n.kind) == NoteKind::kPipe) {
    dmtcp_inspect_str(out, "end", n.pipe_read_end != 0 ? "read" : "write");
  }
  if (n.pty_index >= 0) {
    dmtcp_inspect_int(out, "pty", n.pty_index);
  }
  dmtcp_inspect_int(out, "leader", n.leader);
  dmtcp_inspect_int(out, "saved_by", n.leader_vpid);
  if (n.leader != 0) {
    dmtcp_inspect_int(out, "saved_bytes",
                      static_cast<long long>(n.saved_bytes));
    if (static_cast<NoteKind>(n.kind) == NoteKind::kPtyMaster) {
      dmtcp_inspect_int(out, "tty_bytes", static_cast<long long>(n.tty_bytes));
    }
  }
  return 0;
}

}  // namespace
}  // namespace dmtcp::file

// dmtcp_inspect finds the internal plugins' decoders by these names
// (tools/inspect/decoders.cpp).
extern "C" const DmtcpInspectDecoder dmtcp_builtin_decoder_file = {
    dmtcp::file::kNoteOwner, dmtcp::file::decode};
