// file_util.h -- small helpers shared by the file plugin's parts.
#pragma once

#include <dirent.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>

#include "dmtcp/fd_share.h"

namespace dmtcp::file {

// The shared fd facilities (dmtcp/fd_share.h), by their short names.
using share::for_each_dir_entry;
using share::park_fd;
using share::raw_fcntl_ptr;
using share::raw_getpid;
using share::read_fd_link;

// write() all of it (EINTR and short writes), false on error.
bool write_all(int fd, const void* data, size_t len);
// The same with pwrite() from `offset`.
bool pwrite_all(int fd, const void* data, size_t len, off_t offset);

// Copies all of src (from its start, whatever its offset) to dst at dst's
// offset: copy_file_range, or reads and writes where that is refused.
bool copy_fd_to(int src, int dst);

}  // namespace dmtcp::file
