// The notes of the image being written (dmtcp/inspect.h): filled during
// WRITE_CKPT by plugins (dmtcp_add_image_note) and by the runtime itself
// (owner "core": arguments, plugins, threads, cwd: CoreNote in
// image/image_format.h), then handed to the image writer.  Lives in mmap'd
// scratch: never malloc, and the scratch is left out of the image (image_dump's
// list of its own memory).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dmtcp::image_notes {

// Before the round (may map memory).
void prepare();
// WRITE_CKPT is about to be fired: start empty and accept notes.
void open_round();
// Adds the runtime's notes and stops accepting any (before the image is
// written).
void close_round();
// 0 or -errno (EPERM outside WRITE_CKPT, EINVAL, E2BIG, ENOSPC).
int add(const char* owner, uint32_t type, const void* data, size_t size);

const uint8_t* data();
uint32_t size();
uint32_t count();
// The scratch mapping, for image_dump to leave out of the image and to
// unmap after a restart (with its own scratch).
void scratch(void** base, size_t* len);
// After a restart, once image_dump unmapped the scratch: forget it.
void forget_after_restart();

}  // namespace dmtcp::image_notes
