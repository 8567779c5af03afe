// The decoders dmtcp_inspect knows: the runtime's own notes (owner "core":
// arguments, plugins, threads, cwd), the internal plugins' decoders linked
// in, and libraries given with --decoder (dmtcp/inspect.h).
#pragma once

#include <string>
#include <vector>

#include "tools/inspect/image_view.h"
#include "tools/inspect/render.h"

namespace dmtcp::inspect {

// dlopens path and adds the decoders it exports.  False with *error.
bool add_decoder_library(const std::string& path, std::string* error);

// The runtime's notes, decoded: "args", "plugins", "cwd" (into the
// header) and "threads" (an array).  Fields whose note is missing are
// left out.
void decode_core_notes(const ImageView& v, Json* header, Json* threads);

// Every other note, through its owner's decoder: an array of objects
// {"owner", "kind", fields...}.  A note without a decoder, or one its
// decoder refuses, is an object of kind "note" with its type and size.
Json decode_objects(const ImageView& v);

}  // namespace dmtcp::inspect
