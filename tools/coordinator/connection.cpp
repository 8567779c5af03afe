#include "connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dmtcp::coordinator {

Connection::~Connection() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Connection::ReadResult Connection::read_some(size_t max) {
  char buf[64 * 1024];
  size_t want = max < sizeof buf ? max : sizeof buf;
  for (;;) {
    ssize_t n = ::recv(fd_, buf, want, 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      return ReadResult::kData;
    }
    if (n == 0) {
      return ReadResult::kEof;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return ReadResult::kAgain;
    }
    return ReadResult::kError;
  }
}

bool Connection::peek_header(proto::MsgHeader* h) const {
  if (in_.size() < sizeof *h) {
    return false;
  }
  memcpy(h, in_.data(), sizeof *h);
  return true;
}

bool Connection::has_message(const proto::MsgHeader& h) const {
  return in_.size() >= sizeof h + h.payload_len;
}

std::string_view Connection::payload(const proto::MsgHeader& h) const {
  return std::string_view(in_).substr(sizeof h, h.payload_len);
}

void Connection::consume(const proto::MsgHeader& h) {
  in_.erase(0, sizeof h + h.payload_len);
}

bool Connection::queue(proto::MsgType type,
                       std::initializer_list<std::string_view> parts) {
  size_t len = 0;
  for (std::string_view p : parts) {
    len += p.size();
  }
  proto::MsgHeader h = proto::make_header(type, static_cast<uint32_t>(len));
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  out_.append(reinterpret_cast<const char*>(&h), sizeof h);
  for (std::string_view p : parts) {
    out_.append(p);
  }
  return flush();
}

bool Connection::flush() {
  while (out_off_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_off_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    }
    return false;
  }
  out_.clear();
  out_off_ = 0;
  return true;
}

}  // namespace dmtcp::coordinator
