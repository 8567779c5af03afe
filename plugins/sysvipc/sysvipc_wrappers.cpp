// sysvipc_wrappers.cpp -- the SysV IPC calls, with the program's
// (virtual) ids translated to the kernel's and back.
//
// Each wrapper: pass through when the runtime is off -> translate ids in
// (inside a CkptGuard: no checkpoint meets a half-made table entry) ->
// the real call -> remember new ids -> return.  The calls that block
// (semop, semtimedop, msgsnd, msgrcv) translate under the guard but wait
// outside it; when a checkpoint's signal ends the wait they translate
// again (a restart changed the kernel's ids) and wait again
// (dmtcp/checkpoint_eintr.h).
#include <stdarg.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cerrno>

#include "dmtcp/checkpoint_eintr.h"
#include "shm.h"
#include "sysvipc.h"

namespace sv = dmtcp::sysvipc;

namespace {

bool enabled() {
  return sv::g_active;
}

void virtualize_shm_pids(shmid_ds* ds) {
  ds->shm_cpid = dmtcp_real_to_virtual_pid(ds->shm_cpid);
  ds->shm_lpid = dmtcp_real_to_virtual_pid(ds->shm_lpid);
}

}  // namespace

// --- shared memory ---------------------------------------------------------

DMTCP_SYSVIPC_EXPORT int shmget(key_t key, size_t size, int flags) {
  if (!enabled()) {
    return NEXT_FNC(shmget)(key, size, flags);
  }
  sv::CkptGuard guard;
  int real = NEXT_FNC(shmget)(key, size, flags);
  if (real < 0) {
    return real;
  }
  sv::ErrnoKeeper keep;
  return sv::shm::to_virtual(real, key);
}

DMTCP_SYSVIPC_EXPORT void* shmat(int shmid, const void* addr, int flags) {
  if (!enabled()) {
    return NEXT_FNC(shmat)(shmid, addr, flags);
  }
  sv::CkptGuard guard;
  int real = sv::shm::to_real(shmid);
  void* p = NEXT_FNC(shmat)(real, addr, flags);
  if (p != reinterpret_cast<void*>(-1)) {
    sv::ErrnoKeeper keep;
    sv::shm::learn(shmid, real);
  }
  return p;
}

DMTCP_SYSVIPC_EXPORT int shmctl(int shmid, int cmd, shmid_ds* buf) {
  if (!enabled()) {
    return NEXT_FNC(shmctl)(shmid, cmd, buf);
  }
  sv::CkptGuard guard;
  switch (cmd) {
    case IPC_INFO:
    case SHM_INFO:
      return NEXT_FNC(shmctl)(shmid, cmd, buf);  // no id involved
    case SHM_STAT:
    case SHM_STAT_ANY: {
      // shmid is an index into the kernel's table; the answer an id.
      int real = NEXT_FNC(shmctl)(shmid, cmd, buf);
      if (real < 0) {
        return real;
      }
      sv::ErrnoKeeper keep;
      virtualize_shm_pids(buf);
      return sv::shm::to_virtual(real, buf->shm_perm.__key);
    }
    default:
      break;
  }
  int real = sv::shm::to_real(shmid);
  int r = NEXT_FNC(shmctl)(real, cmd, buf);
  if (r < 0) {
    return r;
  }
  sv::ErrnoKeeper keep;
  sv::shm::learn(shmid, real);
  if (cmd == IPC_STAT && buf != nullptr) {
    virtualize_shm_pids(buf);
  }
  return r;
}
