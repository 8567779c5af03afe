// The little JSON our tools print (dmtcp_command --json, the coordinator's
// --write-kv-data snapshot): one flat object, keys in insertion order.
// Strings are escaped so any bytes give valid JSON: '"', '\\' and control
// characters as escapes, bytes >= 0x80 as \u00XX (not UTF-8 decoded: host
// names and database keys are ASCII in practice, and binary keys must not
// produce invalid output).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dmtcp::tools {

// s as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

class JsonObject {
 public:
  JsonObject& add(std::string_view key, std::string_view value);
  JsonObject& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, int64_t value);
  JsonObject& add(std::string_view key, int value) {
    return add(key, static_cast<int64_t>(value));
  }
  JsonObject& add(std::string_view key, bool value);
  // value is already JSON (a nested object).
  JsonObject& add_raw(std::string_view key, std::string_view json);
  std::string str() const { return body_ + "}"; }

 private:
  void key(std::string_view k);
  std::string body_ = "{";
};

}  // namespace dmtcp::tools
