// The application API (dmtcp.h) and the plugin utilities (dmtcp/plugin.h).
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "common/env.h"
#include "common/log.h"
#include "dmtcp.h"
#include "dmtcp/checkpoint_eintr.h"
#include "dmtcp/plugin.h"
#include "runtime/checkpoint_eintr.h"
#include "runtime/ckpt_lock.h"
#include "runtime/coord_client.h"
#include "runtime/events.h"
#include "runtime/futex.h"
#include "runtime/preload_env.h"
#include "runtime/runtime.h"
#include "runtime/threads.h"
#include "runtime/write_tracker.h"

namespace rt = dmtcp::rt;

namespace dmtcp::rt {
bool in_round();
}

namespace {

bool active() {
  return rt::g_enabled.load();
}

// A small allocator for hooks: power-of-two classes from mmap'd slabs, one
// futex lock.  Never touches malloc, so it works while a frozen user thread
// holds the malloc lock.
constexpr int kMinShift = 4;   // 16 bytes
constexpr int kMaxShift = 16;  // 64 KiB; larger requests get their own mmap
constexpr size_t kSlab = 1u << 20;

struct FreeBlock {
  FreeBlock* next;
};
struct BlockHeader {
  uint64_t size_class;  // shift, or 0 for a direct mapping
  uint64_t map_len;
};

// Protects: g_free, g_slab_cursor, g_slab_end.
dmtcp::SpinFutexLock g_alloc_lock;
FreeBlock* g_free[kMaxShift + 1];
char* g_slab_cursor = nullptr;
char* g_slab_end = nullptr;

void* alloc_small(int shift) {
  size_t block = size_t{1} << shift;
  g_alloc_lock.lock();
  FreeBlock* b = g_free[shift];
  if (b != nullptr) {
    g_free[shift] = b->next;
    g_alloc_lock.unlock();
    return b;
  }
  if (g_slab_cursor == nullptr ||
      static_cast<size_t>(g_slab_end - g_slab_cursor) < block) {
    void* p = mmap(nullptr, kSlab, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      g_alloc_lock.unlock();
      return nullptr;
    }
    g_slab_cursor = static_cast<char*>(p);
    g_slab_end = g_slab_cursor + kSlab;
  }
  void* r = g_slab_cursor;
  g_slab_cursor += block;
  g_alloc_lock.unlock();
  return r;
}

}  // namespace

extern "C" {

#define DMTCP_API __attribute__((visibility("default")))

DMTCP_API int(dmtcp_is_enabled)(void) {
  return active() ? 1 : 0;
}

DMTCP_API int(dmtcp_checkpoint)(void) {
  if (!active()) {
    return DMTCP_NOT_PRESENT;
  }
  if (dmtcp::ckpt_lock::held_shared() || dmtcp::threads::is_internal_thread()) {
    errno = EDEADLK;  // the checkpoint would wait for this very thread
    return -1;
  }
  uint32_t rounds = rt::g_rounds_done.load();
  uint32_t restarts = rt::g_num_restarts.load();
  char text[512];
  int status = dmtcp::coord::tool_command('c', 0, text, sizeof text);
  // This thread may be frozen while it waits for the reply; after a
  // restart its socket is gone and the call fails, but the round is done.
  if (status < 0 && rt::g_rounds_done.load() == rounds) {
    errno = ECONNREFUSED;
    return -1;
  }
  // status != 0 means a round is already running: it checkpoints us too.
  while (rt::g_rounds_done.load() == rounds) {
    dmtcp::futex_wait(&rt::g_rounds_done, rounds);
  }
  // A forked checkpoint lets the threads run before its image is on disk:
  // the caller hears back once it is (ckpt_thread.cpp wakes us).
  while (rt::in_round()) {
    uint32_t seen = rt::g_rounds_done.load();
    timespec ts{0, 50 * 1000 * 1000};
    dmtcp::futex_wait(&rt::g_rounds_done, seen, &ts);
  }
  return rt::g_num_restarts.load() != restarts ? DMTCP_AFTER_RESTART
                                               : DMTCP_AFTER_CHECKPOINT;
}

DMTCP_API int(dmtcp_disable_ckpt)(void) {
  if (active()) {
    dmtcp::ckpt_lock::lock_shared();
  }
  return 1;
}

DMTCP_API int(dmtcp_enable_ckpt)(void) {
  if (active()) {
    if (!dmtcp::ckpt_lock::held_shared()) {
      errno = EINVAL;
      return -1;
    }
    dmtcp::ckpt_lock::unlock_shared();
  }
  return 1;
}

DMTCP_API void dmtcp_plugin_disable_ckpt(void) {
  (dmtcp_disable_ckpt)();
}
DMTCP_API void dmtcp_plugin_enable_ckpt(void) {
  (dmtcp_enable_ckpt)();
}
DMTCP_API void dmtcp_prepare_wrappers(void) {}

DMTCP_API int(dmtcp_get_coordinator_status)(int* num_peers, int* is_running) {
  if (!active()) {
    return DMTCP_NOT_PRESENT;
  }
  dmtcp::proto::StatusPayload s{};
  if (dmtcp::coord::tool_status(&s) != 0) {
    return -1;
  }
  if (num_peers != nullptr) {
    *num_peers = static_cast<int>(s.num_processes);
  }
  if (is_running != nullptr) {
    *is_running = static_cast<int>(s.is_running);
  }
  return DMTCP_IS_PRESENT;
}

DMTCP_API int(dmtcp_get_local_status)(int* num_checkpoints, int* num_restarts) {
  if (!active()) {
    return DMTCP_NOT_PRESENT;
  }
  if (num_checkpoints != nullptr) {
    *num_checkpoints = static_cast<int>(rt::g_generation.load());
  }
  if (num_restarts != nullptr) {
    *num_restarts = static_cast<int>(rt::g_num_restarts.load());
  }
  return DMTCP_IS_PRESENT;
}

DMTCP_API int dmtcp_get_generation(void) {
  return static_cast<int>(rt::g_generation.load());
}
DMTCP_API const char*(dmtcp_get_ckpt_dir)(void) {
  return rt::g_config.ckpt_dir;
}
DMTCP_API int(dmtcp_set_ckpt_dir)(const char* dir) {
  if (dir == nullptr || strlen(dir) >= sizeof rt::g_config.ckpt_dir) {
    errno = EINVAL;
    return -1;
  }
  snprintf(rt::g_config.ckpt_dir, sizeof rt::g_config.ckpt_dir, "%s", dir);
  rt::update_ckpt_filename();
  return 0;
}
DMTCP_API const char* dmtcp_get_tmpdir(void) {
  return rt::g_config.tmpdir;
}
DMTCP_API const char*(dmtcp_get_ckpt_filename)(void) {
  return rt::g_id.ckpt_filename;
}
DMTCP_API const char*(dmtcp_get_uniquepid_str)(void) {
  return rt::g_id.unique_pid;
}
DMTCP_API const char* dmtcp_get_computation_id_str(void) {
  return rt::g_id.computation_id;
}
DMTCP_API int dmtcp_get_ckpt_signal(void) {
  return rt::g_config.ckpt_signal;
}

// Pid translation is the pid plugin's: it comes after us in the search
// order, so callers find these definitions first and we pass the call on.
// Looked up once at load (a dlsym miss during a checkpoint allocates).
// Without the plugin virtual and real pids are the same.
using PidTranslation = pid_t (*)(pid_t);
PidTranslation g_to_real = nullptr;
PidTranslation g_to_virtual = nullptr;

__attribute__((constructor)) static void find_pid_translation() {
  g_to_real = reinterpret_cast<PidTranslation>(
      dlsym(RTLD_NEXT, "dmtcp_virtual_to_real_pid"));
  g_to_virtual = reinterpret_cast<PidTranslation>(
      dlsym(RTLD_NEXT, "dmtcp_real_to_virtual_pid"));
}

DMTCP_API pid_t dmtcp_virtual_to_real_pid(pid_t pid) {
  return g_to_real != nullptr ? g_to_real(pid) : pid;
}
DMTCP_API pid_t dmtcp_real_to_virtual_pid(pid_t pid) {
  return g_to_virtual != nullptr ? g_to_virtual(pid) : pid;
}

DMTCP_API const char* dmtcp_getenv(const char* name) {
  return name != nullptr ? dmtcp::env_value(name) : nullptr;
}

DMTCP_API int dmtcp_get_restart_env(const char* name, char* value,
                                    size_t max_len) {
  const dmtcp::RestartInfo& info = rt::g_restart_info;
  if (name == nullptr || info.magic != dmtcp::kRestartInfoMagic) {
    return -1;
  }
  const char* v = dmtcp::preload_env::restart_env(info, name);
  if (v == nullptr || strlen(v) + 1 > max_len) {
    return -1;
  }
  memcpy(value, v, strlen(v) + 1);
  return 0;
}

DMTCP_API int dmtcp_get_restored_object_fd(uint64_t dev, uint64_t ino) {
  const dmtcp::RestartInfo& info = rt::g_restart_info;
  if (info.magic != dmtcp::kRestartInfoMagic) {
    return -1;
  }
  for (uint32_t i = 0; i < info.object_count && i < dmtcp::kRestartObjectsMax;
       ++i) {
    if (info.objects[i].dev == dev && info.objects[i].ino == ino) {
      return info.objects[i].fd;
    }
  }
  return -1;
}

DMTCP_API pid_t dmtcp_restored_thread_tid(pid_t old_tid) {
  return dmtcp::threads::restored_tid(old_tid);
}

DMTCP_API int dmtcp_is_protected_fd(int fd) {
  // The runtime's own fds, not the whole range they are put in: a program
  // with many files gets the free numbers there too.
  if (fd < 0) {
    return 0;
  }
  if (fd == rt::g_coord_fd) {
    return 1;
  }
  if (fd < rt::kProtectedFdBase || fd >= rt::kProtectedFdEnd) {
    return 0;  // ours are all in the range
  }
  if (dmtcp::events::is_exec_state_fd(fd) || dmtcp::coord::is_tool_fd(fd) ||
      dmtcp::write_tracker::is_own_fd(fd)) {
    return 1;
  }
  const dmtcp::RestartInfo& info = rt::g_restart_info;
  if (info.magic == dmtcp::kRestartInfoMagic) {
    for (uint32_t i = 0; i < info.object_count && i < dmtcp::kRestartObjectsMax;
         ++i) {
      if (info.objects[i].fd == fd) {
        return 1;
      }
    }
  }
  return 0;
}

DMTCP_API int dmtcp_send_key_val_pair_to_coordinator(const void* key,
                                                     size_t key_len,
                                                     const void* val,
                                                     size_t val_len) {
  if (!active() || !dmtcp::threads::is_internal_thread() || !rt::in_round()) {
    errno = EINVAL;  // only from an event hook during a round
    return -1;
  }
  return dmtcp::coord::publish(rt::g_coord_fd, key, key_len, val, val_len);
}

DMTCP_API int dmtcp_send_query_to_coordinator(const void* key, size_t key_len,
                                              void* val, size_t* val_len) {
  if (!active() || !dmtcp::threads::is_internal_thread() || !rt::in_round() ||
      val_len == nullptr) {
    errno = EINVAL;
    return -1;
  }
  return dmtcp::coord::query(rt::g_coord_fd, key, key_len, val, val_len);
}

// ---- DMTCP 3.x (dmtcp/plugin3.h). ----

DMTCP_API void dmtcp_register_plugin(DmtcpPluginDescriptor_t descr) {
  dmtcp::events::register_descriptor(descr);
}

DMTCP_API void dmtcp_initialize(void) {
  dmtcp_prepare_wrappers();
}

DMTCP_API void dmtcp_global_barrier(const char* name) {
  if (!active() || name == nullptr) {
    return;
  }
  if (rt::plugin_barrier(name) == 1) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      DMTCP_WARN(
          "dmtcp_global_barrier(\"%s\") outside a checkpoint or restart (or "
          "not from an event hook): it returns at once",
          name);
    }
  }
}

DMTCP_API void dmtcp_local_barrier(const char* name) {
  dmtcp_global_barrier(name);
}

DMTCP_API int dmtcp_kvdb_request(int op, const char* id, const void* key,
                                 size_t key_len, const void* val,
                                 size_t val_len, char** out, size_t* out_len) {
  if (!active()) {
    errno = ENOTCONN;
    return -1;
  }
  if (id == nullptr || (key == nullptr && key_len != 0) ||
      (val == nullptr && val_len != 0) || op < 0) {
    errno = EINVAL;
    return -1;
  }
  // The checkpoint thread's own connection only inside a round: while it
  // is idle a checkpoint order could come before the reply.
  int fd = -1;
  if (dmtcp::threads::is_internal_thread() && rt::in_round() &&
      rt::g_coord_fd >= 0) {
    fd = rt::g_coord_fd;
  }
  return dmtcp::coord::kvdb(fd, static_cast<uint32_t>(op), id, strlen(id),
                            key, key_len, val, val_len, out, out_len);
}

DMTCP_API int dmtcp_get_coordinator_local_addr(sockaddr* addr, socklen_t* len) {
  if (!active() || !dmtcp::threads::is_internal_thread() || !rt::in_round() ||
      addr == nullptr || len == nullptr) {
    errno = EINVAL;
    return -1;
  }
  if (rt::g_coord_fd < 0) {
    errno = ENOTCONN;
    return -1;
  }
  return getsockname(rt::g_coord_fd, addr, len) == 0 ? 0 : -1;
}

// dmtcp/checkpoint_eintr.h: the sleep wrappers' round counter, public.
DMTCP_API void dmtcp_wait_begin(DmtcpWait* w) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  w->start_ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  w->rounds = dmtcp::checkpoint_eintr::begin_wait();
}

DMTCP_API int dmtcp_wait_interrupted_by_checkpoint(const DmtcpWait* w,
                                                   int error,
                                                   int64_t* waited_ns) {
  if (!dmtcp::checkpoint_eintr::interrupted_by_checkpoint(error, w->rounds)) {
    return 0;
  }
  if (waited_ns != nullptr) {
    int64_t d = dmtcp::threads::last_checkpoint_signal_ns() - w->start_ns;
    *waited_ns = d > 0 ? d : 0;
  }
  return 1;
}

DMTCP_API int dmtcp_rounds_since(const DmtcpWait* w) {
  return active() && dmtcp::checkpoint_eintr::rounds_so_far() != w->rounds ? 1
                                                                           : 0;
}

DMTCP_API void* dmtcp_alloc(size_t size) {
  size_t need = size + sizeof(BlockHeader);
  int shift = kMinShift;
  while (shift <= kMaxShift && (size_t{1} << shift) < need) {
    ++shift;
  }
  BlockHeader* h;
  if (shift > kMaxShift) {
    size_t len = (need + 4095) & ~size_t{4095};
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      return nullptr;
    }
    h = static_cast<BlockHeader*>(p);
    h->size_class = 0;
    h->map_len = len;
  } else {
    h = static_cast<BlockHeader*>(alloc_small(shift));
    if (h == nullptr) {
      return nullptr;
    }
    h->size_class = static_cast<uint64_t>(shift);
    h->map_len = 0;
  }
  return h + 1;
}

DMTCP_API void dmtcp_free(void* ptr) {
  if (ptr == nullptr) {
    return;
  }
  BlockHeader* h = static_cast<BlockHeader*>(ptr) - 1;
  if (h->size_class == 0) {
    munmap(h, h->map_len);
    return;
  }
  auto* b = reinterpret_cast<FreeBlock*>(h);
  int shift = static_cast<int>(h->size_class);
  g_alloc_lock.lock();
  b->next = g_free[shift];
  g_free[shift] = b;
  g_alloc_lock.unlock();
}

DMTCP_API void dmtcp_log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dmtcp::log::vwrite_line(dmtcp::log::kInfo, __FILE__, __LINE__, fmt, ap);
  va_end(ap);
}

}  // extern "C"
