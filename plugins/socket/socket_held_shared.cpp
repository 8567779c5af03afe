// socket_held_shared.cpp -- held bytes of an end that several processes
// hold (fork, SCM_RIGHTS): a memfd region every holder maps, so whichever
// process reads the end next gets the head first (docs/socket.md, "Ends
// shared between processes").
//
// Why a region: the receiver's leader reads the head back out at REFILL
// (socket_drain.cpp) and the kernel keeps the tail.  Kept in the leader's
// memory alone, the head would be missed by another holder that reads
// first: it would get the tail, then the head never.  In memory all the
// holders share, one offset serves them all, in any order.
//
// Steps (each after the round's barrier before it):
//  1. DRAIN: the leader of an end others hold, with much in flight, says
//     so ('sh' key; socket_held.cpp find_sharers).
//  2. WRITE_CKPT: the others learn it (the flag is in the image: restart
//     asks again).
//  3. RESUME / RESTART: the leader makes a memfd as large as everything in
//     flight towards the end (pages come only where the head is written)
//     and listens for the others (share::FdExchange, tag "socket-hold").
//  4. REGISTER_NAME_SERVICE_DATA: the others ask the leader for it.
//  5. SEND_QUERIES: the leader hands it over; everyone maps it.
//  6. REFILL: the leader writes the head it read back into the region
//     (socket_held.cpp hold()); the others hold the region as it is: the
//     length is read at each read, after the barrier that ends REFILL, so
//     an empty region sends reads to the kernel.
//  7. At the next checkpoint's DRAIN (every user thread of every process
//     stopped since THREADS_SUSPEND's barrier) the leader of the round
//     copies what is left into its Desc::held and every holder unmaps the
//     region, so no image ever holds one.
// Refuses nothing silently: a region that cannot be made or handed over
// is named with one line (that holder may read the tail first).
// Thread safety: the checkpoint thread's hooks; reads take the region's
// robust process-shared mutex (socket_held.cpp take()).
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmtcp/plugin.h"
#include "socket_table.h"

namespace dmtcp::sock {
namespace {

share::FdExchange g_regions("socket-hold");

bool wants_region(const Desc& d) {
  return d.el.leader && d.shared && d.where == Peer::kInside &&
         d.type == SOCK_STREAM && !d.data.empty() && !d.stand_in;
}

void close_region_fd(Desc* d) {
  if (d->region_fd >= 0) {
    close(d->region_fd);
    d->region_fd = -1;
  }
}

int provide(void* ctx, const share::FdKey& key, int /*leader_fd*/) {
  auto* t = static_cast<Table*>(ctx);
  for (const Desc& d : t->descs) {
    if (memcmp(&d.id, &key, sizeof key) == 0 && d.region_fd >= 0) {
      return d.region_fd;
    }
  }
  return -1;
}

void receive(void* ctx, pid_t provider, uint32_t cookie, int fd, bool alive) {
  auto* t = static_cast<Table*>(ctx);
  Desc& d = t->descs[cookie];
  char buf[400];
  struct stat st {};
  void* p = MAP_FAILED;
  if (fd >= 0 && fstat(fd, &st) == 0 &&
      static_cast<size_t>(st.st_size) >= sizeof(HoldRegion)) {
    p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE,
             MAP_SHARED, fd, 0);
  }
  if (fd >= 0) {
    close(fd);
  }
  if (p == MAP_FAILED) {
    dmtcp_log(
        "socket plugin: fd %d (%s): process %d %s the bytes in flight it "
        "keeps for it; reads here may get later bytes first",
        d.first_fd, describe(d, buf, sizeof buf), static_cast<int>(provider),
        alive ? "did not share" : "did not answer with");
    return;
  }
  d.region = static_cast<HoldRegion*>(p);
  d.region_len = static_cast<size_t>(st.st_size);
}

}  // namespace

// A region of `bytes` bytes after the header, mapped; its fd in *fd, at
// or above the park floor (restart puts sockets on the numbers below).
HoldRegion* new_region(size_t bytes, int park_floor, size_t* len, int* fd) {
  *len = sizeof(HoldRegion) + bytes;
  *fd = share::park_fd(memfd_create("dmtcp-socket-hold", MFD_CLOEXEC),
                       park_floor);
  if (*fd < 0 || ftruncate(*fd, static_cast<off_t>(*len)) != 0) {
    return nullptr;
  }
  void* p = mmap(nullptr, *len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
  if (p == MAP_FAILED) {
    return nullptr;
  }
  auto* r = static_cast<HoldRegion*>(p);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&r->lock, &a);
  pthread_mutexattr_destroy(&a);
  r->len = 0;
  r->off = 0;
  return r;
}

void lock_region(HoldRegion* r) {
  if (pthread_mutex_lock(&r->lock) == EOWNERDEAD) {
    // Its holder died between two plain stores; len and off are whole.
    pthread_mutex_consistent(&r->lock);
  }
}

void unlock_region(HoldRegion* r) {
  pthread_mutex_unlock(&r->lock);
}

void make_regions(Table* t) {
  bool any = false;
  for (Desc& d : t->descs) {
    d.region = nullptr;
    d.region_len = 0;
    d.region_fd = -1;
    if (!wants_region(d)) {
      continue;
    }
    d.region =
        new_region(d.data.size(), t->park_floor, &d.region_len, &d.region_fd);
    if (d.region == nullptr) {
      char buf[400];
      dmtcp_log(
          "socket plugin: fd %d (%s): no memory shared with the other "
          "processes holding it (%s); what does not fit back is lost",
          d.first_fd, describe(d, buf, sizeof buf), strerror(errno));
      close_region_fd(&d);
      continue;
    }
    any = true;
  }
  if (any) {
    g_regions.listen(t->park_floor);
  }
}

void ask_regions(Table* t) {
  ask_each_provider(&g_regions, t, [](const Desc& d) -> pid_t {
    return d.hold_shared ? d.el.leader_vpid : 0;
  });
}

void exchange_regions(Table* t) {
  g_regions.serve(provide, t);
  g_regions.collect(t->park_floor, receive, t);
  for (Desc& d : t->descs) {
    close_region_fd(&d);
  }
}

void attach_regions(Table* t) {
  for (uint32_t i = 0; i < t->descs.size(); ++i) {
    Desc& d = t->descs[i];
    if (d.region == nullptr) {
      continue;
    }
    if (d.el.leader) {
      // Nothing was held back (all of it fitted): nobody reads it.
      munmap(d.region, d.region_len);
    } else {
      hold_region(*t, i, d.region, d.region_len);
    }
    d.region = nullptr;
    d.region_len = 0;
  }
}

}  // namespace dmtcp::sock
