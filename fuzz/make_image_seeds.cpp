// make_image_seeds.cpp -- writes small real images (plain and compressed,
// with data, zero and no-data regions, and notes: the runtime's and a file
// plugin fd, the pid plugin's table; variant 3 is an incremental image with
// its link to a predecessor and pages stored as explicit zeros) into a
// directory: the seed corpus of
// image_reader_fuzz and inspect_fuzz.  Usage: make_image_seeds DIR
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "image/image_writer.h"
#include "plugins/file/file_notes.h"
#include "plugins/pid/pid_notes.h"

using namespace dmtcp::image;

namespace {

struct Region {
  RegionEntry entry{};
  std::string name;
  std::vector<uint8_t> mem;
};

void add_note(std::vector<uint8_t>* out, uint32_t* count, const char* owner,
              uint32_t type, const void* data, size_t size) {
  NoteHeader h{};
  snprintf(h.owner, sizeof h.owner, "%s", owner);
  h.type = type;
  h.size = static_cast<uint32_t>(size);
  const auto* p = reinterpret_cast<const uint8_t*>(&h);
  out->insert(out->end(), p, p + sizeof h);
  const auto* d = static_cast<const uint8_t*>(data);
  out->insert(out->end(), d, d + size);
  out->resize((out->size() + kNoteAlign - 1) / kNoteAlign * kNoteAlign);
  ++*count;
}

// The notes a real process has: the runtime's and one fd of the file
// plugin's (variant 0 has none, as an image of format 4 had).
std::vector<uint8_t> seed_notes(int variant, uint32_t* count) {
  std::vector<uint8_t> out;
  *count = 0;
  if (variant == 0) {
    return out;
  }
  static const char kArgs[] = "/bin/seed\0-x\0two words";
  add_note(&out, count, "core", kCoreNoteArgs, kArgs, sizeof kArgs);
  static const char kPlugins[] = "/lib/libdmtcp_file.so:/lib/libdmtcp.so";
  add_note(&out, count, "core", kCoreNotePlugins, kPlugins,
           sizeof kPlugins - 1);
  ThreadNote threads[2] = {{11, 11, kThreadNoteCheckpoint, 0},
                           {10, 10, kThreadNoteMain, 0}};
  add_note(&out, count, "core", kCoreNoteThreads, threads, sizeof threads);
  add_note(&out, count, "core", kCoreNoteCwd, "/tmp", 4);
  static const char kPath[] = "/tmp/seed.data";
  dmtcp::file::FdNote fd{};
  fd.fd = 3;
  fd.flags = 2;
  fd.pos = 3;
  fd.pty_index = -1;
  fd.leader = 1;
  fd.path_len = sizeof kPath - 1;
  std::vector<uint8_t> payload(sizeof fd + fd.path_len);
  memcpy(payload.data(), &fd, sizeof fd);
  memcpy(payload.data() + sizeof fd, kPath, fd.path_len);
  add_note(&out, count, dmtcp::file::kNoteOwner, dmtcp::file::kNoteFd,
           payload.data(), payload.size());
  dmtcp::pid::PidPair pairs[2] = {{10, 4010}, {11, 4011}};
  add_note(&out, count, dmtcp::pid::kNoteOwner, dmtcp::pid::kNoteTable, pairs,
           sizeof pairs);
  return out;
}

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
  if (variant == 3) {
    h.flags = kHeaderIncremental | kHeaderIncrementalMode;
    h.image_id[0] = 0x1111;
    h.image_id[1] = 0x2222;
    h.parent_id[0] = 0x3333;
    h.parent_id[1] = 0x4444;
    h.parent_generation = h.generation - 1;
    h.chain_depth = 1;
    h.chain_base_generation = h.parent_generation;
    h.incremental_full_every = 10;
    snprintf(h.parent_path, sizeof h.parent_path, "/tmp/ckpt_seed3_gen%u.dmtcp",
             h.parent_generation);
  }
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (fd < 0) {
    perror(path.c_str());
    return 1;
  }
  uint32_t notes_count = 0;
  std::vector<uint8_t> notes = seed_notes(variant, &notes_count);
  ImageWriter w;
  int rc = w.init({.compress = compress, .zstd_level = 1});
  rc = rc != 0 ? rc
               : w.begin(fd, h, entries.data(),
                         static_cast<uint32_t>(entries.size()), names.data(),
                         static_cast<uint32_t>(names.size()), notes.data(),
                         static_cast<uint32_t>(notes.size()), notes_count);
  for (size_t i = 0; rc == 0 && i < regions.size(); ++i) {
    Region& r = regions[i];
    uint64_t npages = (r.entry.end - r.entry.start) / kPageSize;
    // Incremental: the first page turned zero, the others changed.
    std::vector<uint8_t> filter(npages, 2);
    filter[0] = kStoreZeroPage;
    rc = w.write_region(static_cast<uint32_t>(i), r.mem.data(), npages,
                        variant == 3 ? filter.data() : nullptr);
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
  for (int variant = 0; variant < 4; ++variant) {
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
