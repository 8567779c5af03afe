// dmtcp_restart's own program break at its lowest possible address, so
// that every image's break lies above it (docs/restore.md, "The program
// break").  The kernel's brk() never goes below a process's start_brk, and
// without PR_SET_MM only exec decides start_brk: dmtcp_restart is linked
// non-PIE at 0x100000 and runs itself once more without address-space
// randomization, so its start_brk is the page after its own bss.
#pragma once

namespace dmtcp::restart {

// Called first thing in main().  If our break is randomized, sets
// ADDR_NO_RANDOMIZE and execs /proc/self/exe with the same argv (does not
// return).  In the second run, clears the flag again (so nothing the
// restored program execs later runs without randomization) and returns.
// Any failure leaves things as they are: the restorer then falls back
// (the break cannot be restored exactly for a low image).
void ensure_low_break(char** argv);

}  // namespace dmtcp::restart
