// pid_spawn.cpp -- children made without our fork(): posix_spawn(),
// posix_spawnp() and clone() (without CLONE_THREAD).
//
// posix_spawn: glibc clones and execs internally, past the core's fork and
// exec wrappers; the child joins the computation at its INIT as a fresh
// process.  Three things must match between parent and child, so the
// wrapper gives the child's environment:
//  1. DMTCP_PARENT_UNIQUE_PID = our unique pid: the image's parent link,
//     which makes the child a child of ours again at restart (the value in
//     our own environment names *our* parent);
//  2. DMTCP_PID_SPAWN = "<our virtual pid> <our real pid> <v>...": the
//     child's getppid() is our virtual pid even after a restart, and the
//     <v>s are every virtual pid in our table, so the child picks its
//     virtual pid with the same search register_process() makes here
//     (its real pid unless taken).  The fork gate is closed from the list
//     to the registration, so the list is the table we register in.
// clone() without CLONE_THREAD: as fork().  The parent registers the
// child; the child gets its own ids before the caller's function runs (as
// on_fork_child) and the parent link of 1. for an exec.  CLONE_VM is
// dropped: a child sharing our memory and thread-local storage would take
// the checkpoint lock in our memory when it execs and never give it back
// (the core runs vfork() as fork() for the same reason).
// system() and popen() spawn through glibc's internal posix_spawn, past
// this wrapper: their children get neither (docs/pid.md).
#include "pid_spawn.h"

#include <dlfcn.h>
#include <sched.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dmtcp/plugin.h"
#include "pid_groups.h"
#include "pid_state.h"

using namespace dmtcp::pid;

namespace {

constexpr char kSpawnEnv[] = "DMTCP_PID_SPAWN";
constexpr char kParentEnv[] = "DMTCP_PARENT_UNIQUE_PID";
// An environment string may not exceed 128 KiB (MAX_ARG_STRLEN): with more
// virtual pids than this the list is left out, and the child takes its
// real pid (a collision is then logged).
constexpr size_t kMaxTaken = 8192;

// The next clone(), resolved when we load: the core calls clone() when it
// recreates threads at restart, where a lazy dlsym() could wait for a lock
// held by a frozen thread.
using CloneFn = int (*)(int (*)(void*), void*, int, void*, ...);
CloneFn g_clone = nullptr;

CloneFn next_clone() {
  if (g_clone == nullptr) {  // called before our constructor ran
    g_clone = reinterpret_cast<CloneFn>(dlsym(RTLD_NEXT, "clone"));
  }
  return g_clone;
}

__attribute__((constructor)) void resolve_next_clone() {
  next_clone();
}

bool has_name(const char* entry, const char* name) {
  size_t n = strlen(name);
  return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

// envp without our variables, plus DMTCP_PARENT_UNIQUE_PID and
// DMTCP_PID_SPAWN.  Caller holds the closed fork gate (the table is
// still).  nullptr when envp is nullptr or memory is short: the child
// then gets envp as it is.
char** spawn_env(char* const* envp) {
  if (envp == nullptr) {
    return nullptr;
  }
  size_t n = 0;
  while (envp[n] != nullptr) {
    ++n;
  }
  size_t taken = table().size();
  bool with_list = taken <= kMaxTaken;
  size_t spawn_len = sizeof kSpawnEnv + 24 + (with_list ? taken * 12 : 0);
  const char* upid = dmtcp_get_uniquepid_str();
  size_t parent_len = sizeof kParentEnv + strlen(upid) + 1;
  // One block: the array, then the two strings.
  size_t array_len = (n + 3) * sizeof(char*);
  auto* env = static_cast<char**>(malloc(array_len + spawn_len + parent_len));
  if (env == nullptr) {
    return nullptr;
  }
  char* spawn_var = reinterpret_cast<char*>(env) + array_len;
  char* parent_var = spawn_var + spawn_len;
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!has_name(envp[i], kSpawnEnv) && !has_name(envp[i], kParentEnv)) {
      env[k++] = envp[i];
    }
  }
  snprintf(parent_var, parent_len, "%s=%s", kParentEnv, upid);
  size_t used = static_cast<size_t>(snprintf(
      spawn_var, spawn_len, "%s=%d %d", kSpawnEnv, self_virt(), self_real()));
  if (with_list) {
    table().for_each([&](dmtcp::VirtPid v, dmtcp::RealPid) {
      if (used + 12 < spawn_len) {  // room for " -2147483648"
        used += static_cast<size_t>(
            snprintf(spawn_var + used, spawn_len - used, " %d", v.value));
      }
    });
  }
  env[k++] = parent_var;
  env[k++] = spawn_var;
  env[k] = nullptr;
  return env;
}

// Runs `spawn` (posix_spawn or posix_spawnp) with the child's environment
// and the real id of the group it is to join (POSIX_SPAWN_SETPGROUP; glibc
// calls setpgid() in the child past our wrapper), and registers the child.
// No checkpoint in between: a process frozen with the fork gate closed
// would block the checkpoint's own lookups.
template <class Spawn>
int spawn_and_register(pid_t* pid, const posix_spawnattr_t* attr,
                       char* const* envp, Spawn spawn) {
  posix_spawnattr_t real_attr;
  short flags = 0;
  pid_t pgroup = 0;
  if (attr != nullptr && posix_spawnattr_getflags(attr, &flags) == 0 &&
      (flags & POSIX_SPAWN_SETPGROUP) != 0 &&
      posix_spawnattr_getpgroup(attr, &pgroup) == 0 && pgroup > 0) {
    auto real = pgid_to_real(pgroup);
    if (!real) {
      return EPERM;  // what setpgid() in the child would have reported
    }
    real_attr = *attr;  // a plain struct in glibc
    posix_spawnattr_setpgroup(&real_attr, *real);
    attr = &real_attr;
  }
  DMTCP_PLUGIN_DISABLE_CKPT();
  close_fork_gate();
  char** env = spawn_env(envp);
  bool listed = env != nullptr && table().size() <= kMaxTaken;
  pid_t real = 0;
  int rc = spawn(&real, attr, env != nullptr ? env : envp);
  pid_t virt = rc == 0 ? register_process(real) : 0;
  if (rc == 0 && virt != real && !listed) {
    dmtcp_log("pid: spawned child %d sees itself as %d, we call it %d", real,
              real, virt);
  }
  open_fork_gate();
  DMTCP_PLUGIN_ENABLE_CKPT();
  free(env);
  if (rc == 0 && pid != nullptr) {
    *pid = virt;
  }
  return rc;
}

// clone() without CLONE_VM: the child's side of a fork, then the caller's
// function.  The struct lives in the parent's frame; the child reads its
// own copy of it.
struct CloneCall {
  int (*fn)(void*);
  void* arg;
  pid_t parent_virt;
  pid_t parent_real;
};

int clone_child(void* p) {
  auto* call = static_cast<CloneCall*>(p);
  pid_t real = raw_getpid();
  pid_t virt = register_process(real);
  set_self(virt, real);
  cache_parent(call->parent_real, call->parent_virt);
  reset_threads_in_child(virt, real);
  reset_fork_gate_in_child();
  // If it execs, the new image is a child of ours in the restart tree.
  setenv(kParentEnv, dmtcp_get_uniquepid_str(), 1);
  return call->fn(call->arg);
}

}  // namespace

namespace dmtcp::pid {

bool take_spawn_env(pid_t real, pid_t real_ppid, pid_t* virt,
                    pid_t* parent_virt) {
  const char* s = dmtcp_getenv(kSpawnEnv);
  if (s == nullptr) {
    return false;
  }
  char* end = nullptr;
  long pv = strtol(s, &end, 10);
  long pr = strtol(end, &end, 10);
  const char* list = end;
  bool ours = pv > 0 && pr == real_ppid;
  if (ours) {
    *parent_virt = static_cast<pid_t>(pv);
    // The parent's search, on the parent's list: real unless taken.
    pid_t v = real;
    for (bool taken = true; taken;) {
      taken = false;
      for (const char* p = list; *p != '\0';) {
        long x = strtol(p, &end, 10);
        if (end == p) {
          break;
        }
        p = end;
        if (x == v) {
          v = next_candidate(v);
          taken = true;
          break;
        }
      }
    }
    *virt = v;
  }
  unsetenv(kSpawnEnv);  // not for our own children
  return ours;
}

}  // namespace dmtcp::pid

DMTCP_PID_EXPORT int posix_spawn(pid_t* pid, const char* path,
                                 const posix_spawn_file_actions_t* actions,
                                 const posix_spawnattr_t* attr,
                                 char* const argv[], char* const envp[]) {
  if (pass()) {
    return NEXT_FNC(posix_spawn)(pid, path, actions, attr, argv, envp);
  }
  return spawn_and_register(
      pid, attr, envp,
      [&](pid_t* real, const posix_spawnattr_t* a, char* const* env) {
        return NEXT_FNC(posix_spawn)(real, path, actions, a, argv, env);
      });
}

DMTCP_PID_EXPORT int posix_spawnp(pid_t* pid, const char* file,
                                  const posix_spawn_file_actions_t* actions,
                                  const posix_spawnattr_t* attr,
                                  char* const argv[], char* const envp[]) {
  if (pass()) {
    return NEXT_FNC(posix_spawnp)(pid, file, actions, attr, argv, envp);
  }
  return spawn_and_register(
      pid, attr, envp,
      [&](pid_t* real, const posix_spawnattr_t* a, char* const* env) {
        return NEXT_FNC(posix_spawnp)(real, file, actions, a, argv, env);
      });
}

// glibc's clone(fn, stack, flags, arg, [parent_tid, tls, child_tid]).
DMTCP_PID_EXPORT int clone(int (*fn)(void*), void* stack, int flags, void* arg,
                           ...) {
  va_list ap;
  va_start(ap, arg);
  void* parent_tid = va_arg(ap, void*);
  void* tls = va_arg(ap, void*);
  void* child_tid = va_arg(ap, void*);
  va_end(ap);
  if (pass() || (flags & CLONE_THREAD) != 0) {
    return next_clone()(fn, stack, flags, arg, parent_tid, tls, child_tid);
  }
  // A child on our memory (and thread-local storage) would take the
  // checkpoint lock in our memory when it execs and never give it back:
  // run it on a copy, as the core runs vfork() as fork().  CLONE_SIGHAND
  // needs CLONE_VM; CLONE_VFORK still makes us wait for its exec.
  flags &= ~(CLONE_VM | CLONE_SIGHAND);
  CloneCall call{fn, arg, self_virt(), self_real()};
  DMTCP_PLUGIN_DISABLE_CKPT();
  close_fork_gate();
  int real = next_clone()(clone_child, stack, flags, &call, parent_tid, tls,
                          child_tid);
  ErrnoKeeper keep;
  int result = real > 0 ? register_process(real) : real;
  open_fork_gate();
  DMTCP_PLUGIN_ENABLE_CKPT();
  return result;
}
