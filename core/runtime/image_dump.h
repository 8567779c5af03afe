// Writes this process's checkpoint image (checkpoint thread, user threads
// frozen): regions from /proc/self/maps, data pages through ImageWriter,
// temp file + fsync + rename so the previous image survives a crash.
#pragma once

#include "image/image_writer.h"

namespace dmtcp::image_dump {

// Maps scratch buffers and prepares the writer; call before suspending.
int prepare(bool compress);
// 0 or -errno; writes g_id.ckpt_filename.
int write_image();
const image::ImageWriter::Stats& last_stats();
// After a restart: the writer's memory came back empty.
void forget_after_restart();

}  // namespace dmtcp::image_dump
