#include "runtime/glibc_tcb.h"

#include <asm/prctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "common/log.h"
#include "dmtcp/raw_syscall.h"

extern "C" {
// Exported by glibc 2.35+: where the rseq area sits relative to the thread
// pointer, and its size (0 when glibc did not register rseq).
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
}

namespace dmtcp::tcb {
namespace {

constexpr uint32_t kRseqSignature = 0x53053053;  // x86 RSEQ_SIG
constexpr unsigned int kRseqMinLen = 32;         // original struct rseq
// Search bound: struct pthread's tid sits well inside its first 4 KiB.
constexpr int kSearchWords = 1024;
int g_tid_offset = -1;

}  // namespace

pid_t gettid_raw() { return raw::gettid(); }
pid_t getpid_raw() { return raw::getpid(); }

// Where glibc keeps a thread's kernel tid inside its struct pthread.  The
// kernel knows: the main thread's clear_child_tid address is that field
// (glibc passes it to set_tid_address at start-up), and
// PR_GET_TID_ADDRESS tells it.  Without that prctl (a kernel without
// CONFIG_CHECKPOINT_RESTORE) the field is searched for, at 8-byte aligned
// offsets only: tids run up to 4194304, and one in 32512..32767 equals the
// upper half of every 0x7fxx... pointer in the header (this once took the
// `self` pointer's upper half for the tid and aborted every process whose
// pid fell in that range).
void probe_tid_offset() {
  pid_t tid = gettid_raw();
  const char* self = reinterpret_cast<const char*>(pthread_self());
  pid_t* addr = nullptr;
  if (prctl(PR_GET_TID_ADDRESS, &addr, 0, 0, 0) == 0 && addr != nullptr) {
    ptrdiff_t off = reinterpret_cast<const char*>(addr) - self;
    if (off > 0 && off < kSearchWords * static_cast<ptrdiff_t>(sizeof(pid_t)) &&
        *addr == tid) {
      g_tid_offset = static_cast<int>(off);
      return;
    }
  }
  const auto* words = reinterpret_cast<const pid_t*>(self);
  // Skip the first words (tcbhead_t pointers); verify_tid_offset() checks
  // the result in a second thread.
  for (int i = 4; i < kSearchWords; i += 2) {
    if (words[i] == tid) {
      g_tid_offset = i * static_cast<int>(sizeof(pid_t));
      return;
    }
  }
  DMTCP_ASSERT(false, "tid %d not found in struct pthread %p", tid,
               reinterpret_cast<const void*>(self));
}

void verify_tid_offset() {
  pid_t tid = gettid_raw();
  pid_t seen = *tid_address(pthread_self());
  DMTCP_ASSERT(seen == tid, "struct pthread tid offset %d gives %d, not %d",
               g_tid_offset, seen, tid);
}

pid_t* tid_address(pthread_t thread) {
  return reinterpret_cast<pid_t*>(reinterpret_cast<char*>(thread) +
                                  g_tid_offset);
}

uint64_t thread_pointer() {
  uint64_t fs = 0;
  syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
  return fs;
}

void register_rseq() {
  if (&__rseq_size == nullptr || __rseq_size == 0) {
    return;
  }
  char* area = reinterpret_cast<char*>(thread_pointer()) + __rseq_offset;
  // rseq_cs must not point at a critical section of the old process.
  uint64_t zero = 0;
  memcpy(area + 8, &zero, sizeof zero);
  unsigned int len = __rseq_size < kRseqMinLen ? kRseqMinLen : __rseq_size;
  if (syscall(SYS_rseq, area, len, 0, kRseqSignature) != 0 &&
      errno != EBUSY) {
    DMTCP_WARN("re-registering rseq failed: %s; sched_getcpu() may report "
               "a stale cpu",
               strerror(errno));
  }
}

}  // namespace dmtcp::tcb
