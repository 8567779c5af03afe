// JSON and text views of an image.  See render.h.
#include "tools/inspect/render.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iterator>
#include <set>
#include <tuple>

#include "tools/inspect/decoders.h"

namespace dmtcp::inspect {
namespace {

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// A fixed-size string field of the header: up to its first NUL, never past
// its end (a damaged image need not terminate it).
template <size_t N>
std::string field(const char (&s)[N]) {
  return std::string(s, strnlen(s, N));
}

std::string iso_time(uint64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000ull);
  struct tm tm {};
  if (gmtime_r(&secs, &tm) == nullptr) {
    return "";
  }
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03uZ",
           static_cast<unsigned>((ns % 1000000000ull) / 1000000ull));
  return buf;
}

Json flag_names(uint32_t flags) {
  static const std::pair<uint32_t, const char*> kNames[] = {
      {image::kRegionPrivate, "private"},
      {image::kRegionShared, "shared"},
      {image::kRegionAnonymous, "anonymous"},
      {image::kRegionFile, "file"},
      {image::kRegionStack, "stack"},
      {image::kRegionHeap, "heap"},
      {image::kRegionGrowsDown, "grows-down"},
      {image::kRegionNoData, "no-data"},
      {image::kRegionFromFile, "from-file"},
      {image::kRegionSharedFile, "shared-file"},
      {image::kRegionSharedObject, "shared-object"},
  };
  Json out = Json::array();
  for (const auto& [bit, name] : kNames) {
    if ((flags & bit) != 0) {
      out.push_back(name);
    }
  }
  return out;
}

// "1.5 MiB" style sizes for the text tables.
std::string human(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    snprintf(buf, sizeof buf, "%" PRIu64 " B", bytes);
  } else {
    snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

std::string str(const Json& j) {
  if (j.is_string()) {
    return j.get<std::string>();
  }
  if (j.is_null()) {
    return "-";
  }
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// An argument as a shell would need it: as is when it is plain, else in
// single quotes.
std::string shell_quoted(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s) {
    if (!isalnum(static_cast<unsigned char>(c)) &&
        strchr("-_=./,:+@%", c) == nullptr) {
      plain = false;
    }
  }
  if (plain) {
    return s;
  }
  std::string out = "'";
  for (char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

// Page ranges [first, end) where two chunk lists differ: a chunk of one
// side that the other lacks (same pages, same checksum) marks its pages.
std::vector<std::pair<uint64_t, uint64_t>> differing_pages(
    const std::vector<ChunkRecord>& a, const std::vector<ChunkRecord>& b) {
  using Key = std::tuple<uint64_t, uint32_t, uint64_t>;
  auto keys = [](const std::vector<ChunkRecord>& v) {
    std::set<Key> s;
    for (const ChunkRecord& c : v) {
      s.emplace(c.page_offset, c.page_count, c.raw_checksum);
    }
    return s;
  };
  std::set<Key> ka = keys(a);
  std::set<Key> kb = keys(b);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const Key& k : ka) {
    if (kb.count(k) == 0) {
      ranges.emplace_back(std::get<0>(k), std::get<0>(k) + std::get<1>(k));
    }
  }
  for (const Key& k : kb) {
    if (ka.count(k) == 0) {
      ranges.emplace_back(std::get<0>(k), std::get<0>(k) + std::get<1>(k));
    }
  }
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

}  // namespace

std::string object_text(const Json& o) {
  std::string out = str(o["owner"]) + " " + str(o["kind"]);
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (it.key() == "owner" || it.key() == "kind") {
      continue;
    }
    out += " " + it.key() + "=" + str(it.value());
  }
  return out;
}

std::string dump(const Json& j) {
  return j.dump(2, ' ', false, Json::error_handler_t::replace);
}

std::string dump_line(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json header_json(const ImageView& v) {
  const image::FileHeader& h = v.header;
  Json j;
  j["program"] = field(h.progname);
  j["pid"] = h.vpid;
  j["real_pid"] = h.pid;
  j["ppid"] = h.vppid;
  j["real_ppid"] = h.ppid;
  j["pgid"] = h.vpgid;
  j["sid"] = h.vsid;
  j["uid"] = h.uid;
  j["host"] = field(h.hostname);
  j["computation_id"] = field(h.computation_id);
  j["unique_pid"] = field(h.unique_pid);
  j["parent_unique_pid"] = field(h.parent_unique_pid);
  j["generation"] = h.generation;
  j["processes"] = h.num_peers;
  j["time"] = iso_time(h.ckpt_time_ns);
  j["time_ns"] = h.ckpt_time_ns;
  j["format_version"] = h.format_version;
  {
    char id[40];
    snprintf(id, sizeof id, "%016llx%016llx",
             static_cast<unsigned long long>(h.image_id[0]),
             static_cast<unsigned long long>(h.image_id[1]));
    j["image_id"] = id;
    // The chain link (docs/incremental.md): what dmtcp_restart needs
    // besides this image.
    if ((h.flags & image::kHeaderIncremental) != 0) {
      snprintf(id, sizeof id, "%016llx%016llx",
               static_cast<unsigned long long>(h.parent_id[0]),
               static_cast<unsigned long long>(h.parent_id[1]));
      j["incremental"] = {{"parent_id", id},
                          {"parent_generation", h.parent_generation},
                          {"parent_path", field(h.parent_path)},
                          {"depth", h.chain_depth},
                          {"base_generation", h.chain_base_generation}};
    } else {
      j["incremental"] = Json();
    }
    j["incremental_mode"] = (h.flags & image::kHeaderIncrementalMode) != 0;
    j["incremental_full_every"] = h.incremental_full_every;
  }
  j["brk"] = hex(h.brk);
  j["start_brk"] = hex(h.start_brk);
  j["vdso"] = h.vdso_start == 0
                  ? Json()
                  : Json::array({hex(h.vdso_start), hex(h.vdso_end)});
  j["vvar"] = h.vvar_start == 0
                  ? Json()
                  : Json::array({hex(h.vvar_start), hex(h.vvar_end)});
  j["vvar_vclock"] =
      h.vvar_vclock_start == 0
          ? Json()
          : Json::array({hex(h.vvar_vclock_start), hex(h.vvar_vclock_end)});
  Json threads;
  decode_core_notes(v, &j, &threads);
  return j;
}

Json region_json(const RegionView& r, uint32_t index) {
  const image::RegionEntry& e = r.entry;
  Json j;
  j["index"] = index;
  j["start"] = hex(e.start);
  j["end"] = hex(e.end);
  j["size"] = e.end - e.start;
  j["perms"] = perms(e);
  j["backing"] = backing_kind(e);
  j["name"] = r.name;
  j["file_offset"] = e.file_offset;
  j["chunks"] = r.chunks.size();
  j["data_bytes"] = r.data_bytes;
  j["stored_bytes"] = r.stored_bytes;
  j["skipped_bytes"] = skipped_bytes(r);
  j["skipped_kind"] = skipped_kind(r);
  j["compression_ratio"] = r.stored_bytes == 0
                               ? Json()
                               : Json(static_cast<double>(r.data_bytes) /
                                      static_cast<double>(r.stored_bytes));
  j["flags"] = flag_names(e.flags);
  return j;
}

Json image_json(const ImageView& v, const Views& views) {
  Json j;
  j["image"] = v.path;
  j["file_size"] = v.file_size;
  if (views.header) {
    j["header"] = header_json(v);
  }
  uint64_t size = 0, data = 0, stored = 0;
  for (const RegionView& r : v.regions) {
    size += r.entry.end - r.entry.start;
    data += r.data_bytes;
    stored += r.stored_bytes;
  }
  if (views.regions) {
    Json regions = Json::array();
    for (uint32_t i = 0; i < v.regions.size(); ++i) {
      regions.push_back(region_json(v.regions[i], i));
    }
    j["regions"] = std::move(regions);
    Json t;
    t["regions"] = v.regions.size();
    t["chunks"] = v.chunk_count;
    t["mapped_bytes"] = size;
    t["data_bytes"] = data;
    t["stored_bytes"] = stored;
    t["compression_ratio"] =
        stored == 0
            ? Json()
            : Json(static_cast<double>(data) / static_cast<double>(stored));
    j["totals"] = std::move(t);
  }
  if (views.threads) {
    Json header;
    Json threads;
    decode_core_notes(v, &header, &threads);
    j["threads"] = std::move(threads);
  }
  if (views.objects) {
    j["objects"] = decode_objects(v);
  }
  return j;
}

Json damage_json(const ImageView& v, const Damage& d) {
  Json j;
  j["image"] = v.path;
  j["intact"] = false;
  j["error"] = d.message;
  j["where"] = d.where;
  j["region"] =
      d.region >= 0 && d.region < static_cast<int64_t>(v.regions.size())
          ? region_json(v.regions[static_cast<size_t>(d.region)],
                        static_cast<uint32_t>(d.region))
          : Json();
  j["after_region"] = d.after_region >= 0 ? Json(d.after_region) : Json();
  return j;
}

Json diff_json(const ImageView& a, const ImageView& b) {
  Json j;
  j["a"] = a.path;
  j["b"] = b.path;
  Json header = Json::array();
  Json ha = header_json(a);
  Json hb = header_json(b);
  for (auto it = ha.begin(); it != ha.end(); ++it) {
    if (hb[it.key()] != it.value()) {
      header.push_back(
          {{"field", it.key()}, {"a", it.value()}, {"b", hb[it.key()]}});
    }
  }
  j["header"] = std::move(header);

  Json regions = Json::array();
  size_t i = 0, k = 0;
  auto only = [&](const RegionView& r, uint32_t index, const char* side) {
    Json e = region_json(r, index);
    Json d;
    d["change"] = side;
    d["start"] = e["start"];
    d["end"] = e["end"];
    d["perms"] = e["perms"];
    d["name"] = e["name"];
    regions.push_back(std::move(d));
  };
  while (i < a.regions.size() || k < b.regions.size()) {
    if (k == b.regions.size() ||
        (i < a.regions.size() &&
         a.regions[i].entry.start < b.regions[k].entry.start)) {
      only(a.regions[i], static_cast<uint32_t>(i), "only in a");
      ++i;
      continue;
    }
    if (i == a.regions.size() ||
        b.regions[k].entry.start < a.regions[i].entry.start) {
      only(b.regions[k], static_cast<uint32_t>(k), "only in b");
      ++k;
      continue;
    }
    const RegionView& ra = a.regions[i];
    const RegionView& rb = b.regions[k];
    Json changes = Json::array();
    if (ra.entry.end != rb.entry.end) {
      changes.push_back({{"field", "end"},
                         {"a", hex(ra.entry.end)},
                         {"b", hex(rb.entry.end)}});
    }
    if (perms(ra.entry) != perms(rb.entry)) {
      changes.push_back(
          {{"field", "perms"}, {"a", perms(ra.entry)}, {"b", perms(rb.entry)}});
    }
    if (ra.name != rb.name) {
      changes.push_back({{"field", "name"}, {"a", ra.name}, {"b", rb.name}});
    }
    if (ra.entry.flags != rb.entry.flags) {
      changes.push_back({{"field", "flags"},
                         {"a", flag_names(ra.entry.flags)},
                         {"b", flag_names(rb.entry.flags)}});
    }
    if (ra.entry.file_offset != rb.entry.file_offset) {
      changes.push_back({{"field", "file_offset"},
                         {"a", ra.entry.file_offset},
                         {"b", rb.entry.file_offset}});
    }
    Json contents = Json::array();
    if (content_fingerprint(ra) != content_fingerprint(rb)) {
      for (const auto& [first, end] : differing_pages(ra.chunks, rb.chunks)) {
        contents.push_back(
            Json::array({hex(ra.entry.start + first * image::kPageSize),
                         hex(ra.entry.start + end * image::kPageSize)}));
      }
    }
    if (!changes.empty() || !contents.empty()) {
      Json d;
      d["change"] = "changed";
      d["start"] = hex(ra.entry.start);
      d["end"] = hex(ra.entry.end);
      d["perms"] = perms(ra.entry);
      d["name"] = ra.name;
      d["fields"] = std::move(changes);
      d["contents_differ"] = std::move(contents);
      d["data_bytes"] = Json::array({ra.data_bytes, rb.data_bytes});
      regions.push_back(std::move(d));
    }
    ++i;
    ++k;
  }
  j["regions"] = std::move(regions);

  // Objects: each compared whole (its JSON text); what one image has more
  // of than the other is listed.
  Json objects = Json::array();
  std::multiset<std::string> oa, ob;
  for (const Json& o : decode_objects(a)) {
    oa.insert(dump_line(o));
  }
  for (const Json& o : decode_objects(b)) {
    ob.insert(dump_line(o));
  }
  std::vector<std::string> only_a, only_b;
  std::set_difference(oa.begin(), oa.end(), ob.begin(), ob.end(),
                      std::back_inserter(only_a));
  std::set_difference(ob.begin(), ob.end(), oa.begin(), oa.end(),
                      std::back_inserter(only_b));
  for (const auto& [list, side] :
       {std::pair{&only_a, "only in a"}, std::pair{&only_b, "only in b"}}) {
    for (const std::string& o : *list) {
      objects.push_back({{"change", side}, {"object", Json::parse(o)}});
    }
  }
  j["objects"] = std::move(objects);
  return j;
}

bool diff_empty(const Json& diff) {
  for (const char* part : {"header", "regions", "objects"}) {
    if (diff.contains(part) && !diff[part].empty()) {
      return false;
    }
  }
  return true;
}

std::string image_text(const Json& img) {
  std::string out;
  char line[512];
  out += "image " + str(img["image"]) + " (" +
         human(img["file_size"].get<uint64_t>()) + ")\n";
  if (img.contains("header")) {
    const Json& h = img["header"];
    auto row = [&](const char* label, const std::string& value) {
      snprintf(line, sizeof line, "  %-16s %s\n", label, value.c_str());
      out += line;
    };
    row("program", str(h["program"]));
    if (h.contains("args")) {
      std::string args;
      for (const Json& a : h["args"]) {
        args += (args.empty() ? "" : " ") + shell_quoted(a.get<std::string>());
      }
      row("args", args);
    }
    row("pid", str(h["pid"]) + " (real " + str(h["real_pid"]) + ")");
    row("ppid", str(h["ppid"]) + " (real " + str(h["real_ppid"]) + ")");
    row("pgid / sid", str(h["pgid"]) + " / " + str(h["sid"]));
    row("uid", str(h["uid"]));
    row("host", str(h["host"]));
    row("computation", str(h["computation_id"]));
    row("unique pid",
        str(h["unique_pid"]) + " (parent " + str(h["parent_unique_pid"]) + ")");
    row("generation",
        str(h["generation"]) + " (" + str(h["processes"]) + " processes)");
    row("time", str(h["time"]));
    row("format version", str(h["format_version"]));
    if (h.contains("image_id")) {
      row("image id", str(h["image_id"]));
    }
    if (h.contains("incremental") && !h["incremental"].is_null()) {
      const Json& c = h["incremental"];
      row("chain", "incremental, depth " + str(c["depth"]) +
                       " (full image: generation " + str(c["base_generation"]) +
                       ")");
      row("predecessor", "generation " + str(c["parent_generation"]) +
                             ", identity " + str(c["parent_id"]) + ", " +
                             str(c["parent_path"]));
    } else if (h.contains("incremental_mode") &&
               h["incremental_mode"].get<bool>()) {
      row("chain", "full image of an incremental chain");
    }
    if (h.contains("plugins")) {
      std::string plugins;
      for (const Json& p : h["plugins"]) {
        plugins += (plugins.empty() ? "" : " ") + p.get<std::string>();
      }
      row("plugins", plugins.empty() ? "(none)" : plugins);
    }
    if (h.contains("cwd")) {
      row("cwd", str(h["cwd"]));
    }
    row("brk", str(h["start_brk"]) + " .. " + str(h["brk"]));
  }
  if (img.contains("threads")) {
    snprintf(line, sizeof line, "\n  threads: %zu\n", img["threads"].size());
    out += line;
    for (const Json& t : img["threads"]) {
      snprintf(line, sizeof line, "    tid %s (real %s) %s\n",
               str(t["tid"]).c_str(), str(t["real_tid"]).c_str(),
               str(t["role"]).c_str());
      out += line;
    }
  }
  if (img.contains("regions")) {
    snprintf(line, sizeof line,
             "\n  %4s %-33s %-4s %10s %10s %10s %-8s %6s  %s\n", "#", "range",
             "perm", "size", "stored", "skipped", "", "ratio", "backing");
    out += line;
    for (const Json& r : img["regions"]) {
      std::string range = str(r["start"]) + "-" + str(r["end"]);
      std::string ratio = r["compression_ratio"].is_null() ? "-" : [&] {
        char b[32];
        snprintf(b, sizeof b, "%.1fx", r["compression_ratio"].get<double>());
        return std::string(b);
      }();
      std::string backing = str(r["backing"]);
      if (!r["name"].get<std::string>().empty()) {
        backing += " " + r["name"].get<std::string>();
      }
      snprintf(line, sizeof line,
               "  %4s %-33s %-4s %10s %10s %10s %-8s %6s  %s\n",
               str(r["index"]).c_str(), range.c_str(), str(r["perms"]).c_str(),
               human(r["size"].get<uint64_t>()).c_str(),
               human(r["stored_bytes"].get<uint64_t>()).c_str(),
               human(r["skipped_bytes"].get<uint64_t>()).c_str(),
               str(r["skipped_kind"]).c_str(), ratio.c_str(), backing.c_str());
      out += line;
    }
    const Json& t = img["totals"];
    snprintf(line, sizeof line,
             "  %s regions, %s chunks: %s mapped, %s of data stored in %s\n",
             str(t["regions"]).c_str(), str(t["chunks"]).c_str(),
             human(t["mapped_bytes"].get<uint64_t>()).c_str(),
             human(t["data_bytes"].get<uint64_t>()).c_str(),
             human(t["stored_bytes"].get<uint64_t>()).c_str());
    out += line;
  }
  if (img.contains("objects")) {
    out += "\n  objects: " + std::to_string(img["objects"].size()) + "\n";
    for (const Json& o : img["objects"]) {
      out += "    " + object_text(o) + "\n";
    }
  }
  return out;
}

std::string verify_text(const Json& r) {
  if (r["intact"].get<bool>()) {
    return str(r["image"]) + ": intact (" + str(r["regions"]) + " regions, " +
           str(r["chunks"]) +
           " chunks; every checksum and the trailer "
           "verified)\n";
  }
  std::string out = str(r["image"]) + ": DAMAGED";
  const Json& reg = r["region"];
  std::string where = str(r["where"]);
  std::string after = r["after_region"].is_null()
                          ? ""
                          : " after region " + str(r["after_region"]);
  if (!reg.is_null()) {
    out += ", first bad region " + str(reg["index"]) + " [" +
           str(reg["start"]) + "-" + str(reg["end"]) + ") " +
           (reg["name"].get<std::string>().empty() ? str(reg["backing"])
                                                   : str(reg["name"]));
  } else if (where == "open") {
    out += ", not readable as an image";
  } else if (where == "truncated") {
    out += ", cut short" + after;
  } else if (where == "chunk") {
    out += ", in a chunk header" + after;
  } else {
    out += " in the " + where;
  }
  return out + ": " + str(r["error"]) + "\n";
}

std::string diff_text(const Json& d) {
  std::string out = "--- " + str(d["a"]) + "\n+++ " + str(d["b"]) + "\n";
  for (const Json& h : d["header"]) {
    out += "header " + str(h["field"]) + ": " + str(h["a"]) + " -> " +
           str(h["b"]) + "\n";
  }
  for (const Json& r : d["regions"]) {
    std::string where =
        "[" + str(r["start"]) + "-" + str(r["end"]) + ") " + str(r["perms"]);
    if (!r["name"].get<std::string>().empty()) {
      where += " " + str(r["name"]);
    }
    std::string change = str(r["change"]);
    if (change != "changed") {
      out += "region " + where + ": " + change + "\n";
      continue;
    }
    for (const Json& f : r["fields"]) {
      out += "region " + where + ": " + str(f["field"]) + " " + str(f["a"]) +
             " -> " + str(f["b"]) + "\n";
    }
    for (const Json& c : r["contents_differ"]) {
      out += "region " + where + ": contents differ in [" + str(c[0]) + "-" +
             str(c[1]) + ")\n";
    }
  }
  if (d.contains("objects")) {
    for (const Json& o : d["objects"]) {
      out +=
          "object " + object_text(o["object"]) + ": " + str(o["change"]) + "\n";
    }
  }
  return out;
}

}  // namespace dmtcp::inspect
