// Notes of the image being written.  See image_notes.h and dmtcp/inspect.h.
#include "runtime/image_notes.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/proc_maps.h"
#include "dmtcp/inspect.h"
#include "dmtcp/plugin.h"
#include "image/image_format.h"
#include "runtime/glibc_tcb.h"
#include "runtime/runtime.h"
#include "runtime/threads.h"

namespace dmtcp::image_notes {
namespace {

constexpr size_t kCap = DMTCP_NOTES_MAX_TOTAL;
constexpr int kMaxThreadNotes = 8192;
constexpr size_t kArgsCap = 128u << 10;
constexpr size_t kCwdCap = 4096;
// Work space for the core notes, after the notes in the same mapping (not
// in our .bss: that would be written into every image).
struct Work {
  char args[kArgsCap];
  char cwd[kCwdCap];
  pid_t tids[kMaxThreadNotes];
  image::ThreadNote threads[kMaxThreadNotes + 1];
};
constexpr size_t kMapBytes = (kCap + sizeof(Work) + 4095) & ~size_t{4095};

// Written by the checkpoint thread only (WRITE_CKPT hooks run there).
uint8_t* g_buf = nullptr;
uint32_t g_size = 0;
uint32_t g_count = 0;
bool g_open = false;

int append(const char* owner, uint32_t type, const void* data, size_t size) {
  if (owner == nullptr || (data == nullptr && size != 0)) {
    return -EINVAL;
  }
  size_t owner_len = strnlen(owner, DMTCP_NOTE_OWNER_MAX + 1);
  if (owner_len == 0 || owner_len > DMTCP_NOTE_OWNER_MAX) {
    return -EINVAL;
  }
  if (size > DMTCP_NOTE_MAX_SIZE) {
    return -E2BIG;
  }
  size_t padded =
      (size + image::kNoteAlign - 1) / image::kNoteAlign * image::kNoteAlign;
  if (g_buf == nullptr || kCap - g_size < sizeof(image::NoteHeader) + padded) {
    return -ENOSPC;
  }
  image::NoteHeader h{};
  memcpy(h.owner, owner, owner_len);
  h.type = type;
  h.size = static_cast<uint32_t>(size);
  memcpy(g_buf + g_size, &h, sizeof h);
  g_size += sizeof h;
  if (size != 0) {
    memcpy(g_buf + g_size, data, size);
  }
  memset(g_buf + g_size + size, 0, padded - size);
  g_size += static_cast<uint32_t>(padded);
  ++g_count;
  return 0;
}

// The runtime's own notes: what dmtcp_inspect shows beside the header.
void add_core_notes() {
  if (g_buf == nullptr) {
    return;
  }
  Work& w = *reinterpret_cast<Work*>(g_buf + kCap);
  long n = read_proc_file("/proc/self/cmdline", w.args, sizeof w.args);
  if (n > 0) {
    append("core", image::kCoreNoteArgs, w.args, static_cast<size_t>(n));
  }
  const char* preload = rt::g_config.preload;
  append("core", image::kCoreNotePlugins, preload,
         strnlen(preload, sizeof rt::g_config.preload));
  ssize_t len = readlink("/proc/self/cwd", w.cwd, sizeof w.cwd);
  if (len > 0) {
    append("core", image::kCoreNoteCwd, w.cwd, static_cast<size_t>(len));
  }
  pid_t* tids = w.tids;
  image::ThreadNote* notes = w.threads;
  pid_t pid = tcb::getpid_raw();
  int count = threads::list_tids(tids, kMaxThreadNotes);
  int k = 0;
  pid_t self = tcb::gettid_raw();
  notes[k++] = {self, dmtcp_real_to_virtual_pid(self),
                image::kThreadNoteCheckpoint, 0};
  for (int i = 0; i < count; ++i) {
    notes[k++] = {tids[i], dmtcp_real_to_virtual_pid(tids[i]),
                  tids[i] == pid ? image::kThreadNoteMain : 0u, 0};
  }
  append("core", image::kCoreNoteThreads, notes,
         sizeof(image::ThreadNote) * static_cast<size_t>(k));
}

}  // namespace

void prepare() {
  if (g_buf != nullptr) {
    return;
  }
  void* p = mmap(nullptr, kMapBytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  g_buf = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}

void open_round() {
  g_size = 0;
  g_count = 0;
  g_open = true;
}

void close_round() {
  if (g_open) {
    add_core_notes();
  }
  g_open = false;
}

int add(const char* owner, uint32_t type, const void* data, size_t size) {
  if (!g_open) {
    return -EPERM;
  }
  return append(owner, type, data, size);
}

const uint8_t* data() {
  return g_buf;
}
uint32_t size() {
  return g_size;
}
uint32_t count() {
  return g_count;
}

void scratch(void** base, size_t* len) {
  *base = g_buf;
  *len = g_buf != nullptr ? kMapBytes : 0;
}

void forget_after_restart() {
  g_buf = nullptr;
  g_size = 0;
  g_count = 0;
  g_open = false;
}

}  // namespace dmtcp::image_notes

extern "C" __attribute__((visibility("default"))) int dmtcp_add_image_note(
    const char* owner, uint32_t type, const void* data, size_t size) {
  int rc = dmtcp::image_notes::add(owner, type, data, size);
  if (rc != 0) {
    errno = -rc;
    return -1;
  }
  return 0;
}
