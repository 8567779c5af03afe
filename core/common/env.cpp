#include "common/env.h"

#include <unistd.h>

#include <cstring>

namespace dmtcp {

const char* env_value(const char* name) {
  size_t n = strlen(name);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
      return *e + n + 1;
    }
  }
  return nullptr;
}

}  // namespace dmtcp
