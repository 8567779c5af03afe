// The publish/subscribe database (SPEC section 4): plugins publish in
// REGISTER_NAME_SERVICE_DATA and query in SEND_QUERIES; the barrier between
// them makes every publication visible.  Emptied when a round starts.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace dmtcp::coordinator {

class KvStore {
 public:
  // Bounds the whole database so one misbehaving process cannot make the
  // coordinator swap.
  static constexpr size_t kMaxTotalBytes = size_t{512} << 20;

  // 1 stored, or -errno (EINVAL bad key, EMSGSIZE value too big, ENOSPC).
  int publish(std::string_view key, std::string_view value);
  // nullptr when the key is missing.
  const std::string* find(std::string_view key) const;
  void clear();
  size_t size() const { return map_.size(); }
  // Every key and value, by key (--write-kv-data).
  const std::map<std::string, std::string, std::less<>>& entries() const {
    return map_;
  }

 private:
  std::map<std::string, std::string, std::less<>> map_;
  size_t bytes_ = 0;
};

}  // namespace dmtcp::coordinator
