#include "kv_store.h"

#include <cerrno>

#include "protocol/protocol.h"

namespace dmtcp::coordinator {

int KvStore::publish(std::string_view key, std::string_view value) {
  if (key.empty() || key.size() > proto::kMaxKeyLen) {
    return -EINVAL;
  }
  if (value.size() > proto::kMaxValueLen) {
    return -EMSGSIZE;
  }
  auto it = map_.find(key);
  size_t old = it == map_.end() ? 0 : it->first.size() + it->second.size();
  size_t added = key.size() + value.size();
  if (bytes_ - old + added > kMaxTotalBytes) {
    return -ENOSPC;
  }
  bytes_ = bytes_ - old + added;
  if (it == map_.end()) {
    map_.emplace(std::string(key), std::string(value));
  } else {
    it->second.assign(value);
  }
  return 1;
}

const std::string* KvStore::find(std::string_view key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

void KvStore::clear() {
  map_.clear();
  bytes_ = 0;
}

}  // namespace dmtcp::coordinator
