// pipe_data.cpp -- the bytes sitting in a pipe or FIFO at checkpoint time.
//
// Draining a pipe (reading it empty) would force a refill on resume,
// through a write end the reader may not hold.  tee(2) copies a pipe's
// contents into a scratch pipe *without consuming them*, so a checkpoint
// leaves the pipe exactly as it was and resume has nothing to put back.
// Only a restart writes the saved bytes into the re-made pipe.
#include "pipe_data.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/plugin.h"
#include "fd_table.h"
#include "file_util.h"

namespace dmtcp::file {

bool can_read(const Desc& d) {
  return (d.flags & O_ACCMODE) != O_WRONLY;
}

void save_pipe_data(Desc* d) {
  d->data.clear();
  d->pipe_size = fcntl(d->first_fd, F_GETPIPE_SZ);
  if (!can_read(*d) || d->pipe_size <= 0) {
    return;
  }
  int scratch[2];
  if (pipe2(scratch, O_CLOEXEC | O_NONBLOCK) != 0) {
    dmtcp_log(
        "file plugin: fd %d: no scratch pipe (%s): its unread bytes "
        "are not saved",
        d->first_fd, strerror(errno));
    return;
  }
  fcntl(scratch[1], F_SETPIPE_SZ, d->pipe_size);
  ssize_t n = tee(d->first_fd, scratch[1], static_cast<size_t>(d->pipe_size),
                  SPLICE_F_NONBLOCK);
  if (n < 0 && errno != EAGAIN) {
    dmtcp_log(
        "file plugin: fd %d (%s): tee: %s; its unread bytes are not "
        "saved",
        d->first_fd, d->path.c_str(), strerror(errno));
  }
  if (n > 0) {
    d->data.resize(static_cast<size_t>(n));
    size_t got = 0;
    while (got < d->data.size()) {
      ssize_t r = read(scratch[0], d->data.data() + got, d->data.size() - got);
      if (r <= 0) {
        break;
      }
      got += static_cast<size_t>(r);
    }
    d->data.resize(got);
  }
  close(scratch[0]);
  close(scratch[1]);
}

bool refill(int write_fd, const Desc& d) {
  if (d.data.empty()) {
    return true;
  }
  // Never blocking: a pipe smaller than it was (F_SETPIPE_SZ refused), or
  // a FIFO someone outside filled meanwhile, must not stop the restart.
  int fl = fcntl(write_fd, F_GETFL);
  fcntl(write_fd, F_SETFL, fl | O_NONBLOCK);
  size_t done = 0;
  while (done < d.data.size()) {
    ssize_t n = write(write_fd, d.data.data() + done, d.data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  int err = errno;
  fcntl(write_fd, F_SETFL, fl);
  if (done < d.data.size()) {
    dmtcp_log("file plugin: %s (fd %d): %zu of %zu unread bytes lost: %s",
              kind_name(d.kind), d.first_fd, d.data.size() - done,
              d.data.size(), strerror(err));
    return false;
  }
  return true;
}

}  // namespace dmtcp::file
