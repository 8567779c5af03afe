// The program does not see us in its environment (SPEC section 5):
// dmtcp_launch puts our libraries first in LD_PRELOAD and names them in
// DMTCP_PRELOAD; at start-up the runtime takes them out of LD_PRELOAD again
// (leaving whatever the user had preloaded), and puts them back into the
// environment of every program the process runs -- exec, posix_spawn,
// system, popen -- so that it joins the computation.
#pragma once

#include <cstddef>

namespace dmtcp::preload_env {

// Constructor: remembers our part of LD_PRELOAD and removes it.
void hide();

// LD_PRELOAD as a program we start must see it, given the one in its
// environment (nullptr: none): "LD_PRELOAD=<ours>[:<theirs>]" into buf.
// False when nothing needs adding (not hidden, or already there).
bool entry_for(const char* current, char* buf, size_t cap);

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
