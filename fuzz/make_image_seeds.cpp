// make_image_seeds.cpp -- writes small real images (plain and compressed,
// with data, zero and no-data regions) into a directory: the seed corpus
// of image_reader_fuzz.  Usage: make_image_seeds DIR
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "image/image_writer.h"

using namespace dmtcp::image;

namespace {

struct Region {
  RegionEntry entry{};
  std::string name;
  std::vector<uint8_t> mem;
};

int write_seed(const std::string& path, bool compress, int variant) {
  std::vector<Region> regions(3);
  uint64_t base = 0x400000;
  for (size_t i = 0; i < regions.size(); ++i) {
    Region& r = regions[i];
    uint64_t pages = 1 + i + variant;
    r.entry.start = base;
    r.entry.end = base + pages * kPageSize;
    r.entry.prot = 3;
    base = r.entry.end + kPageSize;
    r.name = "region-" + std::to_string(i);
    if (i == 2 && variant == 1) {
      r.entry.flags = kRegionNoData;
      continue;
    }
    r.mem.assign(pages * kPageSize, 0);
    for (size_t b = 0; b < r.mem.size(); b += 7) {  // text-like and zero
      r.mem[b] = static_cast<uint8_t>('a' + (b / 7 + i) % 26);
    }
    if (variant == 2) {
      memset(r.mem.data(), 0, kPageSize);  // a whole zero page
    }
  }
  std::vector<RegionEntry> entries;
  std::string names;
  for (Region& r : regions) {
    r.entry.name_offset = static_cast<uint32_t>(names.size());
    r.entry.name_len = static_cast<uint32_t>(r.name.size());
    names += r.name;
    entries.push_back(r.entry);
  }
  FileHeader h{};
  h.pid = 1000 + variant;
  h.ppid = 1;
  h.generation = 1 + variant;
  snprintf(h.hostname, sizeof h.hostname, "seedhost");
  snprintf(h.progname, sizeof h.progname, "seed%d", variant);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (fd < 0) {
    perror(path.c_str());
    return 1;
  }
  ImageWriter w;
  int rc = w.init({.compress = compress, .zstd_level = 1});
  rc = rc != 0 ? rc
               : w.begin(fd, h, entries.data(),
                         static_cast<uint32_t>(entries.size()), names.data(),
                         static_cast<uint32_t>(names.size()));
  for (size_t i = 0; rc == 0 && i < regions.size(); ++i) {
    Region& r = regions[i];
    rc = w.write_region(static_cast<uint32_t>(i), r.mem.data(),
                        (r.entry.end - r.entry.start) / kPageSize, nullptr);
  }
  rc = rc != 0 ? rc : w.finish();
  close(fd);
  if (rc != 0) {
    fprintf(stderr, "%s: writing failed (%d)\n", path.c_str(), rc);
  }
  return rc != 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_image_seeds DIR\n");
    return 2;
  }
  int failed = 0;
  for (int variant = 0; variant < 3; ++variant) {
    for (bool compress : {false, true}) {
      std::string path = std::string(argv[1]) + "/seed-" +
                         std::to_string(variant) + (compress ? "-z" : "") +
                         ".dmtcp";
      unlink(path.c_str());
      failed |= write_seed(path, compress, variant);
    }
  }
  return failed;
}
