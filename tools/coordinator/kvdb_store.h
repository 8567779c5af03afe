// The key-value database of DMTCP 3.x plugins (dmtcp::kvdb, docs/plugins.md
// "DMTCP 3.x plugins"): named databases of key -> value, kept for as long
// as the coordinator runs (rounds do not empty it, unlike the
// publish/subscribe store of kv_store.h), with set, get and atomic int64
// updates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "protocol/protocol.h"

namespace dmtcp::coordinator {

class KvdbStore {
 public:
  // Bounds the whole database, as KvStore does.
  static constexpr size_t kMaxTotalBytes = size_t{512} << 20;

  struct Result {
    int32_t code;       // proto::KvdbResult, or -errno
    std::string value;  // get: the value; other ops: the value before
  };

  // One request.  Empty id or key, an unknown op, or an empty value for an
  // op other than get is kInvalidRequest.  An update of a missing key
  // stores the value as given and answers "0" as the value before; the
  // arithmetic ops read both sides as decimal int64 (a value that is not a
  // number counts as 0) and store the result in decimal.
  Result apply(uint32_t op, std::string_view id, std::string_view key,
               std::string_view value);

  size_t databases() const { return dbs_.size(); }

 private:
  using Db = std::map<std::string, std::string, std::less<>>;
  std::map<std::string, Db, std::less<>> dbs_;
  size_t bytes_ = 0;
};

}  // namespace dmtcp::coordinator
