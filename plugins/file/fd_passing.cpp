// fd_passing.cpp -- handing re-made descriptions to the processes that
// shared them, over UNIX sockets with SCM_RIGHTS.
//
// Every restarting process listens on an abstract socket named after the
// computation and its virtual pid.  The phases are the restart's barriers:
//   RESTART        listen()            before anyone can ask
//   REGISTER_...   ask()               connect and write what we need; the
//                                      kernel queues it until accepted
//   SEND_QUERIES   serve(), collect()  answer every queued asker (never
//                                      waiting on anyone), then read our
//                                      own answers
// Serving first and never blocking while serving is what makes the order
// of processes irrelevant.  Only our own user may connect (SO_PEERCRED).
#include "fd_passing.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "dmtcp/plugin.h"
#include "file_util.h"

namespace dmtcp::file {
namespace {

constexpr uint32_t kMagic = 0x46445031;  // "FDP1"
constexpr int kAnswerTimeoutMs = 60000;

struct RequestHeader {
  uint32_t magic;
  uint32_t count;
};

struct RequestItem {
  DescKey key;
  int32_t leader_fd;
  int32_t pad;
};

struct Asking {
  int sock;
  pid_t provider;
  HookVector<uint32_t> descs;  // indices into the table, in request order
};

int g_listener = -1;
HookVector<Asking>& askings() {
  static HookVector<Asking> a;
  return a;
}

socklen_t address_for(pid_t vpid, sockaddr_un* a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "dmtcp-file-%s-%d",
                   dmtcp_get_computation_id_str(), vpid);
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
}

bool read_exact(int fd, void* buf, size_t len) {
  char* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = read(fd, p, len);
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

void serve_one(Table* t, int sock) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      cred.uid != getuid()) {
    dmtcp_log("file plugin: refused an fd request from uid %u", cred.uid);
    return;
  }
  RequestHeader h{};
  if (!read_exact(sock, &h, sizeof h) || h.magic != kMagic ||
      h.count > 1u << 20) {
    dmtcp_log("file plugin: a malformed fd request was ignored");
    return;
  }
  char found[kBatch];
  int fds[kBatch];
  for (uint32_t done = 0; done < h.count;) {
    size_t count = h.count - done < kBatch ? h.count - done : kBatch;
    size_t nfds = 0;
    for (size_t i = 0; i < count; ++i) {
      RequestItem item{};
      if (!read_exact(sock, &item, sizeof item)) {
        return;
      }
      int fd = provide(*t, item.key, item.leader_fd);
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

int provide(const Table& t, const DescKey& key, int leader_fd) {
  for (const Desc& d : t.descs) {
    if (key.kind == static_cast<uint8_t>(Kind::kPipe)) {
      if (d.kind != Kind::kPipe || d.st.st_ino != key.ino ||
          d.st.st_dev != key.dev || d.provider != 0) {
        continue;
      }
      bool creator = d.pipe_is_read_end && d.leader;
      if (creator) {
        return key.pipe_end == 'r' ? d.new_fd : d.pipe_peer_fd;
      }
      if (key.pipe_end == 'w' && d.leader && !d.pipe_is_read_end) {
        return d.new_fd;  // no reader inside: the write end we made
      }
      continue;
    }
    if (!d.leader || d.provider != 0 || d.new_fd < 0) {
      continue;
    }
    if (leader_fd >= 0 ? d.first_fd == leader_fd : d.key() == key) {
      return d.new_fd;
    }
  }
  return -1;
}

bool listen_for_askers(int park_min) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un a;
  socklen_t alen = address_for(dmtcp_real_to_virtual_pid(raw_getpid()), &a);
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), alen) != 0 ||
      listen(s, 4096) != 0) {
    dmtcp_log("file plugin: cannot listen for fd requests: %s",
              strerror(errno));
    if (s >= 0) {
      close(s);
    }
    return false;
  }
  g_listener = park_fd(s, park_min);
  return true;
}

bool ask(Table* t, pid_t provider, int park_min) {
  Asking a;
  a.provider = provider;
  for (uint32_t i = 0; i < t->descs.size(); ++i) {
    if (t->descs[i].provider == provider) {
      a.descs.push_back(i);
    }
  }
  if (a.descs.empty()) {
    return true;
  }
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr;
  socklen_t alen = address_for(provider, &addr);
  if (s < 0 || connect(s, reinterpret_cast<sockaddr*>(&addr), alen) != 0) {
    dmtcp_log("file plugin: cannot reach process %d for shared fds: %s",
              provider, strerror(errno));
    if (s >= 0) {
      close(s);
    }
    return false;
  }
  // Whoever holds the name must be one of ours (our own user): nobody else
  // gets to hand the program fds.
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      cred.uid != getuid()) {
    dmtcp_log(
        "file plugin: the socket of process %d belongs to uid %u: not "
        "asked",
        provider, cred.uid);
    close(s);
    return false;
  }
  a.sock = park_fd(s, park_min);
  // One write: the request waits in the socket until the provider reads
  // it after the barrier, so it must not need many buffers.
  HookVector<char> request(sizeof(RequestHeader) +
                           a.descs.size() * sizeof(RequestItem));
  RequestHeader h{kMagic, static_cast<uint32_t>(a.descs.size())};
  memcpy(request.data(), &h, sizeof h);
  size_t at = sizeof h;
  for (uint32_t i : a.descs) {
    const Desc& d = t->descs[i];
    RequestItem item{d.key(), d.leader_fd, 0};
    memcpy(request.data() + at, &item, sizeof item);
    at += sizeof item;
  }
  bool ok = write_all(a.sock, request.data(), request.size());
  askings().push_back(std::move(a));
  return ok;
}

void serve(Table* t) {
  if (g_listener < 0) {
    return;
  }
  for (;;) {
    int s = accept4(g_listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (s < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;  // EAGAIN: everyone who asks has connected before the barrier
    }
    serve_one(t, s);
    close(s);
  }
  close(g_listener);
  g_listener = -1;
}

void collect(Table* t, int park_min) {
  for (Asking& a : askings()) {
    int fds[kBatch];
    bool alive = true;
    for (size_t done = 0; done < a.descs.size();) {
      size_t count =
          a.descs.size() - done < kBatch ? a.descs.size() - done : kBatch;
      alive = alive && receive_batch(a.sock, fds, count);
      for (size_t i = 0; i < count; ++i) {
        Desc& d = t->descs[a.descs[done + i]];
        if (!alive || fds[i] < 0) {
          dmtcp_log("file plugin: fd %d (%s %s): process %d %s", d.first_fd,
                    kind_name(d.kind), d.path.c_str(), a.provider,
                    alive ? "did not have it" : "did not answer");
          continue;
        }
        d.new_fd = park_fd(fds[i], park_min);
      }
      done += count;
    }
    close(a.sock);
  }
  askings().clear();
}

}  // namespace dmtcp::file
