// Algorithm of prepare_shared_mappings() (dmtcp_restart, before any fork):
//  1. kRegionSharedFile: open each path once (read-write when a mapping of
//     it is writable, else read-write if allowed, read-only otherwise);
//     check it is a regular file at least as long as each mapping needs
//     (min(file size at checkpoint, offset + length)) and that a trial
//     mapping with the region's protection works.  A file that is gone or
//     shrank is a one-line error now, before anything is forked or given
//     up.  The file is the truth: its current contents are what the
//     program sees after restart.
//  2. kRegionSharedObject: group the regions of all images by (host,
//     object_dev, object_ino); each group is one object.  Create a memfd per
//     object, as long as its furthest mapping, named after it
//     ("/memfd:/dev/zero (deleted)" in maps after restart).
//  3. Pick the fillers: regions in image order, then address order; a
//     region fills the object when it covers a page no earlier region
//     covered.  Every image stores the object's pages (any subset of the
//     images can be restarted), but each page is written once; the other
//     regions skip their stored copies (ImageReader::skip()).
// Each restored process maps its regions from the inherited descriptors
// (restore_plan.cpp) and closes them with every other fd at the point of no
// return; the mappings keep the objects alive and shared.
#include "tools/restart/shared_mappings.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <tuple>
#include <utility>

#include "common/log.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3; older kernels refuse it (EINVAL)
#endif

namespace dmtcp::restart {
namespace {

using image::ImageReader;
using image::kPageSize;
using image::RegionEntry;

std::map<std::pair<const ImageReader*, uint32_t>, SharedMapping> g_regions;
std::vector<int> g_fds;

// A shared object as the images saw it: one host's device and inode.
using ObjectKey = std::tuple<std::string, uint64_t, uint64_t>;

struct Object {
  std::string name;
  uint64_t size = 0;
  // Page ranges [first, last) some region already fills.
  std::vector<std::pair<uint64_t, uint64_t>> filled;
  std::vector<std::pair<const ImageReader*, uint32_t>> regions;
  std::vector<bool> fill;  // per entry of regions
};

// Whether [first, last) lies inside the union of `ranges`.
bool covered(const std::vector<std::pair<uint64_t, uint64_t>>& ranges,
             uint64_t first, uint64_t last) {
  std::vector<std::pair<uint64_t, uint64_t>> sorted = ranges;
  std::sort(sorted.begin(), sorted.end());
  uint64_t cursor = first;
  for (const auto& [lo, hi] : sorted) {
    if (lo > cursor) {
      break;
    }
    cursor = std::max(cursor, hi);
    if (cursor >= last) {
      return true;
    }
  }
  return cursor >= last;
}

// A memfd name from the maps path: "/memfd:NAME (deleted)" keeps NAME (so
// a second restart shows the same), anything else its path.
std::string object_name(std::string_view path) {
  constexpr std::string_view kDeleted = " (deleted)";
  constexpr std::string_view kMemfd = "/memfd:";
  if (path.size() >= kDeleted.size() &&
      path.substr(path.size() - kDeleted.size()) == kDeleted) {
    path.remove_suffix(kDeleted.size());
  }
  if (path.substr(0, kMemfd.size()) == kMemfd) {
    path.remove_prefix(kMemfd.size());
  }
  if (path.empty()) {
    path = "dmtcp-shared";
  }
  return std::string(path.substr(0, 200));
}

// Maps [offset, +len) of fd with prot and unmaps it again: a mapping
// restore_in_place() would fail to make is an error before the fork.
bool trial_map(int fd, uint64_t offset, uint64_t len, int prot,
               const std::string& what, std::string* error) {
  void* p =
      mmap(nullptr, len, prot, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) {
    *error = "mapping " + what + " shared: " + strerror(errno);
    return false;
  }
  munmap(p, len);
  return true;
}

int keep_fd(int fd) {
  g_fds.push_back(fd);
  return fd;
}

struct SharedFile {
  int fd = -1;
  uint64_t size = 0;
};

// Opens a shared file mapping's file for all of its mappings.
bool open_shared_file(const std::string& path, bool need_write, SharedFile* out,
                      std::string* error) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && !need_write && errno != ENOENT) {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    if (errno == ENOENT) {
      *error = path +
               " is gone (the program had it mapped shared; restore "
               "the file to restart)";
    } else {
      *error = path + ": cannot open" + (need_write ? " for writing" : "") +
               " (the program had it mapped shared): " + strerror(errno);
    }
    return false;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    *error = path +
             " is no longer a regular file (the program had it "
             "mapped shared)";
    return false;
  }
  out->fd = keep_fd(fd);
  out->size = static_cast<uint64_t>(st.st_size);
  return true;
}

bool prepare_files(const std::vector<std::unique_ptr<ImageReader>>& images,
                   std::string* error) {
  // Which paths need writing: one open per path serves every mapping.
  std::map<std::string, bool> need_write;
  for (const auto& img : images) {
    for (size_t i = 0; i < img->regions().size(); ++i) {
      const RegionEntry& r = img->regions()[i];
      if ((r.flags & image::kRegionSharedFile) != 0) {
        std::string path(img->region_name(static_cast<uint32_t>(i)));
        need_write[path] |= (r.prot & PROT_WRITE) != 0;
      }
    }
  }
  std::map<std::string, SharedFile> files;
  for (const auto& [path, write] : need_write) {
    if (!open_shared_file(path, write, &files[path], error)) {
      return false;
    }
  }
  for (const auto& img : images) {
    for (size_t i = 0; i < img->regions().size(); ++i) {
      const RegionEntry& r = img->regions()[i];
      if ((r.flags & image::kRegionSharedFile) == 0) {
        continue;
      }
      auto index = static_cast<uint32_t>(i);
      std::string path(img->region_name(index));
      const SharedFile& f = files[path];
      uint64_t len = r.end - r.start;
      uint64_t need = std::min(r.file_size, r.file_offset + len);
      if (f.size < need) {
        *error = path + " has shrunk since the checkpoint (" +
                 std::to_string(f.size) + " bytes, the program had " +
                 std::to_string(need) +
                 " of it mapped shared; restore the file to restart)";
        return false;
      }
      if (!trial_map(f.fd, r.file_offset, len, static_cast<int>(r.prot), path,
                     error)) {
        return false;
      }
      g_regions[{img.get(), index}] = SharedMapping{f.fd, false};
    }
  }
  return true;
}

bool prepare_objects(const std::vector<std::unique_ptr<ImageReader>>& images,
                     std::string* error) {
  std::map<ObjectKey, Object> objects;
  std::vector<ObjectKey> order;  // first seen first
  for (const auto& img : images) {
    const image::FileHeader& h = img->header();
    std::string host(h.hostname, strnlen(h.hostname, sizeof h.hostname));
    for (size_t i = 0; i < img->regions().size(); ++i) {
      const RegionEntry& r = img->regions()[i];
      if ((r.flags & image::kRegionSharedObject) == 0) {
        continue;
      }
      auto index = static_cast<uint32_t>(i);
      ObjectKey key{host, r.object_dev, r.object_ino};
      auto [it, fresh] = objects.try_emplace(key);
      Object& o = it->second;
      if (fresh) {
        o.name = object_name(img->region_name(index));
        order.push_back(key);
      }
      uint64_t first = r.file_offset / kPageSize;
      uint64_t last = first + (r.end - r.start) / kPageSize;
      bool fill = !covered(o.filled, first, last);
      if (fill) {
        o.filled.emplace_back(first, last);
      }
      o.size = std::max(o.size, r.file_offset + (r.end - r.start));
      o.regions.emplace_back(img.get(), index);
      o.fill.push_back(fill);
    }
  }
  for (const ObjectKey& key : order) {
    Object& o = objects[key];
    int fd = memfd_create(o.name.c_str(), MFD_CLOEXEC | MFD_EXEC);
    if (fd < 0 && (errno == EINVAL || errno == EACCES)) {
      fd = memfd_create(o.name.c_str(), MFD_CLOEXEC);
    }
    if (fd < 0) {
      *error = "creating shared memory for " + o.name + ": " + strerror(errno);
      return false;
    }
    keep_fd(fd);
    if (ftruncate(fd, static_cast<off_t>(o.size)) != 0) {
      *error = "sizing shared memory for " + o.name + " (" +
               std::to_string(o.size) + " bytes): " + strerror(errno);
      return false;
    }
    for (size_t k = 0; k < o.regions.size(); ++k) {
      const auto& [img, index] = o.regions[k];
      const RegionEntry& r = img->regions()[index];
      int prot = static_cast<int>(r.prot) | PROT_READ | PROT_WRITE;
      if (!trial_map(fd, r.file_offset, r.end - r.start, prot,
                     "memory for " + o.name, error)) {
        return false;
      }
      g_regions[{img, index}] = SharedMapping{fd, o.fill[k]};
      DMTCP_DEBUG(
          "shared memory %s (%zu bytes): %s region %u [%lx, %lx) "
          "at offset %lu %s",
          o.name.c_str(), static_cast<size_t>(o.size), img->path().c_str(),
          index, static_cast<unsigned long>(r.start),
          static_cast<unsigned long>(r.end),
          static_cast<unsigned long>(r.file_offset),
          o.fill[k] ? "fills it" : "skips its copy");
    }
  }
  return true;
}

}  // namespace

bool prepare_shared_mappings(
    const std::vector<std::unique_ptr<ImageReader>>& images,
    std::string* error) {
  if (!prepare_files(images, error) || !prepare_objects(images, error)) {
    close_shared_mappings();
    return false;
  }
  return true;
}

std::optional<SharedMapping> shared_mapping_for(const ImageReader* reader,
                                                uint32_t index) {
  auto it = g_regions.find({reader, index});
  if (it == g_regions.end()) {
    return std::nullopt;
  }
  return it->second;
}

void close_shared_mappings() {
  for (int fd : g_fds) {
    close(fd);
  }
  g_fds.clear();
  g_regions.clear();
}

}  // namespace dmtcp::restart
