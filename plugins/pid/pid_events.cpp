// pid_events.cpp -- the pid plugin's event hook: virtual pids and tids
// that stay the same across checkpoint and restart.
//
// libdmtcp_pid.so is last in LD_PRELOAD (closest to libc): every other
// layer, the core's callers included, sees virtual ids.  The core gets
// kernel ids through raw system calls (core/runtime/raw_syscall.h).
//
// Algorithm (C = the checkpoint thread):
//  1. INIT in a fresh process: virtual pid = real pid and the parent's pid
//     entered in the table as itself (it becomes a tombstone at restart if
//     it is not in the computation), unless a posix_spawn() parent left
//     both in DMTCP_PID_SPAWN (pid_spawn.cpp).  The main thread's virtual
//     tid is the virtual pid.
//     POST_EXEC instead reads back what PRE_EXEC wrote: exec keeps the pid,
//     so it keeps the virtual pid, the parent and the table.
//  2. fork (pid_wrappers.cpp + on_fork_child here): the parent closes the
//     fork gate (no thread inside the table), forks, and both sides call
//     register_process(child's real pid) on identical tables: virtual pid =
//     real pid, or, if that number is already a virtual pid (after a
//     restart), the next unused one above it.  The child forgets the
//     parent's threads and becomes its own main thread.
//  3. Threads: THREAD_START registers the new thread's virtual tid (its real
//     tid unless taken) in a fixed registry; PTHREAD_EXIT/RETURN frees it;
//     PRE_SUSPEND_USER_THREAD marks it seen and THREADS_SUSPEND frees the
//     slots of threads that vanished otherwise.
//  4. WRITE_CKPT (C, before the image is written): note the children that
//     have exited but are not reaped, with their status (pid_zombies.h);
//     RESUME drops the note (the kernel kept them).  The table of ids
//     goes into the image's notes for dmtcp_inspect (pid_notes.h).
//  5. RESTART (C, after the next hook): our real pid is new: update_real
//     for ourselves; every other live entry becomes a tombstone (-v) and is
//     remembered for step 7; every thread slot becomes "pending"; the
//     leaderless groups (pid_groups.h) are forgotten.  Each noted zombie
//     gets a stand-in child that ends the same way, and its virtual pid
//     maps to it.  dmtcp_restart has
//     rebuilt the sessions and groups led by restored processes
//     (tools/restart/sessions.h), so their ids are restored leaders' pids.
//  6. REGISTER_NAME_SERVICE_DATA (isRestart): publish "pid:<virtual>" ->
//     new real pid, and append our virtual pid to the computation's pid
//     list file (pid_restart_map.h).
//  7. SEND_QUERIES (isRestart): query every remembered virtual pid but
//     those of stand-ins; found
//     -> update_real; missing -> stays a tombstone, so kill() to it fails
//     with ESRCH instead of signalling whoever owns that number now (our
//     parent, if outside the computation, is erased instead: getppid()
//     then reports the kernel's parent).  Then query each pid in the list
//     file the table does not know (pids learned through a pipe, ...): the
//     answers, and the stand-ins of zombies the table did not know, form
//     the "extra" map wrappers consult after the table.
//     REFILL (isRestart): the list file is removed (all have read it),
//     and the note of zombies dropped.
//  8. RESUME_USER_THREAD (isRestart, each thread): store the thread's new
//     real tid in its slot.  tgkill() to a still-pending thread waits for
//     this (they all wake together, so only briefly).
// Nothing here allocates with malloc between THREADS_SUSPEND and
// THREADS_RESUME: the restart list comes from dmtcp_alloc.
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "dmtcp/plugin.h"
#include "pid_groups.h"
#include "pid_notes.h"
#include "pid_restart_map.h"
#include "pid_spawn.h"
#include "pid_state.h"
#include "pid_zombies.h"

namespace dmtcp::pid {
namespace {

constexpr uint32_t kExecMagic = 0x50494431;  // "PID1"

// Step 5 -> 7: the virtual pids to look up after a restart.
pid_t* g_restart_list = nullptr;
size_t g_restart_count = 0;
// Our parent's virtual pid before the restart (0: none known).
pid_t g_parent_before = 0;
uint32_t g_round = 0;
bool g_from_exec = false;

struct ExecHeader {
  uint32_t magic;
  pid_t self_virt;
  pid_t parent_virt;
  pid_t parent_real;
  uint32_t count;
};
struct ExecPair {
  pid_t virt;
  pid_t real;
};

void on_init() {
  if (g_from_exec) {
    return;
  }
  pid_t real = raw_getpid();
  pid_t ppid = raw_getppid();
  // A posix_spawn() parent of ours left our virtual pid and its own.
  pid_t virt = real;
  pid_t parent_virt = ppid;
  take_spawn_env(real, ppid, &virt, &parent_virt);
  table().add(VirtPid(virt), RealPid(real));
  if (ppid > 0 && parent_virt != virt) {
    table().add(VirtPid(parent_virt), RealPid(ppid));
    cache_parent(ppid, parent_virt);
  }
  register_this_thread(virt, raw_gettid());
  set_self(virt, real);
}

// Runs in the child before fork() returns (pthread_atfork), so the
// program's own atfork handlers already see the child's virtual pid.  The
// child is single-threaded and the parent closed the fork gate, so the
// table is used without TableAccess.
void on_fork_child() {
  if (!active()) {
    return;
  }
  pid_t parent_virt = self_virt();
  pid_t parent_real = self_real();
  pid_t real = raw_getpid();
  pid_t virt = register_process(real);
  set_self(virt, real);
  cache_parent(parent_real, parent_virt);
  reset_threads_in_child(virt, real);
  reset_fork_gate_in_child();
}

// Exec keeps the real pid, so the new image keeps our virtual ids.
void save_for_exec(int fd) {
  // A child made by clone(CLONE_VM) runs on our memory: it is not us, and
  // the new image starts afresh at INIT.
  if (fd < 0 || raw_getpid() != self_real()) {
    return;
  }
  ExecHeader h{};
  h.magic = kExecMagic;
  h.self_virt = self_virt();
  pid_t real_ppid = raw_getppid();
  auto vp = cached_parent_virt(real_ppid);
  h.parent_virt = vp ? *vp : pid_to_virt(real_ppid);
  h.parent_real = real_ppid;
  TableAccess access;
  h.count = static_cast<uint32_t>(table().size());
  if (write(fd, &h, sizeof h) != static_cast<ssize_t>(sizeof h)) {
    return;
  }
  table().for_each([fd](VirtPid v, RealPid r) {
    ExecPair p{v.value, r.value};
    if (write(fd, &p, sizeof p) != static_cast<ssize_t>(sizeof p)) {
      dmtcp_log("pid: cannot save pid %d for exec", v.value);
    }
  });
}

void restore_after_exec(int fd) {
  ExecHeader h{};
  if (fd < 0 || read(fd, &h, sizeof h) != static_cast<ssize_t>(sizeof h) ||
      h.magic != kExecMagic) {
    return;  // INIT treats us as a fresh process
  }
  for (uint32_t i = 0; i < h.count; ++i) {
    ExecPair p{};
    if (read(fd, &p, sizeof p) != static_cast<ssize_t>(sizeof p)) {
      break;
    }
    table().add(VirtPid(p.virt), RealPid(p.real));
  }
  pid_t real = raw_getpid();
  cache_parent(h.parent_real, h.parent_virt);
  register_this_thread(h.self_virt, raw_gettid());
  set_self(h.self_virt, real);
  g_from_exec = true;
}

// Step 5.
void on_restart() {
  pid_t real = raw_getpid();
  pid_t virt = self_virt();
  note_restart();
  g_parent_before = cached_parent_any().value_or(0);
  forget_parent_cache();
  forget_leaderless_groups();
  mark_threads_pending();
  size_t n = table().size();
  g_restart_list = static_cast<pid_t*>(dmtcp_alloc((n + 1) * sizeof(pid_t)));
  g_restart_count = 0;
  table().for_each([&](VirtPid v, RealPid r) {
    if (r.value > 0 && v.value != virt && g_restart_list != nullptr &&
        g_restart_count < n) {
      g_restart_list[g_restart_count++] = v.value;
    }
  });
  // Tombstones first, so that no stale real pid blocks a new one.
  for (size_t i = 0; i < g_restart_count; ++i) {
    table().update_real(VirtPid(g_restart_list[i]),
                        RealPid(-g_restart_list[i]));
  }
  table().update_real(VirtPid(virt), RealPid(-virt));
  table().update_real(VirtPid(virt), RealPid(real));
  set_self(virt, real);
  zombies::restore();
}

std::string_view key_for(pid_t virt, char* buf, size_t len) {
  int n = snprintf(buf, len, "pid:%d", virt);
  return std::string_view(buf, static_cast<size_t>(n));
}

// Step 6.
void publish_self() {
  char buf[32];
  std::string_view key = key_for(self_virt(), buf, sizeof buf);
  pid_t real = self_real();
  if (dmtcp_send_key_val_pair_to_coordinator(key.data(), key.size(), &real,
                                             sizeof real) != 1) {
    dmtcp_log("pid: cannot publish pid %d: %s", self_virt(), strerror(errno));
  }
  restart_map::append_self(self_virt());
}

std::optional<pid_t> query(pid_t virt) {
  char buf[32];
  std::string_view key = key_for(virt, buf, sizeof buf);
  pid_t real = 0;
  size_t len = sizeof real;
  int r = dmtcp_send_query_to_coordinator(key.data(), key.size(), &real, &len);
  if (r != 1 || len != sizeof real || real <= 0) {
    return std::nullopt;
  }
  return real;
}

// Step 7.
void query_others() {
  pid_t self = self_virt();
  for (size_t i = 0; i < g_restart_count; ++i) {
    pid_t virt = g_restart_list[i];
    if (zombies::has_stand_in(virt)) {
      continue;  // no process publishes it: it is our stand-in now
    }
    auto real = query(virt);
    if (!real) {
      // Gone, or never part of the computation: a tombstone.  Except our
      // parent when it is outside the computation: getppid() then reports
      // the kernel's (real) parent, which kill() must be able to reach.
      if (virt == g_parent_before) {
        table().erase(VirtPid(virt));
      }
      continue;
    }
    if (!table().update_real(VirtPid(virt), RealPid(*real))) {
      dmtcp_log("pid: pid %d now %d clashes with another entry", virt, *real);
    }
  }
  // The rest of the computation (pids learned outside our wrappers).
  size_t n = 0;
  pid_t* all = restart_map::read_all(&n);
  size_t stand_ins = zombies::count();
  auto* extra = static_cast<restart_map::Pair*>(
      dmtcp_alloc((n + stand_ins + 1) * sizeof(restart_map::Pair)));
  size_t extra_count = 0;
  if (extra != nullptr) {
    extra_count = zombies::stand_ins_outside_table(extra, stand_ins);
  }
  for (size_t i = 0; i < n && extra != nullptr; ++i) {
    pid_t virt = all[i];
    if (virt == self || table().to_real(VirtPid(virt)).has_value() ||
        zombies::has_stand_in(virt)) {
      continue;
    }
    if (auto real = query(virt)) {
      extra[extra_count++] = {virt, *real};
    }
  }
  restart_map::set_extra(extra, extra_count);
  if (all != nullptr) {
    dmtcp_free(all);
  }
  if (g_restart_list != nullptr) {
    dmtcp_free(g_restart_list);
  }
  g_restart_list = nullptr;
  g_restart_count = 0;
}

__attribute__((constructor)) void pid_plugin_load() {
  pthread_atfork(nullptr, nullptr, on_fork_child);
}

}  // namespace
}  // namespace dmtcp::pid

using namespace dmtcp::pid;

DMTCP_PID_EXPORT void dmtcp_event_hook(DmtcpEvent_t event,
                                       DmtcpEventData_t* data) {
  // Work on the way in (PRE_EXEC, POST_EXEC: the shared fd is read in
  // the order it was written) happens before passing the event on.
  switch (event) {
    case DMTCP_EVENT_PRE_EXEC:
      if (active()) {
        save_for_exec(data->serializerInfo.fd);
      }
      break;
    case DMTCP_EVENT_POST_EXEC:
      restore_after_exec(data->serializerInfo.fd);
      break;
    case DMTCP_EVENT_WAIT_FOR_SUSPEND_MSG:
      ++g_round;
      break;
    case DMTCP_EVENT_PRE_SUSPEND_USER_THREAD:
      mark_this_thread_seen(g_round);
      break;
    case DMTCP_EVENT_THREADS_SUSPEND:
      drop_threads_not_seen(g_round);
      break;
    case DMTCP_EVENT_WRITE_CKPT:
      if (active()) {
        zombies::record();
        add_notes();  // for dmtcp_inspect (pid_notes.h)
      }
      break;
    default:
      break;
  }
  DMTCP_NEXT_EVENT_HOOK(event, data);
  // Work on the way out happens after (we are the innermost layer, so this
  // is first in effect anyway).
  switch (event) {
    case DMTCP_EVENT_INIT:
      on_init();
      break;
    case DMTCP_EVENT_THREAD_START:
      if (active()) {
        TableAccess access;
        register_new_thread();
      }
      break;
    case DMTCP_EVENT_PTHREAD_EXIT:
    case DMTCP_EVENT_PTHREAD_RETURN:
      unregister_this_thread();
      break;
    case DMTCP_EVENT_RESUME:
      zombies::forget();
      break;
    case DMTCP_EVENT_RESTART:
      if (active()) {
        on_restart();
      }
      break;
    case DMTCP_EVENT_REGISTER_NAME_SERVICE_DATA:
      if (active() && data != nullptr && data->nameserviceInfo.isRestart) {
        publish_self();
      }
      break;
    case DMTCP_EVENT_SEND_QUERIES:
      if (active() && data != nullptr && data->nameserviceInfo.isRestart) {
        query_others();
      }
      break;
    case DMTCP_EVENT_REFILL:
      if (active() && data != nullptr && data->refillInfo.isRestart) {
        restart_map::remove_file();
        zombies::forget();  // the stand-ins are in the table now
      }
      break;
    case DMTCP_EVENT_RESUME_USER_THREAD:
      if (active() && data != nullptr && data->resumeUserThreadInfo.isRestart) {
        refresh_this_thread_real();
      }
      break;
    default:
      break;
  }
}
