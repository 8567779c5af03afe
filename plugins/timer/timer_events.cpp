// timer_events.cpp -- the timer plugin's event hook: POSIX timers,
// interval timers, alarm() and timerfds keep firing after a restart, with
// the ids and the time left the program knows (docs/timer.md).
//
// Wrappers only where ids must be translated (posix_timer_wrappers.cpp;
// clock_wrappers.cpp for calls that take or make a clock id, whose CPU
// clocks name a pid or tid); everything else is read from the kernel when
// a checkpoint comes.  clock_gettime() on a clock that names no process
// calls the vDSO directly (vdso_clock.h), as glibc does; gettimeofday()
// is not wrapped.
//
// Algorithm (C = the checkpoint thread):
//  1. INIT, THREAD_START (after the inner plugins, so the pid plugin knows
//     the thread): note (the program's tid, pthread_t) of the thread
//     (thread_registry.h); PTHREAD_EXIT/RETURN forget it.
//  2. timer_create (wrapper): make the kernel timer ourselves (SIGEV_THREAD
//     through our own helper thread, sigev_thread.h), record clock, owner
//     of a CPU clock, notification; hand out a virtual id.
//  3. ATFORK_CHILD: a child inherits no POSIX timer and no helper thread;
//     only the forking thread lives on.
//  Checkpoint
//  4. timerfds (timerfd.h), with dmtcp/fd_share.h's leader election:
//     THREADS_SUSPEND list them and group fds by description (kcmp);
//     SUSPENDED / LEADER_ELECTION elect a leader per description; DRAIN
//     the leader reads fdinfo and takes the unread expirations.
//  5. WRITE_CKPT (before the inner plugins): claim the timerfds; for each
//     POSIX timer, the
//     time left and interval (timer_gettime; absolute expiry for
//     TIMER_ABSTIME wall-clock timers) and claim it, and note it in the
//     image for dmtcp_inspect (timer_notes.h); getitimer() for the
//     three interval timers.
//  6. RESUME: leaders put the unread expirations of timerfds back
//     (TFD_IOC_SET_TICKS); nothing else (the kernel kept it all running).
//  Restart (threads re-made, their new tids in glibc's descriptors)
//  7. RESTART: before passing the event on (every layer may read a clock),
//     look the vDSO's clock functions up again (vdso_clock.h); after it,
//     timerfd leaders make theirs again at a parked fd, armed,
//     with their unread expirations, and listen; REGISTER_NAME_SERVICE_DATA
//     the others ask the leader; SEND_QUERIES serve, collect, and dup3
//     every timerfd to its numbers.
//  8. REFILL (after the inner plugins: the pid plugin learned every
//     process's new pid in SEND_QUERIES; user threads are still frozen):
//     make each POSIX timer again -- with its old kernel id through
//     PR_TIMER_CREATE_RESTORE_IDS where the kernel has it, else a new one
//     into the id table, never one another timer had before the restart
//     (a thread frozen in a lock-free wrapper may still pass that stale
//     id: it must name nothing; docs/timer.md) -- on its clock re-encoded
//     for new pids and tids,
//     aimed at its thread's new tid, and arm it with the time it had left
//     (wall-clock absolute timers: their absolute expiry); arm the
//     interval timers with their time left.
//  9. THREADS_RESUME: the program runs on; nothing of ours is pending.
#include <pthread.h>

#include "dmtcp/plugin.h"
#include "itimer.h"
#include "posix_timer.h"
#include "sigev_thread.h"
#include "thread_registry.h"
#include "timerfd.h"
#include "timer_common.h"
#include "vdso_clock.h"

namespace dmtcp::timer {

NoCkpt::NoCkpt() { DMTCP_PLUGIN_DISABLE_CKPT(); }
NoCkpt::~NoCkpt() { DMTCP_PLUGIN_ENABLE_CKPT(); }

SpinGuard::SpinGuard(volatile int* word) : word_(word) {
  while (__atomic_exchange_n(word_, 1, __ATOMIC_ACQUIRE) != 0) {
    sched_yield();
  }
}
SpinGuard::~SpinGuard() { __atomic_store_n(word_, 0, __ATOMIC_RELEASE); }

}  // namespace dmtcp::timer

using namespace dmtcp::timer;

DMTCP_TIMER_EXPORT void dmtcp_event_hook(DmtcpEvent_t event,
                                         DmtcpEventData_t* data) {
  bool restart = data != nullptr && data->restartInfo.isRestart != 0;
  // On the way into a checkpoint: our work, then the inner plugins'.
  switch (event) {
    case DMTCP_EVENT_THREADS_SUSPEND:
      timerfd_scan();
      break;
    case DMTCP_EVENT_SUSPENDED:
      timerfd_claim();
      break;
    case DMTCP_EVENT_LEADER_ELECTION:
      timerfd_read_leaders();
      break;
    case DMTCP_EVENT_DRAIN:
      timerfd_drain();
      break;
    case DMTCP_EVENT_RESTART:
      resolve_vdso_clocks();  // before anyone reads a clock (step 7)
      break;
    case DMTCP_EVENT_WRITE_CKPT:
      save_posix_timers();
      save_itimers();
      timerfd_save();
      break;
    case DMTCP_EVENT_PTHREAD_EXIT:
    case DMTCP_EVENT_PTHREAD_RETURN:
      forget_current_thread();
      break;
    default:
      break;
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
  // On the way out: the inner plugins' work first, then ours.
  switch (event) {
    case DMTCP_EVENT_INIT:
    case DMTCP_EVENT_THREAD_START:
      register_current_thread();
      break;
    case DMTCP_EVENT_ATFORK_CHILD:
      forget_posix_timers_after_fork();
      forget_sigev_helper_after_fork();
      reset_threads_after_fork();
      break;
    case DMTCP_EVENT_RESUME:
      if (!restart) {
        timerfd_resume();
      }
      break;
    case DMTCP_EVENT_RESTART:
      timerfd_restart();
      break;
    case DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA:
      if (restart) {
        timerfd_ask();
      }
      break;
    case DMTCP_EVENT_SEND_QUERIES:
      if (restart) {
        timerfd_install();
      }
      break;
    case DMTCP_EVENT_REFILL:
      if (restart) {
        restore_posix_timers();
        restore_itimers();
      }
      break;
    default:
      break;
  }
}
