// The value of an environment variable, read from environ itself.
//
// Not getenv(): code in the preloaded runtime that calls getenv() gets the
// program's getenv when the program defines one, and bash does (its own
// reads bash's variables, and missed DMTCP_TMPDIR while bash started, so a
// launched bash looked for the coordinator's key in the wrong directory).
// Never allocates; safe before main.
#pragma once

namespace dmtcp {

// nullptr when NAME is not set.
const char* env_value(const char* name);

}  // namespace dmtcp
