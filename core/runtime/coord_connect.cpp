// Connecting and saying hello to the coordinator: shared by the runtime and
// the tools (dmtcp_launch, dmtcp_restart), so it must not touch runtime
// state.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runtime/coord_client.h"

namespace dmtcp::coord {

std::string resolve_failure(const char* host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host, nullptr, &hints, &res);
  if (rc == 0) {
    freeaddrinfo(res);
    return "";
  }
  return rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc);
}

using proto::MsgHeader;
using proto::MsgType;

int connect_tcp(const char* host, int port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  char port_str[16];
  snprintf(port_str, sizeof port_str, "%d", port);
  addrinfo* res = nullptr;
  if (getaddrinfo(host, port_str, &hints, &res) != 0 || res == nullptr) {
    errno = EHOSTUNREACH;
    return -1;
  }
  int fd = -1;
  int err = ECONNREFUSED;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                0);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      r = poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
      int so_error = ETIMEDOUT;
      socklen_t len = sizeof so_error;
      if (r == 0) {
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      }
      if (so_error != 0) {
        r = -1;
        errno = so_error;
      }
    }
    if (r == 0) {
      int flags = fcntl(fd, F_GETFL);
      fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      break;
    }
    err = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    errno = err;
  }
  return fd;
}

void fill_secret(int port, proto::HelloPayload* hello) {
  if (!proto::read_secret(port, hello->secret)) {
    hello->secret[0] = '\0';
  }
}

int hello(int fd, const proto::HelloPayload& hello,
          proto::WelcomePayload* welcome, char* why, size_t why_len) {
  if (proto::send_msg(fd, MsgType::kHello, &hello, sizeof hello) != 0) {
    snprintf(why, why_len, "sending hello: %s", strerror(errno));
    return -1;
  }
  MsgHeader h{};
  char buf[1024];
  if (proto::recv_msg(fd, &h, buf, sizeof buf - 1) != 0) {
    snprintf(why, why_len, "no answer to hello: %s", strerror(errno));
    return -1;
  }
  if (h.type == static_cast<uint16_t>(MsgType::kReject)) {
    buf[h.payload_len] = '\0';
    snprintf(why, why_len, "coordinator refused us: %s", buf);
    return -1;
  }
  if (h.type != static_cast<uint16_t>(MsgType::kWelcome) ||
      h.payload_len != sizeof(proto::WelcomePayload)) {
    snprintf(why, why_len, "unexpected answer %u to hello", h.type);
    return -1;
  }
  memcpy(welcome, buf, sizeof *welcome);
  welcome->computation_id[sizeof welcome->computation_id - 1] = '\0';
  return 0;
}

}  // namespace dmtcp::coord
