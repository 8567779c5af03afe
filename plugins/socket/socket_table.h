// socket_table.h -- what the socket plugin knows about a process's sockets.
//
// Purpose: the checkpoint-time picture of every socket description of this
// process (one Desc per open file description; dup() and fork() put several
// fds on one), filled by inspecting the sockets when a checkpoint comes
// (getsockopt, getsockname, getpeername, sock_diag, TCP_INFO), the bytes in
// flight drained from them, and what a restart needs to make them again.
// Refuses nothing silently: a socket it cannot save (unknown family, a
// drain that timed out, a peer outside the computation) is named with one
// dmtcp_log() line.
// Thread safety: built and used only by the checkpoint thread's hooks; the
// listen() wrapper writes nothing here.
// Allocation: dmtcp_alloc() memory only (HookAllocator), so the table may
// grow at checkpoint time and comes back with the image.
#pragma once

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <boost/container/vector.hpp>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "dmtcp/fd_share.h"
#include "dmtcp/hook_allocator.h"

namespace dmtcp::sock {

template <class T>
using HookVector = boost::container::vector<T, HookAllocator<T>>;

// A description's identity across the computation: the host's boot id and
// the socket's inode.  Exactly the 32 bytes of an FdKey (the rest zero).
struct SockId {
  unsigned char boot[16] = {};
  uint64_t ino = 0;
  uint64_t zero = 0;
  bool operator==(const SockId& o) const;
  bool operator<(const SockId& o) const;
  share::FdKey key() const;
};
static_assert(sizeof(SockId) == sizeof(share::FdKey), "SockId is a key");

// What a socket is when the checkpoint comes.
enum class Role : uint8_t {
  kUnsupported,  // a family we do not re-make: named, left to placeholders
  kListener,     // SO_ACCEPTCONN: re-bound at its address, listen(backlog)
  kConnected,    // a stream/seqpacket/connected datagram with a peer
  kBound,        // a datagram socket bound (or not) without a peer; netlink
  kFresh,        // never bound nor connected: socket() again
};

// Where the peer of a connected socket lives.
enum class Peer : uint8_t {
  kUnknown,
  kInside,   // a socket of the computation (found by publish/subscribe)
  kOutside,  // not ours: dead (or re-connected) after restart
};

// The options re-applied after a re-make.  Only those that differ from a
// fresh socket of the same kind are set (so autotuned buffers stay so).
struct Options {
  int reuseaddr = 0, reuseport = 0, keepalive = 0, passcred = 0;
  int rcvbuf = 0, sndbuf = 0;  // as getsockopt shows them (doubled)
  struct linger linger {};
  int nodelay = 0, cork = 0, keepidle = 0, keepintvl = 0, keepcnt = 0;
  int v6only = 0;
};

// Drained bytes: a stream's bytes, or datagrams each preceded by a 4-byte
// length (message boundaries kept).
using Bytes = HookVector<char>;

// A TCP pair whose ends restarted on different hosts (socket_hosts.cpp).
enum class RemoteStep : uint8_t {
  kNone,
  kAccept,       // the maker: the peer's leader connects to our listener
  kAwaitAnswer,  // the peer's leader: connected, waits for the maker's yes
};

struct Desc {
  int first_fd = -1;  // lowest fd of this process for it
  int family = 0, type = 0, protocol = 0;
  int fl_flags = 0;  // F_GETFL: O_NONBLOCK
  Role role = Role::kUnsupported;
  SockId id;
  share::Election el;

  // Addresses (getsockname / getpeername).
  sockaddr_storage local{};
  socklen_t local_len = 0;
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  int backlog = 0;         // listeners
  uint8_t shut = 0;        // sk_shutdown bits: 1 = RCV, 2 = SEND
  uint32_t unix_peer = 0;  // UNIX: the peer's inode (sock_diag)
  Options opts;

  // Pairing (LEADER_ELECTION publishes, DRAIN queries).
  Peer where = Peer::kUnknown;
  SockId peer_id;       // the other end's identity (inside peers)
  pid_t peer_vpid = 0;  // the other end's leader
  uint8_t peer_shut = 0;
  unsigned char marker[32] = {};       // ours: ends our stream at drain
  unsigned char peer_marker[32] = {};  // the peer's

  // Data in flight towards this end, saved at DRAIN by the leader.
  Bytes data;
  bool consumed = false;  // read (not peeked): must be refilled at resume
  bool drain_failed = false;
  // Bytes towards this end that did not fit back at the last REFILL and
  // that the program has not read yet (socket_held.cpp): taken back at
  // THREADS_SUSPEND, put before the drained bytes at DRAIN.
  Bytes held;
  size_t held_len = 0;  // how many of data's first bytes they are
  bool shared = false;  // another process holds it too (DRAIN, leaders)
  // Non-leaders: the leader keeps this end's held bytes in a region every
  // holder maps (WRITE_CKPT; socket_held_shared.cpp).
  bool hold_shared = false;
  // That region, from RESUME/RESTART to REFILL (then a hold owns it).
  struct HoldRegion* region = nullptr;
  size_t region_len = 0;  // mapped bytes
  int region_fd = -1;

  // Restart only.
  int new_fd = -1;        // the re-made (or handed over) description
  int mate_fd = -1;       // the maker's other end of a pair made here
  pid_t provider = 0;     // who hands it to us (0: we make it)
  bool stand_in = false;  // made again as a dead stand-in
  Bytes incoming;         // what the peer's process drained: we write it
  RemoteStep remote = RemoteStep::kNone;  // socket_hosts.cpp
};

struct FdSlot {
  int fd;
  int fd_flags;  // F_GETFD
  uint32_t desc;
};

struct Table {
  HookVector<Desc> descs;
  HookVector<FdSlot> fds;
  int park_floor = 3;  // share::highest_fd() + 1 at checkpoint
  void clear() {
    descs.clear();
    fds.clear();
  }
};

Table& table();

// socket_scan.cpp: list /proc/self/fd, one Desc per socket description,
// inspect each (family, type, role, addresses, shutdown, options), claim
// its fds.
void scan(Table* t);
// This host's boot id (16 bytes), read once.
const unsigned char* boot_id();
// A printable name for a socket's addresses, for log lines.
const char* describe(const Desc& d, char* buf, size_t cap);
const char* addr_str(const sockaddr_storage& a, socklen_t len, char* buf,
                     size_t cap);

// socket_options.cpp: read at DRAIN, apply after a re-make (the default
// of a fresh socket of the same kind is left alone).
void save_options(Desc* d);
void apply_options(const Desc& d, int fd);

// socket_pairs.cpp: publish/subscribe at checkpoint, to tell inside peers
// from outside ones.
void publish_ends(Table* t);  // LEADER_ELECTION
void find_peers(Table* t);    // DRAIN, before draining

// socket_drain.cpp: read what is in flight (DRAIN), ship it to the
// writer's process and write it back (REGISTER.., SEND_QUERIES, REFILL).
void drain(Table* t);
void publish_data(Table* t, bool restart);
void fetch_data(Table* t, bool restart);
void refill(Table* t, bool restart);
void restore_drain_options(Table* t);  // RESUME: TCP_NODELAY, TCP_CORK back

// socket_held.cpp: bytes that did not fit back at REFILL stay in the
// receiver's memory; the program's reads take them first.
// REFILL: the receiving end t.descs[desc] keeps *head (taken).
void hold(Table& t, uint32_t desc, Bytes* head);
bool can_hold(const Desc& d);  // an fd the read wrappers can mark
// THREADS_SUSPEND, after scan(): what is left goes to each Desc's held.
void take_back_holds(Table* t);
// LEADER_ELECTION: non-leaders of stream connections say they share it;
// DRAIN, after drain(): leaders of ends with much in flight learn it (a
// shared end keeps no bytes: another process may be the one reading).
void publish_sharers(const Table& t);
void find_sharers(Table* t);
// PRE_EXEC: they cannot follow (one line).  ATFORK_CHILD: the parent
// keeps its own bytes; regions are the child's too.
void forget_holds(const char* why);
void forget_holds_in_child();

// socket_held_shared.cpp: the held bytes of an end several processes
// hold live in a memfd region every holder maps, so whichever of them
// reads gets the head first (docs/socket.md, "Ends shared between
// processes").  The region starts with this header; the bytes follow.
struct HoldRegion {
  pthread_mutex_t lock;  // robust, process-shared
  uint64_t len;          // bytes held (the leader sets it at REFILL)
  uint64_t off;          // taken so far, by any holder
  char* bytes() { return reinterpret_cast<char*>(this + 1); }
};
// socket_held.cpp, REFILL: a non-leader's fds of t.descs[desc] read the
// region's bytes first (the region is the hold's from now on).
void hold_region(const Table& t, uint32_t desc, HoldRegion* r, size_t len);
// DRAIN, before drain(): what is left of each region goes to the leader's
// Desc::held; every holder unmaps it (no image holds a region).
void take_back_shared_holds(Table* t);
// A region for `bytes` bytes, mapped; its memfd in *fd at or above
// park_floor, its mapped length in *len; nullptr with errno on failure.
HoldRegion* new_region(size_t bytes, int park_floor, size_t* len, int* fd);
// ATFORK_PREPARE: bytes held for an end only this process held go into a
// region, which the child shares.
void share_holds_before_fork();
// Lock and unlock a region's header (a holder that died holding it left
// nothing half-done that matters: the offset is written last).
void lock_region(HoldRegion* r);
void unlock_region(HoldRegion* r);
// WRITE_CKPT: non-leaders learn that their leader will keep a region.
void learn_shared_holds(Table* t);
// RESUME / RESTART: leaders make the regions and listen for the others;
// REGISTER_NAME_SERVICE_DATA: the others ask; SEND_QUERIES: hand them
// over and map them; REFILL, after refill(): non-leaders hold them.
void make_regions(Table* t);
void ask_regions(Table* t);
void exchange_regions(Table* t);
void attach_regions(Table* t);

// socket_remake.cpp: RESTART (leaders and pair makers re-make), install
// at SEND_QUERIES, shutdown states at THREADS_RESUME.
void remake_all(Table* t);
void ask_providers(Table* t);
// One ask() per provider with all its descriptions (FdExchange::ask_each):
// provider_of(d) is d's provider (a virtual pid), 0 for none.
void ask_each_provider(share::FdExchange* ex, Table* t,
                       pid_t (*provider_of)(const Desc&));
// SEND_QUERIES, after fetch_data() and before exchange_and_install(): the
// maker grows the buffers of re-made TCP connections that carry
// megabytes back.
void warm_up_pairs(Table* t);
void exchange_and_install(Table* t);
void reconnect_clients(Table* t);  // REFILL: UNIX datagram clients
void restore_shutdowns(Table* t);

// socket_hosts.cpp: inside TCP pairs whose ends restart on different
// hosts are connected over the network.  RESTART after remake_all();
// REGISTER_NAME_SERVICE_DATA before ask_providers(); SEND_QUERIES before
// exchange_and_install().
void host_publish(Table* t, pid_t me);
void cross_hosts(Table* t, pid_t me);
void finish_cross_hosts(Table* t);

// The maker of an inside pair: the process leading its smaller end.
inline bool is_maker_end(const Desc& d) {
  return d.id < d.peer_id;
}

}  // namespace dmtcp::sock
