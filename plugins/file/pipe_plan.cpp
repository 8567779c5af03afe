// pipe_plan.cpp -- who re-makes each pipe at restart, and FIFO refills.
//
// An anonymous pipe is two descriptions (read end, write end), each with
// its own leader, maybe in different processes, and only one pipe2() may
// make both.  The read end's leader does ("the creator"): it knows the
// unread bytes.  Names in the coordinator's database (inode numbers are
// the pipe's identity, the same in every process):
//   RESTART    creator publishes "file:pipe:<ino>" = its virtual pid;
//              write-end leader publishes "file:pipe-w:<ino>"
//   REGISTER   everyone else asks "file:pipe:<ino>" who the creator is.
//              None (the reader is outside the computation): the
//              write-end leader makes a pipe with no reader (writes get
//              EPIPE, as they would have) -- or, for fds 0-2, keeps
//              dmtcp_restart's own.  No "pipe-w": the creator drops its
//              write end, so the reader sees end-of-file after the bytes.
// FIFOs are reopened by path; several leaders may have saved the same
// unread bytes, so one is picked to write them back: each publishes
// "file:fifo:<dev>:<ino>" and the database keeps the last (REFILL).
#include "pipe_plan.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "dmtcp/plugin.h"
#include "file_util.h"
#include "pipe_data.h"

namespace dmtcp::file {
namespace {

size_t key_for(char* buf, size_t cap, const char* what, const Desc& d) {
  int n = snprintf(buf, cap, "file:%s:%llu:%llu", what,
                   static_cast<unsigned long long>(d.st.st_dev),
                   static_cast<unsigned long long>(d.st.st_ino));
  return static_cast<size_t>(n);
}

void publish(const char* what, const Desc& d, pid_t vpid) {
  char key[96];
  size_t len = key_for(key, sizeof key, what, d);
  if (dmtcp_send_key_val_pair_to_coordinator(key, len, &vpid, sizeof vpid) !=
      1) {
    dmtcp_log("file plugin: publishing %s: %s", key, strerror(errno));
  }
}

pid_t query(const char* what, const Desc& d) {
  char key[96];
  size_t len = key_for(key, sizeof key, what, d);
  pid_t vpid = 0;
  size_t vlen = sizeof vpid;
  if (dmtcp_send_query_to_coordinator(key, len, &vpid, &vlen) != 1 ||
      vlen != sizeof vpid) {
    return 0;
  }
  return vpid;
}

bool is_creator(const Desc& d) {
  return d.kind == Kind::kPipe && d.el.leader && d.pipe_is_read_end;
}

void create_pipe(Desc* d, const RestartCtx& ctx) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    dmtcp_log("file plugin: fd %d: pipe2: %s", d->first_fd, strerror(errno));
    return;
  }
  if (d->pipe_size > 0) {
    fcntl(p[1], F_SETPIPE_SZ, d->pipe_size);
  }
  refill(p[1], *d);
  d->new_fd = park_fd(p[0], ctx.park_min);
  d->pipe_peer_fd = park_fd(p[1], ctx.park_min);
}

// The write end of a pipe whose reader is not in the computation.
void make_orphan_write_end(Desc* d, const RestartCtx& ctx) {
  int fd = inherited_for(*d, ctx);
  if (fd >= 0) {
    d->keep_inherited = true;
    d->new_fd = fd;
    return;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    dmtcp_log("file plugin: fd %d: pipe2: %s", d->first_fd, strerror(errno));
    return;
  }
  close(p[0]);
  d->new_fd = park_fd(p[1], ctx.park_min);
}

}  // namespace

void plan_pipes_at_restart(Table* t, const RestartCtx& ctx, pid_t me) {
  for (Desc& d : t->descs) {
    if (is_creator(d)) {
      create_pipe(&d, ctx);
      publish("pipe", d, me);
    } else if (d.kind == Kind::kPipe && d.el.leader) {
      publish("pipe-w", d, me);
    } else if (d.kind == Kind::kFifo && d.el.leader && !d.data.empty()) {
      publish("fifo", d, me);
    }
  }
}

void find_pipe_providers(Table* t, const RestartCtx& ctx, pid_t me) {
  for (Desc& d : t->descs) {
    if (d.kind == Kind::kFifo) {
      d.refill_here = d.el.leader && !d.data.empty() && query("fifo", d) == me;
      continue;
    }
    if (d.kind != Kind::kPipe) {
      continue;
    }
    if (is_creator(d)) {
      if (query("pipe-w", d) == 0) {
        // No writer in the computation: end-of-file after the bytes, or
        // for stdin the restarter's own.
        close(d.pipe_peer_fd);
        d.pipe_peer_fd = -1;
        int inherited = inherited_for(d, ctx);
        if (inherited >= 0) {
          close(d.new_fd);
          d.new_fd = inherited;
          d.keep_inherited = true;
        }
      }
      continue;
    }
    pid_t creator = query("pipe", d);
    if (creator != 0) {
      d.provider = creator;
    } else if (d.el.leader) {
      make_orphan_write_end(&d, ctx);
    } else {
      d.provider = d.el.leader_vpid;
    }
  }
}

void refill_fifos(Table* t) {
  for (Desc& d : t->descs) {
    if (!d.refill_here) {
      continue;
    }
    d.refill_here = false;
    // A reader exists (we hold one), so a non-blocking write open works.
    int w = open(d.path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (w < 0) {
      dmtcp_log("file plugin: FIFO %s: %zu unread bytes lost: %s",
                d.path.c_str(), d.data.size(), strerror(errno));
      continue;
    }
    // A process outside the computation that kept the FIFO open kept its
    // bytes too: writing ours again would double them.
    int pending = 0;
    if (ioctl(w, FIONREAD, &pending) == 0 && pending > 0) {
      dmtcp_log(
          "file plugin: FIFO %s still holds %d bytes (kept open from "
          "outside): not written again",
          d.path.c_str(), pending);
      close(w);
      continue;
    }
    if (d.pipe_size > 0) {
      fcntl(w, F_SETPIPE_SZ, d.pipe_size);
    }
    refill(w, d);
    close(w);
  }
}

}  // namespace dmtcp::file
