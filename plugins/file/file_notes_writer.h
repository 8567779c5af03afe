// file_notes_writer.h -- WRITE_CKPT: one image note per fd (file_notes.h).
#pragma once

#include "fd_table.h"

namespace dmtcp::file {

void add_notes(const Table& t);

}  // namespace dmtcp::file
