// posix_timer_wrappers.cpp -- timer_create, timer_settime, timer_gettime,
// timer_getoverrun, timer_delete: the program's timer_t is a virtual id
// (posix_timer.h).
//
// Each wrapper: no checkpoint while inside (RAII) -> translate the id ->
// call the next definition with the kernel id -> record -> return, errno
// as the call left it.  A timer_t we did not make (glibc's own
// SIGEV_THREAD ids are negative: made past us, through dlsym on libc) is
// passed through untouched.
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

DMTCP_TIMER_EXPORT int timer_settime(timer_t timerid, int flags,
                                     const itimerspec* value,
                                     itimerspec* old) {
  if (!ours(timerid)) {
    return NEXT_FNC(timer_settime)(timerid, flags, value, old);
  }
  NoCkpt no_ckpt;
  auto real = real_timer_id(virt_of(timerid));
  if (!real) {
    errno = EINVAL;
    return -1;
  }
  int r = NEXT_FNC(timer_settime)(as_timer(*real), flags, value, old);
  if (r == 0) {
    note_settime_flags(virt_of(timerid), flags);
  }
  return r;
}

DMTCP_TIMER_EXPORT int timer_gettime(timer_t timerid, itimerspec* value) {
  if (!ours(timerid)) {
    return NEXT_FNC(timer_gettime)(timerid, value);
  }
  NoCkpt no_ckpt;
  auto real = real_timer_id(virt_of(timerid));
  if (!real) {
    errno = EINVAL;
    return -1;
  }
  return NEXT_FNC(timer_gettime)(as_timer(*real), value);
}

DMTCP_TIMER_EXPORT int timer_getoverrun(timer_t timerid) {
  if (!ours(timerid)) {
    return NEXT_FNC(timer_getoverrun)(timerid);
  }
  NoCkpt no_ckpt;
  auto real = real_timer_id(virt_of(timerid));
  if (!real) {
    errno = EINVAL;
    return -1;
  }
  return NEXT_FNC(timer_getoverrun)(as_timer(*real));
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
