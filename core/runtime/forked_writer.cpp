// Algorithm (forked_writer.h says what and why):
//  start(), every user thread frozen, after WRITE_CKPT:
//   1. create the image's temporary file (image_dump::create_temp) and a
//      pipe for the writer's result (its read end moved to the protected
//      fd range, out of the program's way);
//   2. clone(flags = 0): a new process, not a thread (no CLONE_VM: the
//      kernel copies the page tables and shares the pages copy-on-write),
//      exit signal 0, no glibc fork handlers, no wrappers;
//   3. the parent closes its copies of the file and the pipe's write end
//      and returns: the program may run again.
//  The writer (never returns):
//   a. blocks every signal, asks for SIGKILL when the checkpoint thread
//      dies (PR_SET_PDEATHSIG) and leaves if it already has;
//   b. closes every fd but stderr, the temporary file and the pipe;
//   c. writes the image (image_dump::write_temp: the same code as a plain
//      checkpoint, which neither allocates nor takes a lock another thread
//      could have held), sends its result over the pipe, _exits.
//  finish(), user threads running:
//   4. waits for the pipe and the coordinator's connection (kKill and
//      kAbortRound end the writer first);
//   5. reaps the writer (wait4 with __WALL: the one call that sees it);
//   6. on success renames the temporary file to the image's name, else
//      removes it and says why.
#include "runtime/forked_writer.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "dmtcp/raw_syscall.h"
#include "runtime/coord_client.h"
#include "runtime/glibc_tcb.h"
#include "runtime/image_dump.h"
#include "runtime/runtime.h"

namespace dmtcp::forked_writer {
namespace {

// Straight to the kernel: glibc's syscall(), waitpid() and poll() may be
// wrapped by plugins (pid, event), which must not see the writer.
long sys6(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0,
          long f = 0) {
  return dmtcp::raw::syscall6(n, a, b, c, d, e, f);
}

long raw_close(int fd) {
  return sys6(SYS_close, fd);
}

// The writer in progress.  Written by the checkpoint thread only.
pid_t g_pid = -1;
int g_result_fd = -1;  // read end of the result pipe
char g_tmp[image_dump::kTempNameCap];
// The image's name when the writer started (a program thread may change
// the checkpoint directory while it writes: dmtcp_set_ckpt_dir).
char g_image[sizeof rt::g_id.ckpt_filename];

// Closes every fd except those in keep (ascending, distinct).
void close_all_but(const int* keep, int n) {
  int from = 0;
  for (int i = 0; i <= n; ++i) {
    int to = i < n ? keep[i] - 1 : INT32_MAX;
    if (from <= to) {
      if (sys6(SYS_close_range, from, static_cast<unsigned>(to), 0) ==
          -ENOSYS) {
        for (int fd = from; fd <= to && fd < 65536; ++fd) {
          raw_close(fd);
        }
      }
    }
    if (i < n) {
      from = keep[i] + 1;
    }
  }
}

[[noreturn]] void exit_now(int status) {
  for (;;) {
    sys6(SYS_exit_group, status);
  }
}

[[noreturn]] void writer_main(pid_t parent, int fd, int result_w,
                              const image_dump::Who& who) {
  uint64_t all = ~uint64_t{0};
  sys6(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&all), 0,
       sizeof all);
  sys6(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
  if (raw::getppid() != parent) {
    exit_now(1);  // the checkpoint thread is gone already
  }
  sys6(SYS_prctl, PR_SET_NAME, reinterpret_cast<long>("dmtcp_imgwriter"));
  // glibc's idea of this thread's tid (the checkpoint thread's, copied):
  // abort() and owner-checking mutexes read it.
  *tcb::tid_address(pthread_self()) = raw::gettid();
  int keep[3] = {STDERR_FILENO, fd, result_w};
  for (int i = 0; i < 3; ++i) {  // sort three
    for (int j = i + 1; j < 3; ++j) {
      if (keep[j] < keep[i]) {
        int t = keep[i];
        keep[i] = keep[j];
        keep[j] = t;
      }
    }
  }
  close_all_but(keep, 3);
  int32_t rc = image_dump::write_temp(fd, g_tmp, who);
  sys6(SYS_write, result_w, reinterpret_cast<long>(&rc), sizeof rc);
  exit_now(0);
}

// Kills the writer (if any), reaps it, removes its temporary file.
void kill_and_remove() {
  if (g_pid > 0) {
    raw::kill(g_pid, SIGKILL);
    int status = 0;
    while (sys6(SYS_wait4, g_pid, reinterpret_cast<long>(&status), __WALL, 0) ==
           -EINTR) {
    }
    g_pid = -1;
  }
  if (g_result_fd >= 0) {
    raw_close(g_result_fd);
    g_result_fd = -1;
  }
  unlink(g_tmp);
}

const char* signal_name(int sig) {
  const char* name = sigabbrev_np(sig);
  return name != nullptr ? name : "?";
}

}  // namespace

int start() {
  snprintf(g_image, sizeof g_image, "%s", rt::g_id.ckpt_filename);
  int fd = image_dump::create_temp(g_tmp, sizeof g_tmp);
  if (fd < 0) {
    return fd;
  }
  int p[2];
  long rc = sys6(SYS_pipe2, reinterpret_cast<long>(p), O_CLOEXEC);
  if (rc != 0) {
    raw_close(fd);
    unlink(g_tmp);
    return static_cast<int>(rc);
  }
  long moved = sys6(SYS_fcntl, p[0], F_DUPFD_CLOEXEC, rt::kProtectedFdBase);
  if (moved >= 0) {
    raw_close(p[0]);
    p[0] = static_cast<int>(moved);
  }
  pid_t parent = raw::getpid();
  image_dump::Who who{parent, raw::getppid()};
  // Exit signal 0 in the low byte: the program is never signalled for it.
  long pid = sys6(SYS_clone, 0, 0, 0, 0, 0);
  if (pid == 0) {
    raw_close(p[0]);
    writer_main(parent, fd, p[1], who);
  }
  raw_close(fd);
  raw_close(p[1]);
  if (pid < 0) {
    raw_close(p[0]);
    unlink(g_tmp);
    return static_cast<int>(pid);
  }
  g_pid = static_cast<pid_t>(pid);
  g_result_fd = p[0];
  return 0;
}

const char* image_path() {
  return g_image;
}

void forget_after_fork() {
  if (g_result_fd >= 0) {
    raw_close(g_result_fd);
  }
  g_result_fd = -1;
  g_pid = -1;
}

void abandon() {
  if (g_pid > 0) {
    kill_and_remove();
  }
}

int finish(int coord_fd, WaitEnd* end, char* why, size_t why_cap) {
  *end = WaitEnd::kWriterDone;
  why[0] = '\0';
  if (g_pid <= 0) {
    snprintf(why, why_cap, "no image writer was started");
    return -ECHILD;
  }
  bool listen = coord_fd >= 0;
  int32_t result = 0;
  bool have_result = false;
  for (;;) {
    pollfd fds[2] = {{g_result_fd, POLLIN, 0}, {coord_fd, POLLIN, 0}};
    long n = sys6(SYS_poll, reinterpret_cast<long>(fds), listen ? 2 : 1, -1);
    if (n == -EINTR) {
      continue;
    }
    if (n < 0) {
      break;  // cannot happen with valid fds; reap below
    }
    if (fds[0].revents != 0) {
      long got = sys6(SYS_read, g_result_fd, reinterpret_cast<long>(&result),
                      sizeof result);
      if (got == -EINTR) {
        continue;
      }
      have_result = got == static_cast<long>(sizeof result);
      break;
    }
    if (listen && fds[1].revents != 0) {
      int m = coord::read_one_async(coord_fd);
      if (m == coord::kKilled) {
        kill_and_remove();
        coord::die_on_kill();
      }
      if (m == coord::kAborted) {
        kill_and_remove();
        *end = WaitEnd::kAborted;
        snprintf(why, why_cap, "the coordinator gave up waiting");
        return -ECANCELED;
      }
      if (m < 0) {
        listen = false;  // lost: the image is finished all the same
        *end = WaitEnd::kCoordinatorLost;
      }
    }
  }
  int status = 0;
  long reaped = 0;
  do {
    reaped = sys6(SYS_wait4, g_pid, reinterpret_cast<long>(&status), __WALL, 0);
  } while (reaped == -EINTR);
  pid_t pid = g_pid;
  g_pid = -1;
  raw_close(g_result_fd);
  g_result_fd = -1;
  if (have_result && result == 0) {
    int rc = image_dump::commit_temp(g_tmp, g_image);
    if (rc != 0) {
      snprintf(why, why_cap, "renaming its image failed: %s", strerror(-rc));
    }
    return rc;
  }
  unlink(g_tmp);
  if (have_result) {
    snprintf(why, why_cap, "its forked image writer failed: %s",
             strerror(-result));
    return result;
  }
  if (reaped > 0 && WIFSIGNALED(status)) {
    snprintf(why, why_cap,
             "its forked image writer (pid %d) was killed by "
             "signal %d (SIG%s)",
             pid, WTERMSIG(status), signal_name(WTERMSIG(status)));
  } else if (reaped > 0 && WIFEXITED(status)) {
    snprintf(why, why_cap,
             "its forked image writer (pid %d) exited with "
             "status %d before it was done",
             pid, WEXITSTATUS(status));
  } else {
    snprintf(why, why_cap, "its forked image writer (pid %d) vanished", pid);
  }
  return -EPIPE;
}

}  // namespace dmtcp::forked_writer
