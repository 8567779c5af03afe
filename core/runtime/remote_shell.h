// Remote shells started by a process of the computation (docs/ssh.md):
// "ssh HOST CMD" (or rsh, or the basename of $DMTCP_REMOTE_SHELL's first
// word) is run as "dmtcp_ssh --local PATH ARGV..." instead, the helper next
// to our tools, which makes CMD join the computation on HOST and carries
// the channel over a connection of the computation.  DMTCP_SSH_PLUGIN=0
// turns it off.  Everything here runs in exec/posix_spawn wrappers, often
// in a fork child of a threaded program: no malloc, no locks; the caller
// gives the argv storage (alloca).
#pragma once

#include <cstddef>

namespace dmtcp::remote_shell {

// At start-up (malloc is fine): finds dmtcp_ssh from our library's path
// (lib/dmtcp/ -> ../../bin/).  Without it nothing is ever rewritten.
void init();

// True when running `path` (a path or a name for PATH) with this
// environment must go through the helper.
bool wanted(const char* path, char* const* envp);

// How many pointers wrap() may fill, the final NULL included.
size_t wrapped_size(char* const argv[]);
// out = {helper, "--local", path, argv[0], argv[1], ..., NULL}; returns the
// helper's path (what to exec instead of path).
const char* wrap(const char* path, char* const argv[], char** out);

}  // namespace dmtcp::remote_shell
