// timerfd.h -- timerfds across checkpoint and restart.
//
// No wrappers: at checkpoint the fds are found in /proc/self/fd
// ("anon_inode:[timerfd]"), grouped by open file description (kcmp), and a
// leader per description is elected among the processes holding it
// (dmtcp/fd_share.h).  The leader reads /proc/self/fdinfo: clock, settime
// flags (TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET), time left, interval,
// status flags; and takes the expirations not yet read (a periodic
// timerfd counts the ones after its first only when read), putting them
// back with TFD_IOC_SET_TICKS on resume.  At restart the leader makes the
// timerfd again, armed with the time it had left (wall-clock absolute
// timers: their absolute expiry) and its unread expirations; the others
// get it passed; each fd goes back to its number with its close-on-exec
// flag.
//
// Refuses silently: nothing; what cannot be re-made is logged, and its fd
// number stays closed.  Allocation: none in hooks (fixed tables, 256
// descriptions, 1024 fds; beyond that: logged and not saved).  Hooks only
// (checkpoint thread).
#pragma once

namespace dmtcp::timer {

void timerfd_scan();            // THREADS_SUSPEND
void timerfd_claim();           // SUSPENDED
void timerfd_read_leaders();    // LEADER_ELECTION
void timerfd_drain();           // DRAIN
void timerfd_save();            // WRITE_CKPT: claims
void timerfd_resume();          // RESUME (not restart)
void timerfd_restart();         // RESTART
void timerfd_ask();             // REGISTER_NAME_SERVICE_DATA (restart)
void timerfd_install();         // SEND_QUERIES (restart)

}  // namespace dmtcp::timer
