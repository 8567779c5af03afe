// dmtcp/fd_share.h -- open file descriptions shared by several processes:
// one leader saves and re-makes each, the others get it handed over at
// restart.  Every plugin that restores fds (file, socket, event, timer)
// uses this one copy; it is the static library `dmtcp_fd_share` (CMake:
// target_link_libraries(dmtcp_<plugin> PRIVATE dmtcp_fd_share)).
//
// Why.  fork() and SCM_RIGHTS leave one kernel description (offset,
// status flags, socket state, epoll set, eventfd counter...) behind fds in
// several processes.  Saving it in each and re-making it in each would
// give each process its own copy after restart: a shared offset or counter
// would drift apart, a socket would be connected twice.  So:
//
// 1. Leader election, at checkpoint (per description, with the round's
//    barriers between the steps):
//      THREADS_SUSPEND  save_owner()      read the program's F_GETOWN_EX
//      SUSPENDED        claim()           write our own pid as its owner
//      LEADER_ELECTION  read_leader()     whose pid stuck is the leader
//      DRAIN            restore_owner()   the leader puts the owner back
//                       find_leader_fd()  others learn the leader's fd for
//                                         it (kcmp), to ask for it later
//    The owner is a property of the description, so every holder sees the
//    last write; it is also the program's (SIGIO/SIGURG go to it), hence
//    read first and put back after everyone has read.  A description
//    whose owner cannot be read (O_PATH) or that save_owner() was not
//    called for is simply ours: leader.
//
// 2. Fd passing, at restart: each plugin has one FdExchange, named by a
//    tag, listening on an abstract UNIX socket named after the computation,
//    the tag and its virtual pid; only our own uid may connect (both ends
//    check SO_PEERCRED).
//      RESTART                     listen()   leaders have re-made theirs
//      REGISTER_NAME_SERVICE_DATA  ask()      connect and write the
//                                  ask_each() requests (queued by the
//                                             kernel until served)
//      SEND_QUERIES                serve()    answer every queued asker,
//                                             never waiting on anyone
//                                  collect()  then read our own answers
//    Serving first and never blocking while serving is what makes the
//    order of processes irrelevant.
//
// 3. The order of restore steps every fd plugin follows at restart:
//      RESTART       leaders re-make their descriptions at temporary fds
//                    (park_fd(fd, floor): at or above the highest fd the
//                    process had at checkpoint, so a temporary never sits
//                    on a number some plugin will install onto);
//      REG..._DATA   ask the providers;
//      SEND_QUERIES  serve, collect, then dup3() every description to its
//                    fd numbers and close the temporaries;
//      REFILL        what needs other fds at their numbers (epoll
//                    registrations, data written back into sockets).
//    The core raises RLIMIT_NOFILE's soft limit to the hard one for the
//    whole restart (temporaries may double the fd count) and puts the
//    program's limit back after REFILL.
//
// Allocation: nothing here calls malloc; state lives in dmtcp_alloc()
// memory (dmtcp/hook_allocator.h).  Everything runs in the checkpoint
// thread's hooks.  Errors are logged with dmtcp_log() and reported as
// false / -1; callers decide how loud to be.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace dmtcp::share {

// ---- 1. Leader election --------------------------------------------------

struct Election {
  int fd = -1;  // set by the caller: this process's lowest fd for it
  bool owner_saved = false;
  struct f_owner_ex owner {};  // the program's F_GETOWN_EX (real pid)
  int owner_virtual = 0;       // owner.pid as the program sees it
  bool leader = true;
  pid_t leader_vpid = 0;  // the leader's virtual pid (ours when leader)
  pid_t leader_real = 0;  // its real pid, during the checkpoint only
  int leader_fd = -1;     // the leader's lowest fd for it; -1 unknown
};

void save_owner(Election* e);      // THREADS_SUSPEND
void claim(Election* e);           // SUSPENDED
void read_leader(Election* e);     // LEADER_ELECTION
void restore_owner(Election* e);   // DRAIN, before anything else
void find_leader_fd(Election* e);  // DRAIN, non-leaders
// Restart, leader: give the re-made description (at `fd`) its owner back,
// translated to the owner's new real pid.
void restore_owner_after_restart(const Election& e, int fd);

// ---- 2. Fd passing at restart --------------------------------------------

// What identifies a description between asker and provider, defined by the
// plugin (e.g. device, inode and kind); compared byte for byte.
struct FdKey {
  unsigned char bytes[32];
};

struct FdRequest {
  FdKey key;
  int leader_fd;    // the provider's fd number for it (-1: by key only)
  uint32_t cookie;  // the asker's own: handed back by collect()
};

// Returns the fd this process holds for (key, leader_fd), or -1.
using ProvideFn = int (*)(void* ctx, const FdKey& key, int leader_fd);
// Request i of a plugin's n candidates: fills *out and returns the provider
// to ask (a virtual pid), or 0 when nothing is to be asked for item i (a
// description this process re-makes itself).
using RequestFn = pid_t (*)(void* ctx, size_t i, FdRequest* out);
// One answer: fd (already parked at or above the floor, close-on-exec) or
// -1 when the provider did not have it (alive) or did not answer (!alive).
using ReceiveFn = void (*)(void* ctx, pid_t provider, uint32_t cookie, int fd,
                           bool alive);

class FdExchange {
 public:
  // tag: a short name unique to the plugin ("file", "socket"...), which
  // must outlive the object (a string literal).
  explicit constexpr FdExchange(const char* tag) : tag_(tag) {}

  bool listen(int park_floor);  // RESTART
  // REGISTER_NAME_SERVICE_DATA: ask `provider` (a virtual pid) for `n`
  // descriptions in one write.  One call per provider per restart.
  bool ask(pid_t provider, const FdRequest* requests, size_t n,
           int park_floor);
  // REGISTER_NAME_SERVICE_DATA: the same for a plugin's whole table: every
  // request that request(ctx, i, ...) makes for i < n, grouped so that each
  // provider is asked once (in the order of their virtual pids).  False
  // when some ask() failed (each failure is logged); the others are asked.
  bool ask_each(size_t n, RequestFn request, void* ctx, int park_floor);
  // SEND_QUERIES: answer every queued request, then stop listening.
  void serve(ProvideFn provide, void* ctx);
  // SEND_QUERIES, after serve(): every answer to our ask()s, in order.
  void collect(int park_floor, ReceiveFn receive, void* ctx);

 private:
  const char* tag_;
  int listener_ = -1;
  void* askings_ = nullptr;  // fd_exchange.cpp's list, in dmtcp_alloc memory
};

// ---- 3. Small fd facilities ----------------------------------------------

// The highest fd open in this process now (-1: none), from /proc/self/fd
// with getdents64 (no malloc).  At checkpoint time, +1 is the park floor.
int highest_fd();

// `fd` moved to the lowest free number at or above `floor`, close-on-exec
// (the old number closed); fd itself when already there or negative.
int park_fd(int fd, int floor);

// readlink("/proc/self/fd/<fd>") into buf (NUL-terminated); false on error.
bool read_fd_link(int fd, char* buf, size_t cap);

// Whether fds a and b of this process are one open file description
// (kcmp KCMP_FILE): 1 yes, 0 no, -1 kcmp refused (errno set; e.g. a
// seccomp filter), when the caller decides what to assume.
int same_description(int a, int b);

// The kernel's pid and fcntl with a pointer argument, past every wrapper
// (the pid plugin translates both); fcntl returns the kernel's result,
// negative errno on failure.
pid_t raw_getpid();
long raw_fcntl_ptr(int fd, int cmd, void* arg);

// Calls f(name) for each entry of the directory open at `dir`, in the
// kernel's order, until f returns false.  getdents64: no malloc.
template <class F>
void for_each_dir_entry(int dir, F&& f) {
  char buf[4096];
  ssize_t n;
  while ((n = getdents64(dir, buf, sizeof buf)) > 0) {
    for (ssize_t off = 0; off < n;) {
      auto* e = reinterpret_cast<struct dirent64*>(buf + off);
      off += e->d_reclen;
      if (!f(static_cast<const char*>(e->d_name))) {
        return;
      }
    }
  }
}

}  // namespace dmtcp::share
