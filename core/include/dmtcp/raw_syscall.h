// System calls that go straight to the kernel, past every wrapper.
//
// The core needs the kernel's own pids and tids (tgkill to suspend a
// thread, glibc's tid field after restart, process_vm_readv on ourselves).
// libc's getpid(), gettid() and even syscall() are wrapped by the pid
// plugin, which sits closer to libc and answers with virtual ids.
//
// Public for plugins: one that needs a kernel id, or a call the pid plugin
// would translate (fcntl F_SETOWN, ...), uses these.  Header-only, no
// allocation, safe in any hook and in a signal handler.  x86-64 only.
#pragma once

#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/types.h>

namespace dmtcp::raw {

inline long syscall3(long n, long a = 0, long b = 0, long c = 0) {
  long ret;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c)
               : "rcx", "r11", "memory");
  return ret;
}

// The same with up to six arguments (clone, wait4, ppoll, futex ...).
inline long syscall6(long n, long a = 0, long b = 0, long c = 0, long d = 0,
                     long e = 0, long f = 0) {
  long ret;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

inline pid_t getpid() { return static_cast<pid_t>(syscall3(SYS_getpid)); }
inline pid_t getppid() { return static_cast<pid_t>(syscall3(SYS_getppid)); }
inline pid_t gettid() { return static_cast<pid_t>(syscall3(SYS_gettid)); }
// Returns 0 or -errno.
inline long tgkill(pid_t tgid, pid_t tid, int sig) {
  return syscall3(SYS_tgkill, tgid, tid, sig);
}
inline long kill(pid_t pid, int sig) { return syscall3(SYS_kill, pid, sig); }

// A path argument no program could have meant as a string: NULL, the first
// page, or a non-canonical (kernel) address.  A wrapper that would read
// the path first hands such a pointer on unread, so the kernel fails the
// call with EFAULT as it does without us (reading it would crash the
// program instead).  Other unmapped addresses are not caught.
inline bool unreadable_user_pointer(const void* p) {
  auto at = reinterpret_cast<unsigned long>(p);
  return at < 4096 || at >= (1ul << 47);
}

// In a wrapper of libc's variadic syscall(number, ...), after
// va_start(ap, number): its six arguments into a (as libc's own, it reads
// all six argument registers whatever the call takes).
inline void syscall_args(va_list ap, long a[6]) {
  for (int i = 0; i < 6; ++i) {
    a[i] = va_arg(ap, long);
  }
}

}  // namespace dmtcp::raw
