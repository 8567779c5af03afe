// socket_events.cpp -- the socket plugin's event hook: every socket back at
// its fd number, connected as before, with its bytes in flight
// (docs/socket.md).
//
// Inspected, not wrapped: the plugin looks at the sockets when a
// checkpoint comes (getsockopt, getsockname, getpeername, sock_diag,
// TCP_INFO).  Its only wrappers are the read side's, for bytes that did
// not fit back at REFILL (socket_held.cpp): one counter test otherwise.
//
// Algorithm (C = the checkpoint thread; each step ends at a barrier):
//  Checkpoint
//  1. THREADS_SUSPEND: list /proc/self/fd; one Desc per socket description
//     (kcmp groups dup()s); inspect each: family, type, protocol,
//     listener/connected/bound/fresh, addresses, shutdown bits, backlog;
//     claim its fds.  Note the park floor.  Bytes held since the last
//     refill and not read yet go back to their Desc.  Read each
//     description's owner for the election (dmtcp/fd_share.h).
//  2. SUSPENDED: write our pid as each description's owner.
//  3. LEADER_ELECTION: whose pid stuck is the leader; leaders of connected
//     ends publish who they are and the marker their stream will end with
//     (socket_pairs.cpp).
//  4. DRAIN: leaders put the owner back; every holder asks for its peer's
//     publication (found: the peer is inside the computation); leaders
//     save options and drain what is in flight towards their inside ends
//     (socket_drain.cpp: UNIX stream peeked; datagrams read; TCP read up to
//     the peer's marker, one poll loop for all); an outside end's waiting
//     bytes are peeked.  Held bytes go before what was drained (a shared
//     end's region is taken back first, by its leader:
//     socket_held_shared.cpp).  A leader of a shared end with much in
//     flight says it will keep a region for the others.
//  5. WRITE_CKPT: the others learn it; the image is written; the table is
//     in it.
//  Resume
//  6. RESUME: TCP_NODELAY and TCP_CORK back as the program had them.
//     Leaders of shared ends make their regions.
//  7. REGISTER_NAME_SERVICE_DATA: bytes read at DRAIN whose writer (the
//     peer's leader) is another process are published for it; the other
//     holders of a shared end ask its leader for the region.
//  8. SEND_QUERIES: writers fetch them; regions are handed over.
//  9. REFILL: every writer writes the bytes towards its peer back into its
//     own end: they arrive exactly once, in order, messages whole.  A
//     stream's receiver reads the head back out while the rest has not
//     all arrived and keeps it for the program's reads (socket_held.cpp);
//     a peeked queue's held head is held again; a shared end's head goes
//     into its region, which every holder reads.
//  Restart (dmtcp_restart closed every fd but 0-2 and the protected ones)
//  6. RESTART: pair makers make both ends of their inside connections;
//     leaders re-make listeners (same address, backlog), bound sockets,
//     stand-ins for connections to the outside (or connect again); listen
//     for the other processes (socket_remake.cpp).  Publish this host
//     (and, for a maker of TCP pairs, a listener's address) for pairs
//     whose ends restart on different hosts (socket_hosts.cpp).  Leaders
//     of shared ends make their regions (as at resume, steps 6-9).
//  7. REGISTER_NAME_SERVICE_DATA: an end whose peer or provider restarted
//     on another host: the maker drops its pair, the peer's leader
//     connects to the maker over the network (socket_hosts.cpp); ask the
//     makers and leaders for the rest; publish bytes in flight for writers
//     in other processes (all of them: the connection is new).
//  8. SEND_QUERIES: fetch bytes; makers push traffic through re-made TCP
//     connections that carry megabytes back (grows their buffers); makers
//     accept the connections from other hosts and answer them; serve,
//     collect, put every fd at its number with its close-on-exec flag,
//     status flags, options and owner.
//  9. REFILL: write the bytes back (receivers keep the head, as at
//     resume); UNIX datagram clients connect to their server's path again
//     (bound again at RESTART).
// 10. THREADS_RESUME: shut down again what was shut down (after every
//     process's REFILL writes, which a shut end would refuse).
//  Any time
//  - PRE_EXEC: held bytes cannot follow the exec (one line names them).
//  - ATFORK_PREPARE: held bytes move into a region (socket_held_shared.cpp)
//    the child will share: whichever process reads the end gets them
//    first, once.  ATFORK_CHILD: the child forgets held bytes the move
//    failed for (the parent serves them; two copies would duplicate them).
#include <unistd.h>

#include "dmtcp/claims.h"
#include "dmtcp/plugin.h"
#include "socket_table.h"

using namespace dmtcp::sock;

namespace {

void elect_save_owners(Table* t) {
  for (Desc& d : t->descs) {
    d.el = dmtcp::share::Election{};
    d.el.fd = d.first_fd;
    dmtcp::share::save_owner(&d.el);
  }
}

pid_t my_vpid() {
  return dmtcp_real_to_virtual_pid(dmtcp::share::raw_getpid());
}

void drain_step(Table* t) {
  for (Desc& d : t->descs) {
    dmtcp::share::restore_owner(&d.el);
  }
  for (Desc& d : t->descs) {
    dmtcp::share::find_leader_fd(&d.el);
  }
  find_peers(t);
  take_back_shared_holds(t);
  drain(t);
  find_sharers(t);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void dmtcp_event_hook(
    DmtcpEvent_t event, DmtcpEventData_t* data) {
  Table* t = &table();
  bool restart = data != nullptr && data->restartInfo.isRestart != 0;
  // On the way into a checkpoint: our work, then the inner plugins'.
  switch (event) {
    case DMTCP_EVENT_THREADS_SUSPEND:
      scan(t);
      take_back_holds(t);
      elect_save_owners(t);
      break;
    case DMTCP_EVENT_PRE_EXEC:
      forget_holds("at exec");
      break;
    case DMTCP_EVENT_ATFORK_PREPARE:
      share_holds_before_fork();
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
      publish_ends(t);
      publish_sharers(*t);
      break;
    case DMTCP_EVENT_DRAIN:
      drain_step(t);
      break;
    case DMTCP_EVENT_WRITE_CKPT:
      learn_shared_holds(t);
      break;
    default:
      break;
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
  // On the way out: the inner plugins' work first, then ours.
  switch (event) {
    case DMTCP_EVENT_RESUME:
      restore_drain_options(t);
      make_regions(t);
      break;
    case DMTCP_EVENT_RESTART:
      remake_all(t);
      host_publish(t, my_vpid());
      make_regions(t);
      break;
    case DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA:
      if (restart) {
        cross_hosts(t, my_vpid());
        ask_providers(t);
      }
      publish_data(t, restart);
      ask_regions(t);
      break;
    case DMTCP_EVENT_SEND_QUERIES:
      fetch_data(t, restart);
      if (restart) {
        warm_up_pairs(t);
        finish_cross_hosts(t);
        exchange_and_install(t);
      }
      exchange_regions(t);
      break;
    case DMTCP_EVENT_REFILL:
      if (restart) {
        reconnect_clients(t);
      }
      refill(t, restart);
      attach_regions(t);
      break;
    case DMTCP_EVENT_ATFORK_CHILD:
      forget_holds_in_child();
      break;
    case DMTCP_EVENT_THREADS_RESUME:
      if (restart) {
        restore_shutdowns(t);
      }
      break;
    default:
      break;
  }
}
