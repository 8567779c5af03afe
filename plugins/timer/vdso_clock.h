// vdso_clock.h -- the vDSO's clock_gettime and clock_getres, called
// directly by our clock wrappers (clock_wrappers.cpp).
//
// Purpose: the wrappers must cost what glibc's own functions cost for
// every clock that names no process (docs/timer.md, "Cost").  glibc's
// clock_gettime is a call through a pointer it took from the vDSO at
// start-up; ours is the same call through a pointer we take from the
// same vDSO, so a wrapped clock_gettime(CLOCK_MONOTONIC) is one call and
// one well-predicted branch more, never a system call.
//
// Where the vDSO is: the page getauxval(AT_SYSINFO_EHDR) names.  After a
// restart the core has moved the new kernel's vDSO (and its data pages)
// exactly to the image's addresses (docs/restore.md, restart step 2),
// which is also where glibc's own cached pointers point; we look the
// functions up again there (RESTART), so a vDSO whose code differs from
// the one we checkpointed under is still called at its own entry points.
//
// Refuses nothing silently: without a vDSO, or one without the function,
// the pointer is a raw system call (same results, system-call speed;
// logged once).  Thread safety: the pointers are replaced only at start-up
// and at RESTART (user threads frozen), with atomic stores; readers use
// plain loads.  Allocation: none.
#pragma once

#include <time.h>

namespace dmtcp::timer {

// As the vDSO's: 0, or -errno (the kernel's answer passed through).
using VdsoClockFn = int (*)(clockid_t, timespec*);

struct VdsoClocks {
  VdsoClockFn gettime;
  VdsoClockFn getres;
};

// The functions now; never null.
extern VdsoClocks g_vdso_clocks;

// Looks both functions up in the vDSO (at load and at RESTART).
void resolve_vdso_clocks();

}  // namespace dmtcp::timer
