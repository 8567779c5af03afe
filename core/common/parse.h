// Parsing numbers from command lines and environment variables: the whole
// string must be a decimal number within [lo, hi].
#pragma once

namespace dmtcp {

bool parse_long(const char* s, long lo, long hi, long* out);

}  // namespace dmtcp
