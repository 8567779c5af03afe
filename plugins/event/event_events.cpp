// event_events.cpp -- the event plugin's event hook: epoll sets, eventfds,
// signalfds and inotify instances back at their numbers with their
// interest lists, counters, masks and watches (docs/event.md).
//
// No wrappers on hot paths: the plugin reads /proc/self/fdinfo when a
// checkpoint comes.  The only wrappers are inotify's (the kernel does not
// show a watch's path), and read/readv/ioctl, one flag test each unless an
// inotify fd has unread events saved at a checkpoint still to hand out
// (inotify_read_wrappers.cpp); the blocking waits' are the core's
// (core/runtime/wait_wrappers.cpp).
//
// Algorithm (C = the checkpoint thread; each step ends at a barrier):
//  Checkpoint
//  1. THREADS_SUSPEND: list /proc/self/fd; one Desc per description of
//     ours (kcmp groups dup()s), each fd claimed; fanotify named as not
//     supported.  Note the highest fd (the park floor for restart).  Read
//     each description's owner for the election (dmtcp/fd_share.h).
//  2. SUSPENDED: write our pid as each description's owner.
//  3. LEADER_ELECTION: whose pid stuck is the leader.
//  1a. THREADS_SUSPEND, before the scan: saved inotify queues forget fds
//     that no longer name their instance; our reference fds are closed.
//  4. DRAIN: leaders put the owner back and save, from fdinfo: an
//     eventfd's counter and semaphore flag, a signalfd's mask, an epoll
//     set's registrations (which fd holds each target: kcmp), an inotify
//     instance's watches (paths from the wrapper's records) and highest
//     wd.  Others find the leader's fd for the description.  The one
//     thing read: an inotify instance's unread events, into its saved
//     queue (inotify_queue.h).
//  4a. RESUME: leaders ring each inotify doorbell (the instance is
//     readable again) and the program's fds serve the saved events.
//  5. WRITE_CKPT: one image note per fd for dmtcp_inspect (event_notes.h).
//     The image is written; the table is in it.
//  Restart (dmtcp_restart closed every fd but 0-2 and the protected ones)
//  6. RESTART: leaders re-make each description at a temporary fd parked
//     above the park floor: eventfd with its counter, signalfd with its
//     mask, an empty epoll set, an inotify instance with every watch at
//     its old wd (and its doorbell rung when it has saved events).
//     Listen for the other processes' requests.
//  7. REGISTER_NAME_SERVICE_DATA: non-leaders ask the leader for theirs.
//  8. SEND_QUERIES: serve, collect, put every fd at its number with its
//     close-on-exec flag (dup3), close the temporaries; the inotify fds
//     serve their saved events.
//  9. REFILL: leaders register each epoll set's targets: by now every
//     plugin has installed its fds at their numbers (file and socket fds,
//     timerfds, the other epoll sets), so none is missing (upstream
//     DMTCP's issue 405 registered too early and met EBADF).
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/claims.h"
#include "dmtcp/plugin.h"
#include "event_notes.h"
#include "event_table.h"
#include "inotify_queue.h"

namespace dmtcp::event {
namespace {

share::FdExchange g_exchange("event");
pid_t g_me = 0;

// What identifies a description on the wire: its kind; the request's
// leader_fd says which of the provider's fds.
share::FdKey wire_key(Kind kind) {
  share::FdKey k{};
  k.bytes[0] = static_cast<unsigned char>(kind);
  return k;
}

void elect_save_owners(Table* t) {
  for (Desc& d : t->descs) {
    d.el = share::Election{};
    d.el.fd = d.first_fd;
    share::save_owner(&d.el);
  }
}

void drain(Table* t) {
  for (Desc& d : t->descs) {
    share::restore_owner(&d.el);
  }
  for (Desc& d : t->descs) {
    share::find_leader_fd(&d.el);
  }
  for (Desc& d : t->descs) {
    if (!d.el.leader) {
      continue;
    }
    switch (d.kind) {
      case Kind::kEventfd:
        save_eventfd(&d);
        break;
      case Kind::kSignalfd:
        save_signalfd(&d);
        break;
      case Kind::kEpoll:
        save_epoll(&d);
        break;
      case Kind::kInotify:
        save_inotify(&d, *t);
        queue_take(&d, *t);  // its unread events (inotify_queue.h)
        break;
    }
  }
  queue_drop_untaken();
}

// RESUME: the unread events taken at DRAIN go back to the program.
void resume_queues(Table* t) {
  for (Desc& d : t->descs) {
    if (d.kind == Kind::kInotify && d.el.leader) {
      queue_ring(d, d.first_fd);
      queue_serve(d, *t);
    }
  }
}

int remake(const Desc& d, int floor) {
  switch (d.kind) {
    case Kind::kEventfd:
      return remake_eventfd(d, floor);
    case Kind::kSignalfd:
      return remake_signalfd(d, floor);
    case Kind::kEpoll:
      return remake_epoll(d, floor);
    case Kind::kInotify:
      return remake_inotify(d, floor);
  }
  return -1;
}

void restart_begin(Table* t) {
  g_me = dmtcp_real_to_virtual_pid(share::raw_getpid());
  for (Desc& d : t->descs) {
    d.new_fd = -1;
    d.provider = d.el.leader ? 0 : d.el.leader_vpid;
    if (d.el.leader) {
      d.new_fd = remake(d, t->park_floor);
    }
  }
  g_exchange.listen(t->park_floor);
}

int provide(void* ctx, const share::FdKey& key, int leader_fd) {
  const Table* t = static_cast<const Table*>(ctx);
  for (const Desc& d : t->descs) {
    if (d.el.leader && d.new_fd >= 0 && d.first_fd == leader_fd &&
        wire_key(d.kind).bytes[0] == key.bytes[0]) {
      return d.new_fd;
    }
  }
  return -1;
}

void receive(void* ctx, pid_t provider, uint32_t index, int fd, bool alive) {
  Desc& d = static_cast<Table*>(ctx)->descs[index];
  if (fd < 0) {
    dmtcp_log("event plugin: %s fd %d: process %d %s", kind_name(d.kind),
              d.first_fd, provider,
              alive ? "did not have it" : "did not answer");
    return;
  }
  d.new_fd = fd;
}

void restart_ask(Table* t) {
  // One ask() per provider, with all its descriptions.
  g_exchange.ask_each(
      t->descs.size(),
      [](void* ctx, size_t i, share::FdRequest* out) -> pid_t {
        const Desc& d = static_cast<Table*>(ctx)->descs[i];
        *out = {wire_key(d.kind), d.el.leader_fd, static_cast<uint32_t>(i)};
        return d.provider == g_me ? 0 : d.provider;
      },
      t, t->park_floor);
}

void install(Table* t) {
  for (const FdSlot& slot : t->fds) {
    const Desc& d = t->descs[slot.desc];
    if (d.new_fd < 0) {
      dmtcp_log("event plugin: %s fd %d did not come back", kind_name(d.kind),
                slot.fd);
      continue;
    }
    int cloexec = (slot.fd_flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0;
    if (dup3(d.new_fd, slot.fd, cloexec) < 0) {
      dmtcp_log("event plugin: fd %d: dup3: %s", slot.fd, strerror(errno));
      continue;
    }
    if (slot.fd == d.first_fd && d.el.leader) {
      share::restore_owner_after_restart(d.el, slot.fd);
    }
  }
  for (Desc& d : t->descs) {
    if (d.new_fd >= 0) {
      close(d.new_fd);
      d.new_fd = -1;
    }
  }
}

void restart_exchange(Table* t) {
  g_exchange.serve(provide, t);
  g_exchange.collect(t->park_floor, receive, t);
  install(t);
  for (Desc& d : t->descs) {
    if (d.kind == Kind::kInotify && d.el.leader) {
      queue_serve(d, *t);  // rung at RESTART (remake_inotify)
    }
  }
}

void refill(Table* t) {
  for (const Desc& d : t->descs) {
    if (d.kind == Kind::kEpoll && d.el.leader) {
      register_epoll_targets(d);
    }
  }
}

}  // namespace
}  // namespace dmtcp::event

using namespace dmtcp::event;

extern "C" __attribute__((visibility("default"))) void dmtcp_event_hook(
    DmtcpEvent_t event, DmtcpEventData_t* data) {
  Table* t = &table();
  bool restart = data != nullptr && data->restartInfo.isRestart != 0;
  // On the way into a checkpoint: our work, then the inner plugins'.
  switch (event) {
    case DMTCP_EVENT_THREADS_SUSPEND:
      queue_before_scan();
      scan(t);
      elect_save_owners(t);
      break;
    case DMTCP_EVENT_SUSPENDED:
      for (Desc& d : t->descs) {
        dmtcp::share::claim(&d.el);
      }
      break;
    case DMTCP_EVENT_LEADER_ELECTION:
      for (Desc& d : t->descs) {
        dmtcp::share::read_leader(&d.el);
      }
      break;
    case DMTCP_EVENT_DRAIN:
      drain(t);
      break;
    case DMTCP_EVENT_WRITE_CKPT:
      add_notes(*t);  // for dmtcp_inspect (event_notes.h)
      break;
    default:
      break;
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
  // On the way out: the inner plugins' work first, then ours.
  switch (event) {
    case DMTCP_EVENT_ATFORK_CHILD:
      queue_forget_after_fork();
      break;
    case DMTCP_EVENT_RESUME:
      if (!restart) {
        resume_queues(t);
      }
      break;
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
        refill(t);
      }
      break;
    default:
      break;
  }
}

