// posix_timer.cpp -- see posix_timer.h.
#include "posix_timer.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/container/flat_map.hpp>
#include <cstring>

#include "dmtcp/claims.h"
#include "dmtcp/inspect.h"
#include "dmtcp/plugin.h"
#include "dmtcp/virtual_id_table.h"
#include "sigev_thread.h"
#include "thread_registry.h"
#include "timer_common.h"
#include "timer_notes.h"

namespace dmtcp::timer {
namespace {

using VirtTimer = Id<struct VirtTimerTag, int>;
using RealTimer = Id<struct RealTimerTag, int>;

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif

// 256 cached ids (2 KiB): the kernel hands out ids one after another, so
// the timers alive at once seldom share a slot.
VirtualIdTable<VirtTimer, RealTimer, 256> g_ids;
// Protects: g_records, g_next_thread_key; writes of g_absolute.
volatile int g_lock = 0;
boost::container::flat_map<int, PosixTimer> g_records;
int g_next_thread_key = 1;
// How many timers whose virtual id has these low 8 bits are recorded as
// TIMER_ABSTIME; read without the lock by timer_settime, which needs to
// note nothing when it arms a timer relative and the count is 0.
constexpr int kAbsoluteSlots = 256;
std::atomic<uint16_t> g_absolute[kAbsoluteSlots];
std::atomic<uint16_t>& absolute_count(int virt) {
  return g_absolute[static_cast<unsigned>(virt) % kAbsoluteSlots];
}

// The kernel's clock for a clock id glibc would translate.
clockid_t kernel_clock(clockid_t c) {
  if (c == CLOCK_PROCESS_CPUTIME_ID) {
    return make_process_cpu_clock(0, kCpuClockSched);
  }
  if (c == CLOCK_THREAD_CPUTIME_ID) {
    return make_thread_cpu_clock(0, kCpuClockSched);
  }
  return c;
}

// The kernel sigevent for a record; false if it cannot be built now.
bool kernel_event(const PosixTimer& t, int thread_key, sigevent* sev) {
  memset(sev, 0, sizeof *sev);
  sev->sigev_signo = t.signo;
  sev->sigev_value = t.value;
  switch (t.notify) {
    case SIGEV_NONE:
    case SIGEV_SIGNAL:
      sev->sigev_notify = t.notify;
      return true;
    case SIGEV_THREAD_ID: {
      sev->sigev_notify = SIGEV_THREAD_ID;
      pid_t tid = t.target_known ? real_tid_of(t.target) : t.target_tid;
      if (tid <= 0) {
        errno = EINVAL;
        return false;
      }
      sev->_sigev_un._tid = tid;
      return true;
    }
    case SIGEV_THREAD: {
      pid_t helper = sigev_helper_tid();
      if (helper <= 0) {
        errno = EAGAIN;
        return false;
      }
      sev->sigev_notify = SIGEV_THREAD_ID;
      sev->sigev_signo = kSigTimerThread;
      sev->sigev_value.sival_int = thread_key;
      sev->_sigev_un._tid = helper;
      return true;
    }
  }
  errno = EINVAL;
  return false;
}

int unused_virtual_id(int wanted) {
  int v = wanted;
  while (g_ids.to_real(VirtTimer(v))) {
    v = v == INT32_MAX ? 0 : v + 1;
  }
  return v;
}

// Kernel timers made at a restart only to keep an id from a timer of
// ours (create_avoiding_stale_ids); deleted once all are made.  Fixed
// room: hooks must not allocate.
class Placeholders {
 public:
  bool hold(int kid) {
    if (n_ == kMax) {
      return false;
    }
    ids_[n_++] = kid;
    return true;
  }
  void release() {
    for (int i = 0; i < n_; ++i) {
      raw_syscall(SYS_timer_delete, ids_[i]);
    }
    n_ = 0;
  }

 private:
  static constexpr int kMax = 64;
  int ids_[kMax];
  int n_ = 0;
};

// True when `kid` was the kernel id of another timer before the restart.
bool stale_id_of_another(int kid, int virt) {
  for (const auto& [v, t] : g_records) {
    if (v != virt && t.stale_real == kid) {
      return true;
    }
  }
  return false;
}

// Makes timer `virt` with a kernel id of the kernel's choice that no other
// timer of ours had before the restart: a thread frozen inside a wrapper
// between the translation and the system call passes the old id, which
// must then name nothing (EINVAL: the wrapper translates again) or the
// same timer, never another.  The kernel hands ids out in turn; one it
// gives that is another timer's old id is held by a placeholder (so a
// lowest-free allocator moves on too) and we ask again.
long create_avoiding_stale_ids(int virt, sigevent* sev, const PosixTimer& t,
                               int* kid, Placeholders* held) {
  for (;;) {
    long r = raw_syscall(SYS_timer_create,
                         kernel_clock(current_clock(t.clock)),
                         reinterpret_cast<long>(sev),
                         reinterpret_cast<long>(kid));
    if (r < 0 || !stale_id_of_another(*kid, virt)) {
      return r;
    }
    if (!held->hold(*kid)) {
      dmtcp_log("timer: POSIX timer %d: new id %d was another timer's", virt,
                *kid);
      return r;
    }
  }
}

}  // namespace

int create_posix_timer(clockid_t clock, const sigevent* evp, int* virt) {
  PosixTimer t;
  t.clock = describe_clock(clock);
  if (evp != nullptr) {
    t.notify = evp->sigev_notify;
    t.signo = evp->sigev_signo;
    t.value = evp->sigev_value;
    switch (t.notify) {
      case SIGEV_NONE:
      case SIGEV_SIGNAL:
        break;
      case SIGEV_THREAD_ID: {
        t.target_tid = evp->_sigev_un._tid;
        auto th = thread_by_program_tid(t.target_tid);
        if (th) {
          t.target = *th;
          t.target_known = true;
        }
        break;
      }
      case SIGEV_THREAD: {
        t.function = evp->sigev_notify_function;
        if (evp->sigev_notify_attributes != nullptr) {
          pthread_attr_getstacksize(evp->sigev_notify_attributes,
                                    &t.stack_size);
        }
        if (!start_sigev_helper()) {
          return -1;
        }
        break;
      }
      default:
        errno = EINVAL;
        return -1;
    }
  } else {
    // POSIX: SIGALRM with the timer's id as value.  The id is known only
    // once the kernel made the timer; the kernel fills it in itself when
    // given no event, and we give it none (restart passes it explicitly).
    t.notify = SIGEV_SIGNAL;
    t.signo = SIGALRM;
  }

  NoCkpt no_ckpt;
  int key = 0;
  if (t.notify == SIGEV_THREAD) {
    SpinGuard g(&g_lock);
    key = g_next_thread_key++;
    t.thread_key = key;
  }
  sigevent sev;
  if (!kernel_event(t, key, &sev)) {
    return -1;
  }
  int kid = 0;
  // The program's clock id names its owner by the program's ids.
  long r = raw_syscall(SYS_timer_create, kernel_clock(current_clock(t.clock)),
                       reinterpret_cast<long>(evp != nullptr ? &sev : nullptr),
                       reinterpret_cast<long>(&kid));
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  if (evp == nullptr) {
    t.value.sival_int = kid;  // what the kernel put in, for the restart
  }
  t.real = kid;
  {
    SpinGuard g(&g_lock);
    t.virt = unused_virtual_id(kid);
    g_ids.add(VirtTimer(t.virt), RealTimer(kid));
    g_records.insert_or_assign(t.virt, t);
  }
  *virt = t.virt;
  return 0;
}

std::optional<int> real_timer_id(int virt) {
  auto r = g_ids.to_real_lock_free(VirtTimer(virt));
  if (!r || r->value < 0) {
    return std::nullopt;
  }
  return r->value;
}

bool settime_flags_noted(int virt, int flags) {
  return (flags & TIMER_ABSTIME) == 0 &&
         absolute_count(virt).load(std::memory_order_relaxed) == 0;
}

void note_settime_flags(int virt, int flags) {
  SpinGuard g(&g_lock);
  auto it = g_records.find(virt);
  if (it == g_records.end()) {
    return;
  }
  bool absolute = (flags & TIMER_ABSTIME) != 0;
  if (it->second.absolute != absolute && absolute) {
    absolute_count(virt).fetch_add(1);
  } else if (it->second.absolute != absolute) {
    absolute_count(virt).fetch_sub(1);
  }
  it->second.absolute = absolute;
}

void forget_posix_timer(int virt) {
  SpinGuard g(&g_lock);
  auto it = g_records.find(virt);
  if (it != g_records.end() && it->second.absolute) {
    absolute_count(virt).fetch_sub(1);
  }
  g_ids.erase(VirtTimer(virt));
  g_records.erase(virt);
}

bool thread_job(int key, void (**fn)(sigval), sigval* value,
                size_t* stack_size) {
  SpinGuard g(&g_lock);
  for (auto& [v, t] : g_records) {
    if (t.notify == SIGEV_THREAD && t.thread_key == key) {
      *fn = t.function;
      *value = t.value;
      *stack_size = t.stack_size;
      return true;
    }
  }
  return false;
}

// For dmtcp_inspect (timer_notes.h): no allocation, the runtime copies.
static void add_note(const PosixTimer& t) {
  if (dmtcp_add_image_note == nullptr) {
    return;
  }
  auto ns = [](const timespec& ts) {
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  };
  PosixTimerNote n{};
  n.virt = t.virt;
  n.real = t.real;
  n.clock = t.clock.given;
  n.notify = t.notify;
  n.signo = t.signo;
  n.absolute = t.absolute ? 1 : 0;
  n.left_ns = ns(t.left.it_value);
  n.interval_ns = ns(t.left.it_interval);
  dmtcp_add_image_note(kNoteOwner, kNotePosixTimer, &n, sizeof n);
}

void save_posix_timers() {
  SpinGuard g(&g_lock);
  for (auto& [v, t] : g_records) {
    long r = raw_syscall(SYS_timer_gettime, t.real,
                         reinterpret_cast<long>(&t.left));
    t.alive = r == 0;
    if (!t.alive) {
      continue;
    }
    dmtcp_claim_posix_timer(t.real);
    resolve_clock_owner(&t.clock);
    t.expiry = {};
    if (t.absolute && is_wall_clock(t.clock.given) &&
        (t.left.it_value.tv_sec != 0 || t.left.it_value.tv_nsec != 0)) {
      timespec now;
      clock_gettime(t.clock.given, &now);
      t.expiry.tv_sec = now.tv_sec + t.left.it_value.tv_sec;
      t.expiry.tv_nsec = now.tv_nsec + t.left.it_value.tv_nsec;
      if (t.expiry.tv_nsec >= 1000000000L) {
        t.expiry.tv_nsec -= 1000000000L;
        ++t.expiry.tv_sec;
      }
    }
    add_note(t);
  }
}

void restore_posix_timers() {
  char want[8] = "";
  bool restore_ids = !(dmtcp_get_restart_env("DMTCP_TIMER_RESTORE_IDS", want,
                                             sizeof want) == 0 &&
                       strcmp(want, "0") == 0);
  if (restore_ids &&
      prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0,
            0) != 0) {
    restore_ids = false;  // an older kernel: the id table maps them
  }
  SpinGuard g(&g_lock);
  // Every old kernel id is stale: out of the way first, so that a new id
  // equal to another timer's old one never clashes in the table.
  for (auto& [v, t] : g_records) {
    t.stale_real = t.real;
    g_ids.update_real(VirtTimer(v), RealTimer(-1 - v));
  }
  Placeholders held;
  for (auto& [v, t] : g_records) {
    if (!t.alive) {
      continue;
    }
    sigevent sev;
    if (!kernel_event(t, t.thread_key, &sev)) {
      dmtcp_log("timer: POSIX timer %d: its thread is gone, not re-made", v);
      continue;
    }
    int kid = t.real;
    long r = -EBUSY;
    if (restore_ids) {
      r = raw_syscall(SYS_timer_create, kernel_clock(current_clock(t.clock)),
                      reinterpret_cast<long>(&sev),
                      reinterpret_cast<long>(&kid));
    }
    if (r == -EBUSY) {
      // No restored ids, or this one is taken (by whom?): an id of the
      // kernel's choice, which the table maps.
      if (restore_ids) {
        prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF,
              0, 0, 0);
      }
      r = create_avoiding_stale_ids(v, &sev, t, &kid, &held);
      if (restore_ids) {
        prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0,
              0, 0);
      }
    }
    if (r < 0) {
      dmtcp_log("timer: POSIX timer %d not re-made: error %ld", v, -r);
      continue;
    }
    t.real = kid;
    g_ids.update_real(VirtTimer(v), RealTimer(kid));
    if (t.left.it_value.tv_sec == 0 && t.left.it_value.tv_nsec == 0) {
      continue;  // disarmed
    }
    itimerspec its = t.left;
    int flags = 0;
    if (t.absolute && is_wall_clock(t.clock.given)) {
      its.it_value = t.expiry;
      flags = TIMER_ABSTIME;
    }
    r = raw_syscall(SYS_timer_settime, kid, flags,
                    reinterpret_cast<long>(&its), 0);
    if (r < 0) {
      dmtcp_log("timer: POSIX timer %d not re-armed: error %ld", v, -r);
    }
  }
  held.release();
  if (restore_ids) {
    prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0,
          0);
  }
}

void forget_posix_timers_after_fork() {
  g_lock = 0;
  g_ids.clear();
  g_records.clear();
  for (auto& n : g_absolute) {
    n.store(0);
  }
}

}  // namespace dmtcp::timer
