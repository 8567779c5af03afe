// file_events.cpp -- the file plugin's event hook: every fd back at its
// number, pointing at the same kind of thing, shared as before.
//
// No wrappers: the plugin looks at the fds when a checkpoint comes, so
// open/close/read/write run at native speed (docs/file.md).
//
// Algorithm (C = the checkpoint thread; each step ends at a barrier):
//  Checkpoint
//  1. THREADS_SUSPEND: list /proc/self/fd; group fds that share one open
//     file description (kcmp); classify each: file, deleted file, FIFO,
//     pipe end, outside terminal, other (sockets, epoll... not ours).
//     Read each description's owner (F_GETOWN_EX) before anyone changes it.
//  2. SUSPENDED: every process writes its own pid as the owner of each
//     description it holds.
//  3. LEADER_ELECTION: whose pid stuck is the description's leader.
//  4. DRAIN: leaders put the owner back, copy the unread bytes of pipes and
//     FIFOs (tee: nothing is consumed), read deleted files into memory and,
//     with --ckpt-open-files, copy open files beside the image; terminals
//     and pty masters save their settings, masters read their bytes in
//     flight (pty.cpp).  Others
//     find the leader's fd number for the description (kcmp).
//  5. WRITE_CKPT: one image note per fd for dmtcp_inspect (file_notes.h).
//     The image is written; the table is in it.  RESUME: nothing to put
//     back (nothing was taken); old --ckpt-open-files copies go.
//  Restart (dmtcp_restart closed every fd but 0-2 and the protected ones)
//  6. RESTART: keep dmtcp_restart's 0-2 aside; leaders re-make their
//     descriptions (reopen.cpp; a file under /proc/<pid>/ of another
//     process waits for step 8, when its new pid is known; pipe creators
//     make pipes with their bytes, pipe_plan.cpp; pty masters new pairs,
//     pty.cpp); listen for the others' requests (fd_passing.cpp).
//  7. REGISTER_NAME_SERVICE_DATA: terminals open their pty's new slave or
//     become dmtcp_restart's terminal; pipe ends learn who made their
//     pipe; ask each provider for what we shared with it.
//  8. SEND_QUERIES: re-make the /proc files of other processes (the pid
//     plugin, inner, has queried every new pid); answer every request,
//     collect our answers, put every fd at its number with its flags and
//     owner (install.cpp); a session leader takes its pty back as
//     controlling terminal.
//  9. REFILL: FIFOs get their unread bytes back (one writer per FIFO);
//     ptys get theirs on resume and restart alike (pty.cpp: reading them
//     was the only way to save them).
#include <unistd.h>

#include "dmtcp/plugin.h"
#include "election.h"
#include "fd_passing.h"
#include "fd_table.h"
#include "file_notes_writer.h"
#include "file_util.h"
#include "install.h"
#include "pipe_data.h"
#include "pipe_plan.h"
#include "pty.h"
#include "reopen.h"
#include "saved_files.h"

namespace dmtcp::file {
namespace {

RestartCtx g_ctx;

void drain(Table* t) {
  restore_owners(t);
  find_leader_fds(t);
  bool copies = ckpt_open_files_wanted();
  t->generation = static_cast<uint32_t>(dmtcp_get_generation());
  for (uint32_t i = 0; i < t->descs.size(); ++i) {
    Desc& d = t->descs[i];
    d.data.clear();
    d.saved_copy.clear();
    if (!d.el.leader) {
      continue;
    }
    switch (d.kind) {
      case Kind::kPipe:
      case Kind::kFifo:
        save_pipe_data(&d);
        break;
      case Kind::kDeleted:
        save_deleted_contents(&d);
        break;
      case Kind::kPath:
        if (copies) {
          save_copy(&d, i, t->generation);
        }
        break;
      case Kind::kTerminal:
      case Kind::kPtyMaster:
        save_tty(&d);
        follow_dev_tty(&d, t->ctty);
        break;
      case Kind::kOther:
        break;
    }
  }
}

void restart_begin(Table* t) {
  g_ctx = begin_restart(*t);
  pid_t me = dmtcp_real_to_virtual_pid(raw_getpid());
  g_ctx.me = me;
  for (Desc& d : t->descs) {
    d.new_fd = -1;
    d.pipe_peer_fd = -1;
    d.keep_inherited = false;
    d.provider = d.el.leader || d.kind == Kind::kPipe ? 0 : d.el.leader_vpid;
    if (d.el.leader && !remake_after_queries(d, me)) {
      remake(&d, g_ctx);
    }
  }
  plan_pipes_at_restart(t, g_ctx, me);
  listen_for_askers(g_ctx.park_min);
}

void restart_ask(Table* t) {
  pid_t me = g_ctx.me;
  for (Desc& d : t->descs) {
    if (d.kind == Kind::kTerminal && d.el.leader) {
      remake_terminal(&d, g_ctx);  // its pty's master published in RESTART
    }
  }
  find_pipe_providers(t, g_ctx, me);
  ask_providers(t, me, g_ctx.park_min);
}

void restart_exchange(Table* t) {
  // The pid plugin's SEND_QUERIES (inner: already run) has learnt every
  // process's new real pid: /proc files of others can be opened now.
  for (Desc& d : t->descs) {
    if (d.el.leader && remake_after_queries(d, g_ctx.me)) {
      remake(&d, g_ctx);
    }
  }
  serve(t);
  collect(t, g_ctx.park_min);
  resolve_own_requests(t, g_ctx.me, g_ctx.park_min);
  install(t, &g_ctx);
  restore_ctty(*t);
}

// Resume and restart alike: bytes taken out of ptys go back.
void refill_ptys(Table* t) {
  for (const Desc& d : t->descs) {
    if (d.kind == Kind::kPtyMaster && d.el.leader) {
      refill_pty(d, d.first_fd);
    }
  }
}

}  // namespace
}  // namespace dmtcp::file

using namespace dmtcp::file;

extern "C" __attribute__((visibility("default"))) void dmtcp_event_hook(
    DmtcpEvent_t event, DmtcpEventData_t* data) {
  Table* t = &table();
  bool restart = data != nullptr && data->restartInfo.isRestart != 0;
  // On the way into a checkpoint: our work, then the inner plugins'.
  switch (event) {
    case DMTCP_EVENT_THREADS_SUSPEND:
      scan(t);
      read_ctty(&t->ctty);
      save_owners(t);
      break;
    case DMTCP_EVENT_SUSPENDED:
      claim(t);
      break;
    case DMTCP_EVENT_LEADER_ELECTION:
      read_leaders(t);
      break;
    case DMTCP_EVENT_DRAIN:
      drain(t);
      break;
    case DMTCP_EVENT_WRITE_CKPT:
      add_notes(*t);  // for dmtcp_inspect (file_notes.h)
      break;
    default:
      break;
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
  // On the way out: the inner plugins' work first, then ours.
  switch (event) {
    case DMTCP_EVENT_RESTART:
      restart_begin(t);
      break;
    case DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA:
      if (restart) {
        restart_ask(t);
      }
      break;
    case DMTCP_EVENT_SEND_QUERIES:
      if (restart) {
        restart_exchange(t);
      }
      break;
    case DMTCP_EVENT_REFILL:
      if (restart) {
        refill_fifos(t);
      }
      refill_ptys(t);
      break;
    case DMTCP_EVENT_RESUME:
      if (ckpt_open_files_wanted()) {
        forget_old_copies(t->generation);
      }
      break;
    default:
      break;
  }
}
