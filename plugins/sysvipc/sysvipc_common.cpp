// sysvipc_common.cpp -- see sysvipc.h.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "dmtcp/raw_syscall.h"
#include "sysvipc.h"

namespace dmtcp::sysvipc {

bool g_after_restart = false;
bool g_active = false;
char g_ckpt_domain[kDomainLen] = "";
char g_now_domain[kDomainLen] = "";

pid_t self_vpid() {
  return dmtcp_real_to_virtual_pid(dmtcp::raw::getpid());
}

void read_domain(char* out) {
  char boot[40] = "?";
  int fd = static_cast<int>(
      sys(SYS_openat, AT_FDCWD,
          reinterpret_cast<long>("/proc/sys/kernel/random/boot_id"),
          O_RDONLY | O_CLOEXEC));
  if (fd >= 0) {
    long n = sys(SYS_read, fd, reinterpret_cast<long>(boot), sizeof boot - 1);
    sys(SYS_close, fd);
    boot[n > 0 ? n : 0] = '\0';
    if (char* nl = strchr(boot, '\n')) {
      *nl = '\0';
    }
  }
  char ns[64] = "?";  // "ipc:[4026531839]"
  long n = sys(SYS_readlinkat, AT_FDCWD,
               reinterpret_cast<long>("/proc/self/ns/ipc"),
               reinterpret_cast<long>(ns), sizeof ns - 1);
  ns[n > 0 ? n : 1] = '\0';
  const char* ino = strchr(ns, '[');
  snprintf(out, kDomainLen, "%s:%.*s", boot,
           ino != nullptr ? static_cast<int>(strcspn(ino + 1, "]")) : 1,
           ino != nullptr ? ino + 1 : ns);
}

namespace {

size_t make_key(char* buf, size_t len, const char* kind, const char* what,
                int id) {
  int n = snprintf(buf, len, "sysvipc:%s:%s:%s:%d", kind, what, g_ckpt_domain,
                   id);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

bool publish(const char* kind, const char* what, int id, const void* value,
             size_t len) {
  char key[160];
  size_t n = make_key(key, sizeof key, kind, what, id);
  if (dmtcp_send_key_val_pair_to_coordinator(key, n, value, len) != 1) {
    dmtcp_log("sysvipc: cannot publish %s: %s", key, strerror(errno));
    return false;
  }
  return true;
}

bool query(const char* kind, const char* what, int id, void* value,
           size_t len) {
  char key[160];
  size_t n = make_key(key, sizeof key, kind, what, id);
  size_t got = len;
  int r = dmtcp_send_query_to_coordinator(key, n, value, &got);
  if (r != 1 || got != len) {
    if (r < 0) {
      dmtcp_log("sysvipc: cannot query %s: %s", key, strerror(errno));
    }
    return false;
  }
  return true;
}

}  // namespace

bool publish_int(const char* kind, const char* what, int id, int32_t value) {
  return publish(kind, what, id, &value, sizeof value);
}

std::optional<int32_t> query_int(const char* kind, const char* what, int id) {
  int32_t value = 0;
  if (!query(kind, what, id, &value, sizeof value)) {
    return std::nullopt;
  }
  return value;
}

bool publish_new_id(const char* kind, int id, int32_t real) {
  NewId v{};
  v.real = real;
  memcpy(v.domain, g_now_domain, sizeof v.domain);
  return publish(kind, "real", id, &v, sizeof v);
}

std::optional<NewId> query_new_id(const char* kind, int id) {
  NewId v{};
  if (!query(kind, "real", id, &v, sizeof v)) {
    return std::nullopt;
  }
  v.domain[sizeof v.domain - 1] = '\0';
  return v;
}

void* map_buffer(size_t len) {
  if (len == 0) {
    len = 1;
  }
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void unmap_buffer(void* p, size_t len) {
  if (p != nullptr) {
    munmap(p, len == 0 ? 1 : len);
  }
}

bool pid_alive(pid_t pid) {
  if (pid <= 0 || sys(SYS_kill, pid, 0) == -ESRCH) {
    return false;
  }
  // A killed process not reaped yet is a zombie: it runs nothing.  Raw:
  // the pid plugin's open() would take the kernel pid for a virtual one.
  char path[32];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  long fd = sys(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path),
                O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return true;  // cannot tell: alive
  }
  char buf[512];
  long n = sys(SYS_read, fd, reinterpret_cast<long>(buf), sizeof buf - 1);
  sys(SYS_close, fd);
  if (n <= 0) {
    return true;
  }
  buf[n] = '\0';
  const char* end = strrchr(buf, ')');  // the name may hold ") "
  return end == nullptr || end[1] != ' ' || (end[2] != 'Z' && end[2] != 'X');
}

bool remove_own_leftover(const ObjectBase& o, long id, long ctime, bool in_use,
                         long ctl_syscall) {
  if (id < 0 || id != o.ckpt_real || ctime != o.ckpt_ctime || in_use) {
    return false;
  }
  if (sys(ctl_syscall, id, IPC_RMID, 0) != 0) {
    return false;
  }
  dmtcp_log("sysvipc: key %#x: the object saved at the checkpoint (id %ld) "
            "was left by the killed computation: removed, made again",
            static_cast<unsigned>(o.key), id);
  return true;
}

void fatal_restart(const char* what) {
  char line[512];
  int n = snprintf(line, sizeof line, "dmtcp_restart: sysvipc: %s\n", what);
  if (n > 0) {
    (void)!write(2, line, static_cast<size_t>(n) < sizeof line
                              ? static_cast<size_t>(n)
                              : sizeof line - 1);
  }
  _exit(1);
}

}  // namespace dmtcp::sysvipc
