/* Test plugin for dmtcp/claims.h, as a socket, event or timer plugin would
 * use it: at INIT it claims every eventfd and every POSIX timer by kind;
 * in each round's WRITE_CKPT (before passing it on) it claims the sockets
 * it finds, one by one.  It also checks the refusals: a per-object claim
 * outside a round, a negative fd, an empty prefix.  Anything unexpected
 * prints "CLAIMER FAIL", which fails the harness. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmtcp/claims.h"
#include "dmtcp/plugin.h"

static void expect(int ok, const char* what) {
  if (!ok) {
    dmtcp_log("CLAIMER FAIL: %s (errno %d)", what, errno);
  }
}

static void claim_sockets(void) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char buf[4096];
  long n;
  while ((n = getdents64(dir, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      struct dirent64* e = (struct dirent64*)(buf + off);
      off += e->d_reclen;
      char path[300], link[256];
      snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
      ssize_t len = readlink(path, link, sizeof link - 1);
      if (len > 0) {
        link[len] = '\0';
        if (strncmp(link, "socket:", 7) == 0) {
          expect(dmtcp_claim_fd(atoi(e->d_name)) == 0, "claim a socket");
        }
      }
    }
  }
  close(dir);
}

void dmtcp_event_hook(DmtcpEvent_t event, DmtcpEventData_t* data) {
  switch (event) {
    case DMTCP_EVENT_INIT:
      errno = 0;
      expect(dmtcp_claim_fd(0) == -1 && errno == EINVAL,
             "a claim outside a round is refused");
      errno = 0;
      expect(dmtcp_claim_kind("") == -1 && errno == EINVAL,
             "an empty prefix is refused");
      expect(dmtcp_claim_kind("anon_inode:[eventfd]") == 0, "claim eventfds");
      expect(dmtcp_claim_kind(DMTCP_CLAIM_ALL_POSIX_TIMERS) == 0,
             "claim timers");
      break;
    case DMTCP_EVENT_WRITE_CKPT:
      errno = 0;
      expect(dmtcp_claim_fd(-1) == -1 && errno == EINVAL,
             "a negative fd is refused");
      claim_sockets();
      break;
    default:
      break;
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
}
