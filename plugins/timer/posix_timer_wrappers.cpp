// posix_timer_wrappers.cpp -- timer_create, timer_settime, timer_gettime,
// timer_getoverrun, timer_delete: the program's timer_t is a virtual id
// (posix_timer.h).
//
// timer_create, timer_delete (and timer_settime when it changes what we
// record): no checkpoint while inside (RAII) -> translate the id -> call
// the next definition with the kernel id -> record -> return, errno as the
// call left it.  timer_settime, timer_gettime, timer_getoverrun otherwise:
// one lock-free translation and the call (with_real_id).  A timer_t we
// did not make (glibc's own SIGEV_THREAD ids are negative: made past us,
// through dlsym on libc) is passed through untouched.
#include <signal.h>
#include <time.h>

#include <cstdint>

#include "dmtcp/plugin.h"
#include "posix_timer.h"
#include "timer_common.h"

using namespace dmtcp::timer;

namespace {

bool ours(timer_t t) {
  return reinterpret_cast<intptr_t>(t) >= 0;
}
int virt_of(timer_t t) {
  return static_cast<int>(reinterpret_cast<intptr_t>(t));
}
timer_t as_timer(int id) {
  return reinterpret_cast<timer_t>(static_cast<intptr_t>(id));
}

}  // namespace

DMTCP_TIMER_EXPORT int timer_create(clockid_t clock, sigevent* evp,
                                    timer_t* timerid) {
  int virt = 0;
  if (create_posix_timer(clock, evp, &virt) != 0) {
    return -1;
  }
  *timerid = as_timer(virt);
  return 0;
}

// The calls that only translate an id take no checkpoint lock: the
// translation is one lock-free lookup (docs/timer.md, "Ids without the
// checkpoint lock").  Should a restart that changed ids come between the
// lookup and the kernel call, the stale id names no timer of ours
// (restore_posix_timers keeps it free): EINVAL, and `call` runs again
// with the id translated anew.  Natively EINVAL means a bad id, so the
// extra lookup costs only on that path.
template <class Call>
static int with_real_id(timer_t timerid, Call call) {
  auto real = real_timer_id(virt_of(timerid));
  for (;;) {
    if (!real) {
      errno = EINVAL;
      return -1;
    }
    int r = call(as_timer(*real));
    if (r != -1 || errno != EINVAL) {
      return r;
    }
    auto now = real_timer_id(virt_of(timerid));
    if (now == real) {
      return r;
    }
    real = now;
  }
}

DMTCP_TIMER_EXPORT int timer_settime(timer_t timerid, int flags,
                                     const itimerspec* value,
                                     itimerspec* old) {
  if (!ours(timerid)) {
    return NEXT_FNC(timer_settime)(timerid, flags, value, old);
  }
  auto settime = [&](timer_t real) {
    return NEXT_FNC(timer_settime)(real, flags, value, old);
  };
  if (settime_flags_noted(virt_of(timerid), flags)) {
    return with_real_id(timerid, settime);
  }
  // TIMER_ABSTIME, or a change back from it: what we record must match
  // the kernel at any checkpoint.
  NoCkpt no_ckpt;
  int r = with_real_id(timerid, settime);
  if (r == 0) {
    ErrnoKeeper keep;
    note_settime_flags(virt_of(timerid), flags);
  }
  return r;
}

DMTCP_TIMER_EXPORT int timer_gettime(timer_t timerid, itimerspec* value) {
  if (!ours(timerid)) {
    return NEXT_FNC(timer_gettime)(timerid, value);
  }
  return with_real_id(timerid, [&](timer_t real) {
    return NEXT_FNC(timer_gettime)(real, value);
  });
}

DMTCP_TIMER_EXPORT int timer_getoverrun(timer_t timerid) {
  if (!ours(timerid)) {
    return NEXT_FNC(timer_getoverrun)(timerid);
  }
  return with_real_id(timerid, [&](timer_t real) {
    return NEXT_FNC(timer_getoverrun)(real);
  });
}

DMTCP_TIMER_EXPORT int timer_delete(timer_t timerid) {
  if (!ours(timerid)) {
    return NEXT_FNC(timer_delete)(timerid);
  }
  NoCkpt no_ckpt;
  auto real = real_timer_id(virt_of(timerid));
  if (!real) {
    errno = EINVAL;
    return -1;
  }
  int r = NEXT_FNC(timer_delete)(as_timer(*real));
  if (r == 0) {
    ErrnoKeeper keep;
    forget_posix_timer(virt_of(timerid));
  }
  return r;
}
