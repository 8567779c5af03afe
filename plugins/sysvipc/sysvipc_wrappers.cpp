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
#include <fcntl.h>
#include <mqueue.h>
#include <stdarg.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <time.h>

#include <cerrno>

#include "dmtcp/checkpoint_eintr.h"
#include "msg.h"
#include "posix_mq.h"
#include "sem.h"
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

// --- waits the kernel never restarts -----------------------------------

namespace {

// Runs call(real id) until something other than a checkpoint ends it.
// translate() runs inside a CkptGuard before every try; a failure with
// EINVAL/EIDRM after a round ended means the id was the old kernel's (the
// thread was between translating and entering the kernel when a restart
// came): translate and try again.
template <class Translate, class Call>
long wait_through_checkpoints(Translate translate, Call call) {
  for (;;) {
    DmtcpWait w;
    dmtcp_wait_begin(&w);
    int real;
    {
      sv::CkptGuard guard;
      real = translate();
    }
    long r = call(real);
    if (r != -1) {
      return r;
    }
    int error = errno;
    if (dmtcp_wait_interrupted_by_checkpoint(&w, error, nullptr) ||
        ((error == EINVAL || error == EIDRM) && dmtcp_rounds_since(&w))) {
      continue;
    }
    errno = error;
    return r;
  }
}

timespec now_monotonic() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t;
}

// What is left of `total` since `start` (zero when it has passed, or when
// the clock went back: a restart on another boot).
timespec time_left(const timespec& total, const timespec& start) {
  timespec now = now_monotonic();
  long long elapsed = (now.tv_sec - start.tv_sec) * 1000000000LL +
                      (now.tv_nsec - start.tv_nsec);
  long long want = total.tv_sec * 1000000000LL + total.tv_nsec;
  if (elapsed < 0) {
    elapsed = 0;
  }
  long long left = want > elapsed ? want - elapsed : 0;
  return timespec{static_cast<time_t>(left / 1000000000LL),
                  static_cast<long>(left % 1000000000LL)};
}

}  // namespace

// --- semaphores -------------------------------------------------------------

DMTCP_SYSVIPC_EXPORT int semget(key_t key, int nsems, int flags) {
  if (!enabled()) {
    return NEXT_FNC(semget)(key, nsems, flags);
  }
  sv::CkptGuard guard;
  int real = NEXT_FNC(semget)(key, nsems, flags);
  if (real < 0) {
    return real;
  }
  sv::ErrnoKeeper keep;
  return sv::sem::to_virtual(real, key);
}

DMTCP_SYSVIPC_EXPORT int semtimedop(int semid, sembuf* sops, size_t nsops,
                                    const timespec* timeout) {
  if (!enabled()) {
    return NEXT_FNC(semtimedop)(semid, sops, nsops, timeout);
  }
  // First without waiting, inside the guard: the operation and its record
  // of SEM_UNDO adjustments are then one step no checkpoint splits.
  bool nowait = true;
  for (size_t i = 0; i < nsops && sops != nullptr; ++i) {
    nowait = nowait && (sops[i].sem_flg & IPC_NOWAIT) != 0;
  }
  {
    sv::CkptGuard guard;
    int real = sv::sem::to_real(semid);
    int r;
    if (nowait || nsops == 0 || nsops > 64 || sops == nullptr) {
      r = NEXT_FNC(semtimedop)(real, sops, nsops, timeout);
    } else {
      sembuf trial[64];
      for (size_t i = 0; i < nsops; ++i) {
        trial[i] = sops[i];
        trial[i].sem_flg |= IPC_NOWAIT;
      }
      r = NEXT_FNC(semtimedop)(real, trial, nsops, nullptr);
      if (r != 0 && errno == EAGAIN) {
        r = 1;  // would block: wait below, outside the guard
      }
    }
    if (r <= 0) {
      sv::ErrnoKeeper keep;
      if (r == 0) {
        sv::sem::learn(semid, real);
        sv::sem::record_undo(semid, sops, nsops);
      }
      return r;
    }
  }
  timespec start = now_monotonic();
  long r = wait_through_checkpoints(
      [semid] { return sv::sem::to_real(semid); },
      [&](int real) -> long {
        if (timeout == nullptr) {
          return NEXT_FNC(semtimedop)(real, sops, nsops, nullptr);
        }
        timespec left = time_left(*timeout, start);
        return NEXT_FNC(semtimedop)(real, sops, nsops, &left);
      });
  if (r == 0) {
    sv::ErrnoKeeper keep;
    sv::CkptGuard guard;
    sv::sem::record_undo(semid, sops, nsops);
  }
  return static_cast<int>(r);
}

DMTCP_SYSVIPC_EXPORT int semop(int semid, sembuf* sops, size_t nsops) {
  if (!enabled()) {
    return NEXT_FNC(semop)(semid, sops, nsops);
  }
  return semtimedop(semid, sops, nsops, nullptr);
}

union SemArg {
  int val;
  semid_ds* buf;
  unsigned short* array;
  void* info;
};

DMTCP_SYSVIPC_EXPORT int semctl(int semid, int num, int cmd, ...) {
  SemArg arg{};
  switch (cmd) {
    case IPC_STAT:
    case IPC_SET:
    case IPC_INFO:
    case SEM_INFO:
    case SEM_STAT:
    case SEM_STAT_ANY:
    case GETALL:
    case SETALL:
    case SETVAL: {
      va_list ap;
      va_start(ap, cmd);
      arg = va_arg(ap, SemArg);
      va_end(ap);
      break;
    }
    default:
      break;
  }
  if (!enabled()) {
    return NEXT_FNC(semctl)(semid, num, cmd, arg);
  }
  sv::CkptGuard guard;
  switch (cmd) {
    case IPC_INFO:
    case SEM_INFO:
      return NEXT_FNC(semctl)(semid, num, cmd, arg);
    case SEM_STAT:
    case SEM_STAT_ANY: {
      int real = NEXT_FNC(semctl)(semid, num, cmd, arg);
      if (real < 0) {
        return real;
      }
      sv::ErrnoKeeper keep;
      return sv::sem::to_virtual(real, arg.buf->sem_perm.__key);
    }
    default:
      break;
  }
  int real = sv::sem::to_real(semid);
  int r = NEXT_FNC(semctl)(real, num, cmd, arg);
  if (r < 0) {
    return r;
  }
  sv::ErrnoKeeper keep;
  switch (cmd) {
    case IPC_RMID:
      sv::sem::forget(semid);
      return r;
    case SETVAL:
      sv::sem::clear_undo(semid, num);
      break;
    case SETALL:
      sv::sem::clear_undo(semid, -1);
      break;
    case GETPID:
      r = dmtcp_real_to_virtual_pid(r);
      break;
    default:
      break;
  }
  sv::sem::learn(semid, real);
  return r;
}

// --- message queues -------------------------------------------------------

DMTCP_SYSVIPC_EXPORT int msgget(key_t key, int flags) {
  if (!enabled()) {
    return NEXT_FNC(msgget)(key, flags);
  }
  sv::CkptGuard guard;
  int real = NEXT_FNC(msgget)(key, flags);
  if (real < 0) {
    return real;
  }
  sv::ErrnoKeeper keep;
  return sv::msg::to_virtual(real, key);
}

DMTCP_SYSVIPC_EXPORT int msgsnd(int msqid, const void* msgp, size_t msgsz,
                                int flags) {
  if (!enabled()) {
    return NEXT_FNC(msgsnd)(msqid, msgp, msgsz, flags);
  }
  long r = wait_through_checkpoints(
      [msqid] { return sv::msg::to_real(msqid); },
      [&](int real) -> long {
        return NEXT_FNC(msgsnd)(real, msgp, msgsz, flags);
      });
  if (r == 0) {
    sv::ErrnoKeeper keep;
    sv::CkptGuard guard;
    sv::msg::learn(msqid, sv::msg::to_real(msqid));
  }
  return static_cast<int>(r);
}

DMTCP_SYSVIPC_EXPORT ssize_t msgrcv(int msqid, void* msgp, size_t msgsz,
                                    long msgtyp, int flags) {
  if (!enabled()) {
    return NEXT_FNC(msgrcv)(msqid, msgp, msgsz, msgtyp, flags);
  }
  long r = wait_through_checkpoints(
      [msqid] { return sv::msg::to_real(msqid); },
      [&](int real) -> long {
        return NEXT_FNC(msgrcv)(real, msgp, msgsz, msgtyp, flags);
      });
  if (r >= 0) {
    sv::ErrnoKeeper keep;
    sv::CkptGuard guard;
    sv::msg::learn(msqid, sv::msg::to_real(msqid));
  }
  return r;
}

namespace {

void virtualize_msg_pids(msqid_ds* ds) {
  ds->msg_lspid = dmtcp_real_to_virtual_pid(ds->msg_lspid);
  ds->msg_lrpid = dmtcp_real_to_virtual_pid(ds->msg_lrpid);
}

}  // namespace

DMTCP_SYSVIPC_EXPORT int msgctl(int msqid, int cmd, msqid_ds* buf) {
  if (!enabled()) {
    return NEXT_FNC(msgctl)(msqid, cmd, buf);
  }
  sv::CkptGuard guard;
  switch (cmd) {
    case IPC_INFO:
    case MSG_INFO:
      return NEXT_FNC(msgctl)(msqid, cmd, buf);
    case MSG_STAT:
    case MSG_STAT_ANY: {
      int real = NEXT_FNC(msgctl)(msqid, cmd, buf);
      if (real < 0) {
        return real;
      }
      sv::ErrnoKeeper keep;
      virtualize_msg_pids(buf);
      return sv::msg::to_virtual(real, buf->msg_perm.__key);
    }
    default:
      break;
  }
  int real = sv::msg::to_real(msqid);
  int r = NEXT_FNC(msgctl)(real, cmd, buf);
  if (r < 0) {
    return r;
  }
  sv::ErrnoKeeper keep;
  if (cmd == IPC_RMID) {
    sv::msg::forget(msqid);
    return r;
  }
  sv::msg::learn(msqid, real);
  if (cmd == IPC_STAT && buf != nullptr) {
    virtualize_msg_pids(buf);
  }
  return r;
}

// --- POSIX message queues -----------------------------------------------
// Descriptors, not ids: nothing to translate, only to remember.  Their
// blocking calls need no wrapper: SA_RESTART restarts mq_receive and
// mq_send after the checkpoint's signal, on the same fd number.

DMTCP_SYSVIPC_EXPORT mqd_t mq_open(const char* name, int oflag, ...) {
  mode_t mode = 0;
  mq_attr* attr = nullptr;
  if ((oflag & O_CREAT) != 0) {
    va_list ap;
    va_start(ap, oflag);
    mode = static_cast<mode_t>(va_arg(ap, int));
    attr = va_arg(ap, mq_attr*);
    va_end(ap);
  }
  if (!enabled()) {
    return NEXT_FNC(mq_open)(name, oflag, mode, attr);
  }
  sv::CkptGuard guard;
  mqd_t fd = NEXT_FNC(mq_open)(name, oflag, mode, attr);
  if (fd >= 0) {
    sv::ErrnoKeeper keep;
    sv::posix_mq::opened(fd, name, oflag);
  }
  return fd;
}

DMTCP_SYSVIPC_EXPORT int mq_close(mqd_t fd) {
  if (!enabled()) {
    return NEXT_FNC(mq_close)(fd);
  }
  sv::CkptGuard guard;
  int r = NEXT_FNC(mq_close)(fd);
  if (r == 0) {
    sv::ErrnoKeeper keep;
    sv::posix_mq::closed(fd);
  }
  return r;
}

DMTCP_SYSVIPC_EXPORT int mq_notify(mqd_t fd, const sigevent* sev) {
  if (!enabled()) {
    return NEXT_FNC(mq_notify)(fd, sev);
  }
  sv::CkptGuard guard;
  int r = NEXT_FNC(mq_notify)(fd, sev);
  if (r == 0) {
    sv::ErrnoKeeper keep;
    sv::posix_mq::notify_set(fd, sev);
  }
  return r;
}
