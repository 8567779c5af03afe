// dmtcp_inspect's views as JSON values, and as text made from those same
// values: every view exists in both forms, with the same fields.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "tools/inspect/image_view.h"

namespace dmtcp::inspect {

using Json = nlohmann::ordered_json;

// Which parts of an image to show (all by default).
struct Views {
  bool header = true;
  bool regions = true;
  bool threads = true;
  bool objects = true;
};

Json header_json(const ImageView& v);
Json region_json(const RegionView& r, uint32_t index);
Json image_json(const ImageView& v, const Views& views);
Json damage_json(const ImageView& v, const Damage& d);
// The differences between two images (header fields, regions, objects).
Json diff_json(const ImageView& a, const ImageView& b);
bool diff_empty(const Json& diff);

std::string image_text(const Json& image);
std::string verify_text(const Json& result);
std::string diff_text(const Json& diff);

// JSON text that survives any bytes from an image (bad UTF-8 replaced);
// indented, or on one line.
std::string dump(const Json& j);
std::string dump_line(const Json& j);
// "file fd fd=3 path=/tmp/x ...": an object on one line.
std::string object_text(const Json& o);

}  // namespace dmtcp::inspect
