// The coordinator wire codec.  Nothing in the codec half of this file may
// allocate: the runtime calls it from the checkpoint thread while user
// threads can hold the malloc lock.  Tool helpers at the end may allocate.
#include "protocol/protocol.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/env.h"

namespace dmtcp::proto {
namespace {

// sendmsg with MSG_NOSIGNAL so a peer that went away gives EPIPE instead of
// killing a user process with SIGPIPE; plain writev for pipes and files.
ssize_t write_vec(int fd, const iovec* iov, int n) {
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = static_cast<size_t>(n);
  ssize_t r = ::sendmsg(fd, &m, MSG_NOSIGNAL);
  if (r < 0 && errno == ENOTSOCK) {
    r = ::writev(fd, iov, n);
  }
  return r;
}

// Writes every byte of iov[0..n), surviving EINTR and short writes.  The
// array is modified in place.
int write_vec_all(int fd, iovec* iov, int n) {
  while (n > 0) {
    if (iov[0].iov_len == 0) {
      ++iov;
      --n;
      continue;
    }
    ssize_t r = write_vec(fd, iov, n);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    size_t done = static_cast<size_t>(r);
    while (n > 0 && done >= iov[0].iov_len) {
      done -= iov[0].iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov[0].iov_base = static_cast<char*>(iov[0].iov_base) + done;
      iov[0].iov_len -= done;
    }
  }
  return 0;
}

bool fits_u32(size_t n) { return n <= UINT32_MAX; }

}  // namespace

MsgHeader make_header(MsgType type, uint32_t payload_len) {
  MsgHeader h{};
  h.magic = kMagic;
  h.version = kVersion;
  h.type = static_cast<uint16_t>(type);
  h.payload_len = payload_len;
  h.reserved = 0;
  return h;
}

std::string_view check_header(const MsgHeader& h) {
  if (h.magic != kMagic) {
    return "bad magic (not a DMTCP coordinator message)";
  }
  if (h.version != kVersion) {
    return "unsupported protocol version";
  }
  if (h.payload_len > kMaxPayload) {
    return "payload too large";
  }
  return {};
}

int write_all(int fd, const void* buf, size_t len) {
  iovec iov{const_cast<void*>(buf), len};
  return write_vec_all(fd, &iov, 1);
}

int read_all(int fd, void* buf, size_t len) {
  char* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t r = ::read(fd, p, len);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    if (r == 0) {
      errno = ECONNRESET;
      return -1;
    }
    p += r;
    len -= static_cast<size_t>(r);
  }
  return 0;
}

int send_msg(int fd, MsgType type, const void* p1, size_t n1, const void* p2,
             size_t n2, const void* p3, size_t n3) {
  size_t total = n1 + n2 + n3;
  if (!fits_u32(total) || total > kMaxPayload) {
    errno = EMSGSIZE;
    return -1;
  }
  MsgHeader h = make_header(type, static_cast<uint32_t>(total));
  iovec iov[4] = {{&h, sizeof h},
                  {const_cast<void*>(p1), n1},
                  {const_cast<void*>(p2), n2},
                  {const_cast<void*>(p3), n3}};
  return write_vec_all(fd, iov, 4);
}

int recv_msg(int fd, MsgHeader* h, void* buf, size_t cap) {
  if (read_all(fd, h, sizeof *h) != 0) {
    return -1;
  }
  if (!check_header(*h).empty()) {
    errno = EPROTO;
    return -1;
  }
  if (h->payload_len > cap) {
    errno = EMSGSIZE;
    return -1;
  }
  return read_all(fd, buf, h->payload_len);
}

void format_image_name(char* out, size_t cap, const char* progname,
                       const char* unique_pid, uint32_t generation) {
  snprintf(out, cap, "ckpt_%s_%s_gen%u.dmtcp", progname, unique_pid,
           generation);
}

void copy_field(char* dst, size_t cap, std::string_view s) {
  if (cap == 0) {
    return;
  }
  size_t n = s.size() < cap - 1 ? s.size() : cap - 1;
  memcpy(dst, s.data(), n);
  memset(dst + n, 0, cap - n);
}

bool secrets_equal(const char* a, const char* b) {
  unsigned char diff = 0;
  for (size_t i = 0; i < kSecretHexLen; ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

// ---- Tool helpers (may allocate) ----

std::string key_dir_path() {
  const char* base = env_value("DMTCP_TMPDIR");
  if (base == nullptr || base[0] == '\0') {
    base = env_value("TMPDIR");
  }
  if (base == nullptr || base[0] == '\0') {
    base = "/tmp";
  }
  return std::string(base) + "/dmtcp-" + std::to_string(getuid());
}

std::string key_file_path(int port) {
  return key_dir_path() + "/coordinator-" + std::to_string(port) + ".key";
}

std::string shared_key_dir_path() {
  const char* base = env_value("TMPDIR");
  if (base == nullptr || base[0] == '\0') {
    base = "/tmp";
  }
  return std::string(base) + "/dmtcp-" + std::to_string(getuid());
}

namespace {

bool read_secret_in(const std::string& dir, int port,
                    char out[kSecretHexLen + 1]) {
  // The directory and the file must be ours and closed to others; otherwise
  // someone else could have planted a key (or read ours).
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return false;
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    errno = EPERM;
    return false;
  }
  std::string file = dir + "/coordinator-" + std::to_string(port) + ".key";
  int fd = ::open(file.c_str(),
                  O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    return false;
  }
  char buf[kSecretHexLen + 2];
  ssize_t n = -1;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() ||
      (st.st_mode & 077) != 0) {
    errno = EPERM;
  } else {
    n = ::read(fd, buf, sizeof buf);
  }
  int saved = errno;
  ::close(fd);
  if (n < static_cast<ssize_t>(kSecretHexLen)) {
    errno = n < 0 ? saved : EPROTO;
    return false;
  }
  for (size_t i = 0; i < kSecretHexLen; ++i) {
    char c = buf[i];
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) {
      errno = EPROTO;
      return false;
    }
  }
  memcpy(out, buf, kSecretHexLen);
  out[kSecretHexLen] = '\0';
  return true;
}

}  // namespace

bool read_secret(int port, char out[kSecretHexLen + 1]) {
  std::string dir = key_dir_path();
  if (read_secret_in(dir, port, out)) {
    return true;
  }
  // A tool or process whose DMTCP_TMPDIR differs from the coordinator's
  // (dmtcp_launch/dmtcp_restart --tmpdir) finds the copy the coordinator
  // keeps in the shared directory (docs/coordinator.md).
  int err = errno;
  std::string shared = shared_key_dir_path();
  if (err == ENOENT && shared != dir && read_secret_in(shared, port, out)) {
    return true;
  }
  errno = err;
  return false;
}

namespace {

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// One non-blocking connect attempt, waiting at most until deadline.
int connect_one(const addrinfo* ai, int64_t deadline) {
  int fd =
      ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
               ai->ai_protocol);
  if (fd < 0) {
    return -1;
  }
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      return -1;
    }
    for (;;) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        ::close(fd);
        errno = ETIMEDOUT;
        return -1;
      }
      pollfd p{fd, POLLOUT, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r < 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
      }
      if (r > 0) {
        break;
      }
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      ::close(fd);
      errno = err;
      return -1;
    }
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

int connect_to(const char* host, int port, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (::getaddrinfo(host, service.c_str(), &hints, &res) != 0 ||
      res == nullptr) {
    errno = EHOSTUNREACH;
    return -1;
  }
  int fd = -1;
  int err = ECONNREFUSED;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = connect_one(ai, deadline);
    if (fd < 0) {
      err = errno;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) {
    errno = err;
  }
  return fd;
}

}  // namespace dmtcp::proto
