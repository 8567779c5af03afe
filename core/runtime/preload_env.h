// The program does not see us in its environment (SPEC section 5):
// dmtcp_launch puts our libraries first in LD_PRELOAD and names them in
// DMTCP_PRELOAD; at start-up the runtime takes them out of LD_PRELOAD again
// (leaving whatever the user had preloaded), and puts them back into the
// environment of every program the process runs -- exec, posix_spawn,
// system, popen -- so that it joins the computation.
#pragma once

#include <cstddef>

namespace dmtcp {
struct RestartInfo;
}

namespace dmtcp::preload_env {

// Constructor: remembers our part of LD_PRELOAD and removes it.
void hide();

// LD_PRELOAD as a program we start must see it, given the one in its
// environment (nullptr: none): "LD_PRELOAD=<ours>[:<theirs>]" into buf.
// False when nothing needs adding (not hidden, or already there).
bool entry_for(const char* current, char* buf, size_t cap);

// After a restart, in the checkpoint thread before any user thread runs:
// the coordinator (host, port), the directory of its key (DMTCP_TMPDIR)
// and the checkpoint directory may be the restart's, not the launch's.
// Takes the tmpdir from the restart's environment (g_config.tmpdir; the
// others are in g_config already) and makes the process's own environ
// tell all four, so getenv() in the program and everything it forks or
// starts later see them.  No malloc, no lock (user threads may have been
// frozen holding either): entries are pointed at buffers of ours, and a
// variable the environ lacks is added in a copy of the array in fresh
// pages.
void tell_truth_after_restart(const RestartInfo& info);
// NAME's value in dmtcp_restart's environment (RestartInfo::env), or null.
// Never allocates.
const char* restart_env(const RestartInfo& info, const char* name);

// After a restart, the "NAME=value" entries above that a started program
// must get even when its parent hands it an environment of its own (a
// shell's or Python's copy, made before the restart): up to `cap` into
// out; returns how many.  Before any restart: the coordinator and the
// directories we were started with (hide()).
size_t truth_entries(char** out, size_t cap);

// system() and popen() start /bin/sh from the process's own environ,
// inside libc: while one runs, LD_PRELOAD holds our part again.
class Shown {
 public:
  Shown();
  ~Shown();
  Shown(const Shown&) = delete;
  Shown& operator=(const Shown&) = delete;
};

}  // namespace dmtcp::preload_env
