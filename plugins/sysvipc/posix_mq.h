// posix_mq.h -- POSIX message queues (posix_mq.cpp).
#pragma once

#include <mqueue.h>
#include <signal.h>

namespace dmtcp::sysvipc::posix_mq {

// Wrappers (inside a CkptGuard).
void opened(int fd, const char* name, int oflag);
void closed(int fd);
// mq_notify(fd, sev) worked: sev == nullptr unregisters.
void notify_set(int fd, const sigevent* sev);

void save_for_exec(int fd);       // PRE_EXEC
void restore_after_exec(int fd);  // POST_EXEC

void check_fds();      // 1 THREADS_SUSPEND
void stand();          // 2 SUSPENDED
void elect();          // 3 LEADER_ELECTION
void save();           // 4 DRAIN
void claim();          // 5 WRITE_CKPT
void resume();         // 6 RESUME
void remake();         // 7 RESTART
void reopen();         // 9 SEND_QUERIES
void notify_again();   // 10 REFILL (resume and restart)
void finish_restart(); // 10 REFILL (restart)

}  // namespace dmtcp::sysvipc::posix_mq
