// What dmtcp_restart hands the restored runtime: the restorer copies this
// struct into the runtime's buffer (its address is in the image header)
// right before jumping into the checkpoint thread.
#pragma once

#include <cstdint>

namespace dmtcp {

inline constexpr uint32_t kRestartInfoMagic = 0x52535452;  // "RTSR"
inline constexpr uint32_t kRestartEnvMax = 32 * 1024;
inline constexpr uint32_t kRestartObjectsMax = 16;

// A shared memory object (memfd, deleted file, shared anonymous memory)
// dmtcp_restart made again and mapped into this process: dev/ino are the
// object's identity at checkpoint time (RegionEntry::object_dev/ino), fd a
// descriptor of the new object in the protected range, open while RESTART
// runs so the file plugin can give the program's fd for the same object
// the same new object (dmtcp_get_restored_object_fd).
struct RestoredObject {
  uint64_t dev;
  uint64_t ino;
  int32_t fd;
  uint32_t pad;
};

struct RestartInfo {
  uint32_t magic;
  uint32_t size;     // sizeof(RestartInfo) as the sender built it
  int32_t coord_fd;  // connected, welcomed socket to the coordinator
  uint32_t client_id;
  uint64_t restorer_start;  // restorer code+stack: unmap after restart
  uint64_t restorer_len;
  int32_t coord_port;
  uint32_t interval;
  char coord_host[256];
  char ckpt_dir[1024];  // dmtcp_restart --ckptdir; empty = keep
  char computation_id[64];
  uint32_t object_count;
  uint32_t pad2;
  RestoredObject objects[kRestartObjectsMax];
  uint32_t env_len;  // bytes used in env
  uint32_t pad;
  char env[kRestartEnvMax];  // dmtcp_restart's environment, NAME=VALUE\0...
  // Lazy restart (docs/lazy-restart.md): read end of a pipe the helper
  // process writes '1' to and closes once every page is in (EOF alone: it
  // died first).  In the protected range, close-on-exec; -1: not lazy.
  int32_t lazy_fd;
  uint32_t pad3;
};

}  // namespace dmtcp
