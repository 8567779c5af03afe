/* kvdb.h -- the key-value database of DMTCP 3.x plugins (C++).
 *
 * dmtcp::kvdb::set/get and friends, as DMTCP 3.x declares them, over
 * dmtcp_kvdb_request (dmtcp/plugin3.h): named databases of key -> value in
 * the coordinator, kept across checkpoints for as long as it runs.  The
 * 64-bit calls store decimal text.  A failure to reach the coordinator is
 * logged and answered INVALID_REQUEST.  docs/plugins.md, "DMTCP 3.x
 * plugins".
 */
#ifndef DMTCP_KVDB_H
#define DMTCP_KVDB_H

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include "../plugin.h"
#include "dmtcpalloc.h"

namespace dmtcp {
namespace kvdb {

enum class KVDBRequest { GET, SET, INCRBY, AND, OR, XOR, MIN, MAX };

enum class KVDBResponse {
  SUCCESS,
  INVALID_REQUEST,
  DB_NOT_FOUND,
  KEY_NOT_FOUND
};

inline KVDBResponse request(KVDBRequest req, string const& id,
                            string const& key, string const& val,
                            string* oldVal = nullptr) {
  if (id.empty() || key.empty() ||
      (val.empty() && req != KVDBRequest::GET)) {
    return KVDBResponse::INVALID_REQUEST;
  }
  char* out = nullptr;
  size_t len = 0;
  int rc = dmtcp_kvdb_request(static_cast<int>(req), id.c_str(), key.data(),
                              key.size(), val.data(), val.size(),
                              oldVal != nullptr ? &out : nullptr, &len);
  if (rc < 0) {
    dmtcp_log("kvdb: request on database %s failed: %s", id.c_str(),
              strerror(errno));
    return KVDBResponse::INVALID_REQUEST;
  }
  if (out != nullptr) {
    if (rc == static_cast<int>(KVDBResponse::SUCCESS)) {
      oldVal->assign(out, len);
    }
    dmtcp_free(out);
  }
  return static_cast<KVDBResponse>(rc);
}

inline KVDBResponse request64(KVDBRequest req, string const& id,
                              string const& key, int64_t val,
                              int64_t* oldVal = nullptr) {
  char text[32];
  snprintf(text, sizeof text, "%" PRId64, val);
  string old;
  KVDBResponse r = request(req, id, key, string(text), &old);
  if (r == KVDBResponse::SUCCESS && oldVal != nullptr) {
    *oldVal = static_cast<int64_t>(strtoll(old.c_str(), nullptr, 10));
  }
  return r;
}

inline KVDBResponse get64(string const& id, string const& key,
                          int64_t* oldVal) {
  return request64(KVDBRequest::GET, id, key, 0, oldVal);
}

inline KVDBResponse set64(string const& id, string const& key, int64_t val,
                          int64_t* oldVal = nullptr) {
  return request64(KVDBRequest::SET, id, key, val, oldVal);
}

inline KVDBResponse get(string const& id, string const& key, string* oldVal) {
  return request(KVDBRequest::GET, id, key, string(), oldVal);
}

inline KVDBResponse set(string const& id, string const& key,
                        string const& val, string* oldVal = nullptr) {
  return request(KVDBRequest::SET, id, key, val, oldVal);
}

inline std::ostream& operator<<(std::ostream& o, const KVDBRequest& r) {
  static const char* const names[] = {"GET", "SET", "INCRBY", "AND",
                                      "OR",  "XOR", "MIN",    "MAX"};
  unsigned i = static_cast<unsigned>(r);
  return o << "KVDBRequest::" << (i < 8 ? names[i] : "?");
}

inline std::ostream& operator<<(std::ostream& o, const KVDBResponse& r) {
  static const char* const names[] = {"SUCCESS", "INVALID_REQUEST",
                                      "DB_NOT_FOUND", "KEY_NOT_FOUND"};
  unsigned i = static_cast<unsigned>(r);
  return o << "KVDBResponse::" << (i < 4 ? names[i] : "?");
}

}  // namespace kvdb
}  // namespace dmtcp

#endif /* DMTCP_KVDB_H */
