// What dmtcp_launch and dmtcp_restart share: where our files are, and a
// coordinator to talk to (started on demand, as upstream does).
#pragma once

#include <string>

namespace dmtcp::tools {

// Directory of the running executable (".../bin").
std::string self_dir();
// ".../lib/dmtcp" next to it (build tree and install prefix alike).
std::string lib_dir();

struct CoordinatorOptions {
  std::string host = "127.0.0.1";
  int port = 7779;
  bool join_only = false;       // -j: fail if none runs
  bool new_coordinator = false; // --new-coordinator: fail if one runs
  std::string ckpt_dir;         // passed to a coordinator we start
  int interval = 0;
};

// Reads DMTCP_COORD_HOST / DMTCP_COORD_PORT into opts (options given on the
// command line are applied after this).
void coordinator_options_from_env(CoordinatorOptions* opts);

// Makes sure a coordinator listens at opts (starting one with
// --exit-on-last --daemon when none does and that is allowed).  Updates
// opts->port when port 0 picked a free one.  False with *error set.
bool ensure_coordinator(CoordinatorOptions* opts, std::string* error);

// Parses a whole non-negative number; false on junk.
bool parse_int(const char* s, int* out);

}  // namespace dmtcp::tools
