// What dmtcp_restart hands the restored runtime: the restorer copies this
// struct into the runtime's buffer (its address is in the image header)
// right before jumping into the checkpoint thread.
#pragma once

#include <cstdint>

namespace dmtcp {

inline constexpr uint32_t kRestartInfoMagic = 0x52535452;  // "RTSR"
inline constexpr uint32_t kRestartEnvMax = 32 * 1024;

struct RestartInfo {
  uint32_t magic;
  uint32_t size;         // sizeof(RestartInfo) as the sender built it
  int32_t coord_fd;      // connected, welcomed socket to the coordinator
  uint32_t client_id;
  uint64_t restorer_start;  // restorer code+stack: unmap after restart
  uint64_t restorer_len;
  int32_t coord_port;
  uint32_t interval;
  char coord_host[256];
  char ckpt_dir[1024];      // dmtcp_restart --ckptdir; empty = keep
  char computation_id[64];
  uint32_t env_len;         // bytes used in env
  uint32_t pad;
  char env[kRestartEnvMax];  // dmtcp_restart's environment, NAME=VALUE\0...
};

}  // namespace dmtcp
