// Writes this process's checkpoint image (checkpoint thread, user threads
// frozen): regions from /proc/self/maps, data pages through ImageWriter,
// temp file + fsync + rename so the previous image survives a crash.
#pragma once

#include <sys/types.h>

#include "image/image_writer.h"
#include "runtime/runtime.h"

namespace dmtcp::image_dump {

// Maps scratch buffers and prepares the writer; call before suspending.
int prepare(bool compress, bool direct_io);
// 0 or -errno; writes g_id.ckpt_filename.
int write_image();

// The same in three steps, for a forked writer (forked_writer.h): the
// checkpoint thread creates the temporary file and, once the writer (a
// copy of the process) has written it, renames it; a writer that dies
// therefore never leaves anything under the image's final name.
// `who` is the process the image describes: the writer's own getpid() and
// getppid() are not its.
struct Who {
  pid_t pid;
  pid_t ppid;
};
inline constexpr size_t kTempNameCap = sizeof rt::g_id.ckpt_filename + 32;
// Creates "<image>.tmp.<64 random bits>" (O_EXCL|O_NOFOLLOW, 0600) and
// puts its name in tmp; the fd or -errno.
int create_temp(char* tmp, size_t cap);
// Writes the image into fd, fsyncs and closes it.  0 or -errno (tmp is
// then removed).
int write_temp(int fd, const char* tmp, const Who& who);
// Renames a written tmp to image (g_id.ckpt_filename when the writer
// started) and fsyncs the directory.  0 or -errno (tmp is then removed).
int commit_temp(const char* tmp, const char* image);
const image::ImageWriter::Stats& last_stats();
// After a restart: the writer's memory came back empty.
void forget_after_restart();
// In the child of a fork (prepare() may have been half done in the
// parent when the program forked; see image_dump.cpp).
void after_fork_in_child();

}  // namespace dmtcp::image_dump
