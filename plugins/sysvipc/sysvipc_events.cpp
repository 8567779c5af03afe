// sysvipc_events.cpp -- the sysvipc plugin's event hook: SysV shared
// memory, semaphores and message queues (and POSIX message queues) come
// back after a restart with their contents, under the ids the program
// knows.  Design and limits: docs/sysvipc.md.
//
// Every process keeps, per kind, a registry of the objects it knows (ids
// it got from *get() or used in a call) and a VirtualIdTable from the
// program's ids to the kernel's.  Before any restart virtual == real.
//
// Algorithm (C = the checkpoint thread; steps of SPEC section 4):
//  1. THREADS_SUSPEND: list this process's SysV shm attachments from
//     /proc/self/maps (address, length, offset, protection), each under the
//     program's id for its segment.
//  2. SUSPENDED: per object: gone from the kernel -> forgotten; else
//     publish "sysvipc:<kind>:saver:<domain>:<kernel id>" = our virtual
//     pid (domain: boot id and IPC namespace, sysvipc.h).
//  3. LEADER_ELECTION (after the barrier): query it; whoever published last
//     is the object's saver, and every process reads the same answer.
//  4. DRAIN: the saver of each object keeps what the kernel holds:
//     shm: key, size, mode, SHM_DEST and a copy of the contents;
//     sem: key, mode and every value; msg: key, mode, msg_qbytes and every
//     message in order (msgrcv MSG_COPY, non-destructive).  Every process
//     keeps its own SEM_UNDO adjustments anyway (sem.cpp, recorded by the
//     semop wrappers, since the kernel does not show them).
//  5. WRITE_CKPT: claim every attachment (dmtcp_claim_sysv_shm): the core
//     leaves their pages out of the image, the saver's copy is the one.
//     One image note per object for dmtcp_inspect (sysvipc_notes.h).
//  6. RESUME: the saver drops its copies; nothing else is touched, the
//     live objects are the state.
//  7. RESTART: every kernel id is void (tombstones in the tables).  The
//     saver re-makes each object with its key and mode (IPC_CREAT|
//     IPC_EXCL: a key a stranger holds on this host is one error line and
//     exit), fills it (contents, SETALL, msgsnd in order) and maps the
//     virtual id to the new kernel id.
//  8. REGISTER_NAME_SERVICE_DATA (restart): the saver publishes
//     "sysvipc:<kind>:real:<domain>:<kernel id>" = the new kernel id and
//     the domain it is in now.
//  9. SEND_QUERIES (restart): everyone else queries its objects' new ids
//     (not found, or re-made in another domain: forgotten, calls fail
//     with EINVAL); then each process attaches its segments again at
//     their addresses over the core's empty stand-ins, with the same
//     flags, and re-applies its own SEM_UNDO adjustments.
// 10. REFILL (restart): a segment that was marked IPC_RMID is marked again
//     by its saver, now that every process has attached it.
// POSIX message queues (posix_mq.cpp) follow the same steps by name:
//  1 check the descriptors; 2 drop our mq_notify registration (noting
//  whether the kernel still held it) and stand for saving the queue; 3
//  elect; 4 the saver takes the messages off (no copy without taking);
//  5 claim the fds; 6 the saver sends them back; 7 the saver re-makes the
//  queue with its attributes and messages; 9 every process opens its
//  descriptors again at their numbers; 10 unlinked queues are unlinked
//  again and registrations made again (also after a resume).
// PRE_EXEC/POST_EXEC carry the registries, tables, SEM_UNDO adjustments
// and queue descriptors into the new image.
// Wrappers (sysvipc_wrappers.cpp) translate ids both ways; semop and
// msgrcv/msgsnd blocked during a checkpoint wait again afterwards;
// proc_sysvipc.cpp shows /proc/sysvipc/* in virtual ids.
// Nothing here calls malloc between THREADS_SUSPEND and THREADS_RESUME.
#include <unistd.h>

#include <cstdint>

#include "dmtcp/claims.h"
#include "dmtcp/plugin.h"
#include "msg.h"
#include "posix_mq.h"
#include "sem.h"
#include "shm.h"
#include "sysvipc.h"

namespace sv = dmtcp::sysvipc;

namespace {

constexpr uint32_t kExecMagic = 0x53595331;  // "SYS1"

void init() {
  sv::shm::init();
  sv::sem::init();
  sv::msg::init();
  sv::g_active = true;
}

// Exec keeps the process, so it keeps its objects, ids, SEM_UNDO
// adjustments and inheritable queue descriptors.
void save_for_exec(int fd) {
  if (fd < 0) {
    return;
  }
  uint32_t head[2] = {kExecMagic, sv::g_after_restart ? 1u : 0u};
  if (write(fd, head, sizeof head) != sizeof head) {
    return;
  }
  sv::shm::save_for_exec(fd);
  sv::sem::save_for_exec(fd);
  sv::msg::save_for_exec(fd);
  sv::posix_mq::save_for_exec(fd);
}

void restore_after_exec(int fd) {
  uint32_t head[2] = {};
  if (fd < 0 || read(fd, head, sizeof head) != sizeof head ||
      head[0] != kExecMagic) {
    return;
  }
  sv::g_after_restart = head[1] != 0;
  sv::shm::restore_after_exec(fd);
  sv::sem::restore_after_exec(fd);
  sv::msg::restore_after_exec(fd);
  sv::posix_mq::restore_after_exec(fd);
}

bool is_restart(DmtcpEventData_t* data) {
  return data != nullptr && data->resumeInfo.isRestart != 0;
}

}  // namespace

DMTCP_SYSVIPC_EXPORT void dmtcp_event_hook(DmtcpEvent_t event,
                                           DmtcpEventData_t* data) {
  switch (event) {
    case DMTCP_EVENT_INIT:
      init();
      break;
    case DMTCP_EVENT_PRE_EXEC:
      save_for_exec(data->serializerInfo.fd);
      break;
    case DMTCP_EVENT_POST_EXEC:
      init();
      restore_after_exec(data->serializerInfo.fd);
      break;
    case DMTCP_EVENT_ATFORK_CHILD:
      sv::sem::forget_undo_in_child();
      break;
    case DMTCP_EVENT_THREADS_SUSPEND:
      sv::shm::scan_attachments();
      sv::posix_mq::check_fds();
      break;
    case DMTCP_EVENT_SUSPENDED:
      sv::read_domain(sv::g_ckpt_domain);
      sv::shm::stand();
      sv::sem::stand();
      sv::msg::stand();
      sv::posix_mq::stand();
      break;
    case DMTCP_EVENT_LEADER_ELECTION:
      sv::shm::elect();
      sv::sem::elect();
      sv::msg::elect();
      sv::posix_mq::elect();
      break;
    case DMTCP_EVENT_DRAIN:
      sv::shm::save();
      sv::sem::save();
      sv::msg::save();
      sv::posix_mq::save();
      break;
    case DMTCP_EVENT_WRITE_CKPT:
      sv::shm::claim();
      sv::posix_mq::claim();
      sv::shm::note();  // for dmtcp_inspect (sysvipc_notes.h)
      sv::sem::note();
      sv::msg::note();
      break;
    default:
      break;
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
  switch (event) {
    case DMTCP_EVENT_RESUME:
      sv::shm::resume();
      sv::sem::resume();
      sv::msg::resume();
      sv::posix_mq::resume();
      break;
    case DMTCP_EVENT_RESTART:
      sv::g_after_restart = true;
      sv::read_domain(sv::g_now_domain);
      sv::shm::remake();
      sv::sem::remake();
      sv::msg::remake();
      sv::posix_mq::remake();
      break;
    case DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA:
      if (is_restart(data)) {
        sv::shm::publish_new();
        sv::sem::publish_new();
        sv::msg::publish_new();
      }
      break;
    case DMTCP_EVENT_SEND_QUERIES:
      if (is_restart(data)) {
        sv::shm::learn_new_and_attach();
        sv::sem::learn_new_and_undo();
        sv::msg::learn_new();
        sv::posix_mq::reopen();
      }
      break;
    case DMTCP_EVENT_REFILL:
      if (is_restart(data)) {
        sv::shm::finish_restart();
        sv::posix_mq::finish_restart();
      }
      sv::posix_mq::notify_again();
      break;
    default:
      break;
  }
}
