// itimer.h -- setitimer() ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF and
// alarm() (which is ITIMER_REAL) across a restart.
//
// No wrappers: WRITE_CKPT reads each with getitimer(); a restart arms them
// again with the time they had left and their interval.  ITIMER_VIRTUAL
// and ITIMER_PROF count CPU time, which a restarted process starts from
// zero: their time left is CPU time left, as the program would expect.
// Resume changes nothing (the kernel kept them running).
//
// Refuses nothing; allocates nothing; hooks only (checkpoint thread).
#pragma once

namespace dmtcp::timer {

void save_itimers();     // WRITE_CKPT
void restore_itimers();  // restart (REFILL)

}  // namespace dmtcp::timer
