// saved_files.h -- file contents kept with a checkpoint (saved_files.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "fd_table.h"

namespace dmtcp::file {

// Checkpoint (leader, DRAIN).
void save_deleted_contents(Desc* d);
bool ckpt_open_files_wanted();
void save_copy(Desc* d, uint32_t index, uint32_t generation);
// RESUME: drops copies of older generations once this one's image exists.
void forget_old_copies(uint32_t generation);

// Restart: where d's --ckpt-open-files copy is now (beside the image we
// were restarted from); false when it has none.
bool saved_copy_path(const Desc& d, char* out, size_t cap);

}  // namespace dmtcp::file
