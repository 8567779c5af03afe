// fd_table.h -- what the file plugin knows about a process's fds.
//
// A *description* is the kernel's open file description (offset, status
// flags, owner); an *fd* is a number pointing at one.  dup() and fork()
// make several fds, in one process or several, share a description.  The
// table is built at checkpoint time from /proc/self/fd and lives in
// dmtcp_alloc memory, so it comes back with the image.
#pragma once

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <termios.h>

#include <boost/container/string.hpp>
#include <boost/container/vector.hpp>
#include <cstdint>

#include "dmtcp/fd_share.h"
#include "dmtcp/hook_allocator.h"

namespace dmtcp::file {

template <class T>
using HookVector = boost::container::vector<T, HookAllocator<T>>;
using HookString = boost::container::basic_string<char, std::char_traits<char>,
                                                  HookAllocator<char>>;

enum class Kind : uint8_t {
  kPath,       // regular file, directory, device: reopened by path
  kDeleted,    // regular file unlinked (or a memfd): contents saved
  kFifo,       // named pipe: reopened by path, unread bytes saved
  kPipe,       // anonymous pipe end: re-made with pipe2(), unread bytes saved
  kTerminal,   // a terminal: a pty slave or a console (ours or outside)
  kPtyMaster,  // /dev/ptmx: re-made with a new pty pair (pty.cpp)
  kOther,      // sockets, epoll, eventfd...: other plugins' business
};

const char* kind_name(Kind k);

// What identifies a description across processes: every process sharing
// it computes the same key from its own fd at checkpoint time.
struct DescKey {
  uint64_t dev;
  uint64_t ino;
  int64_t pos;
  int32_t flags;
  uint8_t kind;
  uint8_t pipe_end;  // pipes: 'r' or 'w'; else 0
  uint8_t pad[2];
  bool operator==(const DescKey&) const = default;
};

struct Desc {
  Kind kind = Kind::kOther;
  int first_fd = -1;  // lowest fd of this process pointing at it
  int flags = 0;      // F_GETFL
  int64_t pos = -1;   // lseek(SEEK_CUR), -1 where not seekable
  struct stat st {};
  HookString path;  // readlink of /proc/self/fd/N, " (deleted)" cut off

  // Leader election (dmtcp/fd_share.h): the leader saves and re-makes it.
  share::Election el;

  // Bytes saved at checkpoint: unread pipe/FIFO data, or a deleted file's
  // contents.  pipe_size: F_GETPIPE_SZ.
  HookVector<char> data;
  int pipe_size = 0;
  bool pipe_is_read_end = false;

  // Terminals and pty masters (leader): the pty's settings and, for a
  // master, the bytes on their way in each direction.  pty_index: the
  // /dev/pts number at checkpoint (-1: not a pty).
  int pty_index = -1;
  bool has_termios = false;
  struct termios tio {};
  struct winsize ws {};
  int pty_locked = 0;
  int pty_packet = 0;
  HookVector<char> tty_input;  // written to the master, not yet read

  // --ckpt-open-files: the copy beside the image ("" = none).
  HookString saved_copy;

  // Restart only: the re-made description, at a temporary fd.
  int new_fd = -1;
  int pipe_peer_fd = -1;        // pipe creator: the other end; FIFO: a helper
  pid_t provider = 0;           // who hands it to us (0: we make it)
  bool keep_inherited = false;  // fd 0-2 stays dmtcp_restart's
  bool refill_here = false;     // FIFO: we write its bytes back

  DescKey key() const;
};

struct FdSlot {
  int fd;
  int fd_flags;  // F_GETFD (FD_CLOEXEC)
  uint32_t desc;
};

// The process's controlling terminal, from /proc/self/stat.
struct ControllingTty {
  bool session_leader = false;
  dev_t dev = 0;         // 0: none
  pid_t foreground = 0;  // its foreground group (virtual), 0: none
};

struct Table {
  HookVector<Desc> descs;
  ControllingTty ctty;
  HookVector<FdSlot> fds;
  int max_fd = -1;
  uint32_t generation = 0;
  void clear();
};

Table& table();

// Checkpoint side (fd_scan.cpp): list /proc/self/fd and fill the table,
// one Desc per open file description of this process.
void scan(Table* t);

}  // namespace dmtcp::file
