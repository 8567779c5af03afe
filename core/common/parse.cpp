#include "common/parse.h"

#include <cerrno>
#include <cstdlib>

namespace dmtcp {

bool parse_long(const char* s, long lo, long hi, long* out) {
  if (s == nullptr || *s == '\0') {
    return false;
  }
  char* end = nullptr;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) {
    return false;
  }
  *out = v;
  return true;
}

}  // namespace dmtcp
