// See chain.h and docs/incremental.md.
#include "tools/restart/chain.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

namespace dmtcp::restart {
namespace {

using image::FileHeader;
using image::ImageReader;
using image::RegionEntry;

// newest image's reader -> its predecessors, newest first.
std::map<const ImageReader*, std::vector<std::unique_ptr<ImageReader>>>
    g_chains;

std::string field(const char* p, size_t cap) {
  return std::string(p, strnlen(p, cap));
}

std::string id_str(const uint64_t id[2]) {
  char buf[40];
  snprintf(buf, sizeof buf, "%016" PRIx64 "%016" PRIx64, id[0], id[1]);
  return buf;
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Whether h is the predecessor `child` names.
bool is_link(const FileHeader& child, const FileHeader& h) {
  return memcmp(h.image_id, child.parent_id, sizeof h.image_id) == 0 &&
         h.generation == child.parent_generation &&
         h.chain_depth + 1 == child.chain_depth &&
         h.chain_base_generation == child.chain_base_generation &&
         h.uid == child.uid &&
         field(h.unique_pid, sizeof h.unique_pid) ==
             field(child.unique_pid, sizeof child.unique_pid) &&
         field(h.computation_id, sizeof h.computation_id) ==
             field(child.computation_id, sizeof child.computation_id);
}

// Opens the predecessor of child (at child_path); nullptr with *error.
std::unique_ptr<ImageReader> open_link(const ImageReader& child,
                                       std::string* error) {
  const FileHeader& c = child.header();
  std::string recorded = field(c.parent_path, sizeof c.parent_path);
  std::string base = recorded.substr(recorded.rfind('/') + 1);
  std::vector<std::string> where = {dir_of(child.path()) + "/" + base};
  if (recorded != where[0]) {
    where.push_back(recorded);
  }
  std::string mismatch;
  std::string damaged;
  for (const std::string& path : where) {
    if (access(path.c_str(), F_OK) != 0) {
      continue;
    }
    auto r = std::make_unique<ImageReader>();
    std::string why;
    bool ok = r->open(path, &why);
    if (!r->header_checked()) {
      damaged = why;
      continue;
    }
    const FileHeader& h = r->header();
    if (!is_link(c, h)) {
      mismatch = path + " is generation " + std::to_string(h.generation) +
                 " of " + field(h.unique_pid, sizeof h.unique_pid) +
                 ", identity " + id_str(h.image_id);
      continue;
    }
    if (!ok) {
      damaged = why;
      continue;
    }
    return r;
  }
  std::string want = "its predecessor (generation " +
                     std::to_string(c.parent_generation) + ", identity " +
                     id_str(c.parent_id) + ")";
  if (!mismatch.empty()) {
    *error = child.path() + ": " + want + " does not match: " + mismatch +
             " (mismatched incremental chain)";
  } else if (!damaged.empty()) {
    *error = child.path() + ": " + want + " is unreadable: " + damaged;
  } else {
    *error = child.path() + ": " + want + " is missing: no " + where[0] +
             (where.size() > 1 ? " nor " + where[1] : std::string()) +
             " (incomplete incremental chain)";
  }
  return nullptr;
}

}  // namespace

bool open_chain(const ImageReader& newest, std::string* error) {
  std::vector<std::unique_ptr<ImageReader>> chain;
  const ImageReader* child = &newest;
  // Depths strictly decrease down the chain (is_link), so this ends.
  while ((child->header().flags & image::kHeaderIncremental) != 0) {
    std::unique_ptr<ImageReader> parent = open_link(*child, error);
    if (parent == nullptr) {
      return false;
    }
    chain.push_back(std::move(parent));
    child = chain.back().get();
  }
  if (!chain.empty()) {
    g_chains[&newest] = std::move(chain);
  }
  return true;
}

bool read_chain(const ImageReader& newest, const std::vector<uint64_t>& staged,
                std::string* error) {
  auto found = g_chains.find(&newest);
  if (found == g_chains.end()) {
    return true;
  }
  std::vector<std::unique_ptr<ImageReader>>& chain = found->second;
  // where[k][r]: the newest image's region that region r of chain[k]
  // fills, or -1.  Worked out from the newest image down.
  constexpr int64_t kNone = -1;
  std::vector<std::vector<int64_t>> where(chain.size());
  std::vector<int64_t> above(newest.regions().size());
  for (size_t r = 0; r < above.size(); ++r) {
    above[r] = static_cast<int64_t>(r);
  }
  const ImageReader* child = &newest;
  for (size_t k = 0; k < chain.size(); ++k) {
    const std::vector<RegionEntry>& mine = chain[k]->regions();
    where[k].assign(mine.size(), kNone);
    const std::vector<RegionEntry>& theirs = child->regions();
    for (size_t j = 0; j < theirs.size(); ++j) {
      if (above[j] == kNone) {
        continue;
      }
      auto it = std::lower_bound(
          mine.begin(), mine.end(), theirs[j].start,
          [](const RegionEntry& e, uint64_t start) { return e.start < start; });
      if (it != mine.end() && image::region_inherits(*it, theirs[j])) {
        where[k][static_cast<size_t>(it - mine.begin())] = above[j];
      }
    }
    above = where[k];
    child = chain[k].get();
  }
  for (size_t k = chain.size(); k-- > 0;) {
    const std::vector<int64_t>& to = where[k];
    bool ok = chain[k]->read_data(
        [&](uint32_t region) -> uint8_t* {
          if (region >= to.size() || to[region] == kNone) {
            return ImageReader::skip();
          }
          return reinterpret_cast<uint8_t*>(
              staged[static_cast<size_t>(to[region])]);
        },
        error);
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace dmtcp::restart
