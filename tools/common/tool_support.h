// What dmtcp_launch, dmtcp_restart and dmtcp_command share: where our files
// are, a coordinator to talk to (started on demand, as upstream does), and
// the one-line messages for what can go wrong reaching it.
#pragma once

#include <cstdint>
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
  std::string port_file;  // --port-file: a coordinator we start writes it
  std::string log_file;   // --coord-logfile: a coordinator we start logs there
  // Set by ensure_coordinator when it started the coordinator itself, so a
  // tool that fails before any process joined can stop it again.
  bool started = false;
};

// Reads DMTCP_COORD_HOST / DMTCP_COORD_PORT into opts (options given on the
// command line are applied after this).
void coordinator_options_from_env(CoordinatorOptions* opts);

// Makes sure a coordinator listens at opts (starting one with
// --exit-on-last --daemon when none does and that is allowed).  Updates
// opts->port when port 0 picked a free one.  False with *error set.
bool ensure_coordinator(CoordinatorOptions* opts, std::string* error);

// Says hello to the coordinator as a tool, with the secret from the key
// file our processes will read ($DMTCP_TMPDIR as set now): a coordinator
// whose key lives elsewhere is found here, before the program runs.
bool check_coordinator_key(const CoordinatorOptions& opts, std::string* error);

// A tool connection to the coordinator at opts that said hello (as
// `progname`) and was welcomed: the fd, or -1 with a one-line *error.
// Replies are waited for at most 10 s.
int tool_connection(const CoordinatorOptions& opts, std::string* error,
                    const char* progname = "dmtcp_tool");

// Sends command `letter` (with arg) on a tool connection; true with the
// reply's text when the coordinator accepted it, false (*text: why) when it
// refused, failed or did not answer.
bool tool_command(int fd, char letter, int32_t arg, std::string* text);

// Undoes ensure_coordinator's start (opts.started) after a failure before
// any process joined: the coordinator quits unless a process has joined it
// meanwhile.  Best effort, silent.
void stop_started_coordinator(const CoordinatorOptions& opts);

// Why host:port could not be reached, as one line: "cannot resolve the
// coordinator host 'H': ..." when the name does not resolve (connect
// reports that as EHOSTUNREACH), else "no coordinator at H:P: <err>".
std::string unreachable(const std::string& host, int port, int err);

// path made absolute against the current directory (symlinks kept; a path
// that does not exist yet is fine).
std::string absolute_path(const std::string& path);

// mkdir -p path (new directories 0700).  False with a one-line *error
// when a component cannot be made or is not a directory.
bool make_directories(const std::string& path, std::string* error);

// "" for a directory only its owner can write to; else why writing
// checkpoints there is risky, as one line (what others can do there).
std::string shared_dir_risk(const std::string& dir);

// Prints "<tool> (DMTCP) <version>" and what we are, as upstream's
// --version does (scripts match "(DMTCP) N.N").
void print_version(const char* tool);

// Parses a whole non-negative number; false on junk.
bool parse_int(const char* s, int* out);

}  // namespace dmtcp::tools
