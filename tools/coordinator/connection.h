// One non-blocking client socket of the coordinator with its input and
// output buffers.  The coordinator never blocks on a client: a slow or
// silent peer only grows its own buffers (both bounded), so it cannot stall
// the others.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "protocol/protocol.h"

namespace dmtcp::coordinator {

class Connection {
 public:
  // Takes ownership of fd (already non-blocking).
  explicit Connection(int fd) : fd_(fd) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }

  enum class ReadResult { kData, kAgain, kEof, kError };
  // Appends at most max bytes from the socket to the input buffer.
  ReadResult read_some(size_t max);

  // True when a whole header is buffered; copies it to *h.
  bool peek_header(proto::MsgHeader* h) const;
  // True when header h and its whole payload are buffered.
  bool has_message(const proto::MsgHeader& h) const;
  // The buffered payload of the message whose header is h.
  std::string_view payload(const proto::MsgHeader& h) const;
  // Drops the message whose header is h from the input buffer.
  void consume(const proto::MsgHeader& h);

  // Appends a message to the output buffer and tries to send it now.
  // Returns false when the socket failed (the caller closes it).
  bool queue(proto::MsgType type,
             std::initializer_list<std::string_view> parts);
  // Sends what is buffered without blocking.  false on a socket error.
  bool flush();
  size_t pending_out() const { return out_.size() - out_off_; }

 private:
  int fd_;
  std::string in_;
  std::string out_;
  size_t out_off_ = 0;
};

}  // namespace dmtcp::coordinator
