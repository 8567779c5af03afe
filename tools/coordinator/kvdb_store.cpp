#include "kvdb_store.h"

#include <cerrno>
#include <charconv>

namespace dmtcp::coordinator {
namespace {

using proto::KvdbOp;
using proto::KvdbResult;

int64_t as_int(std::string_view s) {
  int64_t v = 0;
  const char* b = s.data();
  const char* e = b + s.size();
  while (b != e && *b == ' ') {
    ++b;
  }
  if (b != e && *b == '+') {
    ++b;
  }
  auto [ptr, ec] = std::from_chars(b, e, v);
  (void)ptr;
  return ec == std::errc() ? v : 0;
}

int32_t code(KvdbResult r) {
  return static_cast<int32_t>(r);
}

}  // namespace

KvdbStore::Result KvdbStore::apply(uint32_t op, std::string_view id,
                                   std::string_view key,
                                   std::string_view value) {
  if (id.empty() || key.empty() || op > static_cast<uint32_t>(KvdbOp::kMax) ||
      (value.empty() && op != static_cast<uint32_t>(KvdbOp::kGet))) {
    return {code(KvdbResult::kInvalidRequest), {}};
  }
  auto db = dbs_.find(id);
  if (op == static_cast<uint32_t>(KvdbOp::kGet)) {
    if (db == dbs_.end()) {
      return {code(KvdbResult::kDbNotFound), {}};
    }
    auto it = db->second.find(key);
    if (it == db->second.end()) {
      return {code(KvdbResult::kKeyNotFound), {}};
    }
    return {code(KvdbResult::kSuccess), it->second};
  }
  std::string before = "0";
  std::string after;
  const std::string* old = nullptr;
  if (db != dbs_.end()) {
    auto it = db->second.find(key);
    if (it != db->second.end()) {
      old = &it->second;
      before = it->second;
    }
  }
  if (old == nullptr || op == static_cast<uint32_t>(KvdbOp::kSet)) {
    after.assign(value);
  } else {
    int64_t a = as_int(*old);
    int64_t b = as_int(value);
    int64_t r = 0;
    switch (static_cast<KvdbOp>(op)) {
      case KvdbOp::kIncrBy:
        r = static_cast<int64_t>(static_cast<uint64_t>(a) +
                                 static_cast<uint64_t>(b));  // wraps
        break;
      case KvdbOp::kAnd:
        r = a & b;
        break;
      case KvdbOp::kOr:
        r = a | b;
        break;
      case KvdbOp::kXor:
        r = a ^ b;
        break;
      case KvdbOp::kMin:
        r = a < b ? a : b;
        break;
      case KvdbOp::kMax:
        r = a > b ? a : b;
        break;
      default:
        break;
    }
    after = std::to_string(r);
  }
  size_t old_bytes = old != nullptr ? key.size() + old->size() : 0;
  size_t new_bytes = key.size() + after.size() +
                     (db == dbs_.end() ? id.size() : 0);
  if (bytes_ - old_bytes + new_bytes > kMaxTotalBytes) {
    return {-ENOSPC, {}};
  }
  bytes_ = bytes_ - old_bytes + new_bytes;
  if (db == dbs_.end()) {
    db = dbs_.emplace(std::string(id), Db{}).first;
  }
  auto it = db->second.find(key);
  if (it == db->second.end()) {
    db->second.emplace(std::string(key), std::move(after));
  } else {
    it->second = std::move(after);
  }
  return {code(KvdbResult::kSuccess), std::move(before)};
}

}  // namespace dmtcp::coordinator
