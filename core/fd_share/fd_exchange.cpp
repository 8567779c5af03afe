// fd_exchange.cpp -- re-made descriptions handed to the processes that
// shared them, over UNIX sockets with SCM_RIGHTS (dmtcp/fd_share.h, part
// 2).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

#include <boost/container/vector.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <type_traits>

#include "dmtcp/fd_share.h"
#include "dmtcp/hook_allocator.h"
#include "dmtcp/plugin.h"

namespace dmtcp::share {
namespace {

template <class T>
using HookVector = boost::container::vector<T, HookAllocator<T>>;

constexpr uint32_t kMagic = 0x46445032;  // "FDP2"
constexpr int kAnswerTimeoutMs = 60000;

struct RequestHeader {
  uint32_t magic;
  uint32_t count;
};

struct WireItem {
  FdKey key;
  int32_t leader_fd;
  int32_t pad;
};

struct Asking {
  int sock;
  pid_t provider;
  HookVector<uint32_t> cookies;  // in request order
};

using Askings = HookVector<Asking>;

Askings& askings_of(void** slot) {
  if (*slot == nullptr) {
    void* mem = dmtcp_alloc(sizeof(Askings));
    *slot = new (mem) Askings();
  }
  return *static_cast<Askings*>(*slot);
}

socklen_t address_for(const char* tag, pid_t vpid, sockaddr_un* a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "dmtcp-%s-%s-%d",
                   tag, dmtcp_get_computation_id_str(), vpid);
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
}

// read() or write() all of len, through EINTR and short counts.
template <class Io, class Buf>
bool transfer_exact(Io io, int fd, Buf* buf, size_t len) {
  auto* p = reinterpret_cast<
      std::conditional_t<std::is_const_v<Buf>, const char*, char*>>(buf);
  while (len > 0) {
    ssize_t n = io(fd, p, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool read_exact(int fd, void* buf, size_t len) {
  return transfer_exact(::read, fd, buf, len);
}

bool write_exact(int fd, const void* buf, size_t len) {
  return transfer_exact(::write, fd, buf, len);
}

bool same_user(int sock) {
  ucred cred{};
  socklen_t len = sizeof cred;
  return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
         cred.uid == getuid();
}

// Answers go in batches: one message per kBatch requests, a status byte
// per request (1 = found) and the found fds, in order, as SCM_RIGHTS.  A
// message per answer would fill the socket after a few hundred, while the
// asker is still busy answering its own askers.
constexpr size_t kBatch = 250;  // SCM_MAX_FD is 253

bool send_batch(int sock, const char* found, const int* fds, size_t count,
                size_t nfds) {
  iovec iov{const_cast<char*>(found), count};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kBatch)] = {};
  if (nfds > 0) {
    m.msg_control = control;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  return sendmsg(sock, &m, MSG_NOSIGNAL) == static_cast<ssize_t>(count);
}

// Reads one batch of `count` answers into fds[] (-1: missing).  False when
// the provider is gone or silent.
bool receive_batch(int sock, int* fds, size_t count) {
  pollfd p{sock, POLLIN, 0};
  if (poll(&p, 1, kAnswerTimeoutMs) != 1) {
    return false;
  }
  char found[kBatch];
  iovec iov{found, count};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kBatch)] = {};
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != static_cast<ssize_t>(count)) {
    return false;
  }
  const int* got = nullptr;
  size_t ngot = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      got = reinterpret_cast<const int*>(CMSG_DATA(c));
      ngot = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    }
  }
  size_t next = 0;
  for (size_t i = 0; i < count; ++i) {
    fds[i] = -1;
    if (found[i] == 1 && next < ngot) {
      memcpy(&fds[i], got + next++, sizeof(int));
    }
  }
  return true;
}

void serve_one(const char* tag, int sock, ProvideFn provide, void* ctx) {
  if (!same_user(sock)) {
    dmtcp_log("%s plugin: refused an fd request from another user", tag);
    return;
  }
  RequestHeader h{};
  if (!read_exact(sock, &h, sizeof h) || h.magic != kMagic ||
      h.count > 1u << 20) {
    dmtcp_log("%s plugin: a malformed fd request was ignored", tag);
    return;
  }
  char found[kBatch];
  int fds[kBatch];
  for (uint32_t done = 0; done < h.count;) {
    size_t count = h.count - done < kBatch ? h.count - done : kBatch;
    size_t nfds = 0;
    for (size_t i = 0; i < count; ++i) {
      WireItem item{};
      if (!read_exact(sock, &item, sizeof item)) {
        return;
      }
      int fd = provide(ctx, item.key, item.leader_fd);
      found[i] = fd >= 0 ? 1 : 0;
      if (fd >= 0) {
        fds[nfds++] = fd;
      }
    }
    if (!send_batch(sock, found, fds, count, nfds)) {
      return;
    }
    done += static_cast<uint32_t>(count);
  }
}

}  // namespace

bool FdExchange::listen(int park_floor) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un a;
  socklen_t alen =
      address_for(tag_, dmtcp_real_to_virtual_pid(raw_getpid()), &a);
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), alen) != 0 ||
      ::listen(s, 4096) != 0) {
    dmtcp_log("%s plugin: cannot listen for fd requests: %s", tag_,
              strerror(errno));
    if (s >= 0) {
      close(s);
    }
    return false;
  }
  listener_ = park_fd(s, park_floor);
  return true;
}

bool FdExchange::ask(pid_t provider, const FdRequest* requests, size_t n,
                     int park_floor) {
  if (n == 0) {
    return true;
  }
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr;
  socklen_t alen = address_for(tag_, provider, &addr);
  if (s < 0 || connect(s, reinterpret_cast<sockaddr*>(&addr), alen) != 0) {
    dmtcp_log("%s plugin: cannot reach process %d for shared fds: %s", tag_,
              provider, strerror(errno));
    if (s >= 0) {
      close(s);
    }
    return false;
  }
  // Whoever holds the name must be one of ours (our own user): nobody else
  // gets to hand the program fds.
  if (!same_user(s)) {
    dmtcp_log("%s plugin: the socket of process %d belongs to another user: "
              "not asked",
              tag_, provider);
    close(s);
    return false;
  }
  Asking a;
  a.sock = park_fd(s, park_floor);
  a.provider = provider;
  // One write: the request waits in the socket until the provider reads
  // it after the barrier, so it must not need many buffers.
  HookVector<char> request(sizeof(RequestHeader) + n * sizeof(WireItem));
  RequestHeader h{kMagic, static_cast<uint32_t>(n)};
  memcpy(request.data(), &h, sizeof h);
  for (size_t i = 0; i < n; ++i) {
    WireItem item{requests[i].key, requests[i].leader_fd, 0};
    memcpy(request.data() + sizeof h + i * sizeof item, &item, sizeof item);
    a.cookies.push_back(requests[i].cookie);
  }
  bool ok = write_exact(a.sock, request.data(), request.size());
  askings_of(&askings_).push_back(std::move(a));
  return ok;
}

bool FdExchange::ask_each(size_t n, RequestFn request, void* ctx,
                          int park_floor) {
  struct Wanted {
    pid_t provider;
    FdRequest request;
  };
  HookVector<Wanted> wanted;
  for (size_t i = 0; i < n; ++i) {
    Wanted w{};
    w.provider = request(ctx, i, &w.request);
    if (w.provider != 0) {
      wanted.push_back(w);
    }
  }
  // By provider, then in the plugin's order; std::sort does not allocate
  // (stable_sort would, with operator new).  O(n log n) for a table of
  // thousands of sockets.
  std::sort(wanted.begin(), wanted.end(),
            [](const Wanted& a, const Wanted& b) {
              return a.provider != b.provider
                         ? a.provider < b.provider
                         : a.request.cookie < b.request.cookie;
            });
  HookVector<FdRequest> batch;
  bool ok = true;
  for (size_t i = 0; i < wanted.size();) {
    batch.clear();
    size_t j = i;
    for (; j < wanted.size() && wanted[j].provider == wanted[i].provider;
         ++j) {
      batch.push_back(wanted[j].request);
    }
    ok = ask(wanted[i].provider, batch.data(), batch.size(), park_floor) && ok;
    i = j;
  }
  return ok;
}

void FdExchange::serve(ProvideFn provide, void* ctx) {
  if (listener_ < 0) {
    return;
  }
  for (;;) {
    int s = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (s < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;  // EAGAIN: everyone who asks has connected before the barrier
    }
    serve_one(tag_, s, provide, ctx);
    close(s);
  }
  close(listener_);
  listener_ = -1;
}

void FdExchange::collect(int park_floor, ReceiveFn receive, void* ctx) {
  Askings& all = askings_of(&askings_);
  for (Asking& a : all) {
    int fds[kBatch];
    bool alive = true;
    for (size_t done = 0; done < a.cookies.size();) {
      size_t count =
          a.cookies.size() - done < kBatch ? a.cookies.size() - done : kBatch;
      alive = alive && receive_batch(a.sock, fds, count);
      for (size_t i = 0; i < count; ++i) {
        int fd = alive && fds[i] >= 0 ? park_fd(fds[i], park_floor) : -1;
        receive(ctx, a.provider, a.cookies[done + i], fd, alive);
      }
      done += count;
    }
    close(a.sock);
  }
  // The list lives from the first ask() to here: an exchange that goes
  // out of scope (a test's) leaves nothing behind.
  all.~Askings();
  dmtcp_free(askings_);
  askings_ = nullptr;
}

}  // namespace dmtcp::share
