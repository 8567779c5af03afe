// Helpers for image_test.cpp: a fake process's memory, writing it as an
// image, reading an image back, and walking an image's sections.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "image/image_reader.h"
#include "image/image_writer.h"

namespace dmtcp::image::test {

// Set while the writer runs; image_test.cpp's malloc counts into g_mallocs.
inline std::atomic<bool> g_count_mallocs{false};
inline std::atomic<int> g_mallocs{0};

inline constexpr uint64_t kPage = kPageSize;

struct SourceRegion {
  RegionEntry entry{};
  std::string name;
  std::vector<uint8_t> mem;  // empty for kRegionNoData
  std::vector<uint8_t> may;  // one byte a page; empty = no pagemap info
  uint8_t* page(uint64_t i) { return mem.data() + i * kPage; }
};

struct Source {
  std::vector<SourceRegion> regions;

  SourceRegion& add(uint64_t start, uint64_t npages, uint32_t flags,
                    const std::string& name) {
    SourceRegion r;
    r.entry.start = start;
    r.entry.end = start + npages * kPage;
    r.entry.prot = 3;
    r.entry.flags = flags;
    r.name = name;
    if ((flags & kRegionNoData) == 0) {
      r.mem.assign(npages * kPage, 0);
    }
    regions.push_back(std::move(r));
    return regions.back();
  }
};

inline void fill_random(uint8_t* p, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    memcpy(p + i, &v, 8);
  }
}

inline void fill_text(uint8_t* p, size_t n, int seed) {
  size_t off = 0;
  for (int line = 0; off < n; ++line) {
    char buf[128];
    int len = snprintf(buf, sizeof buf,
                       "%d: the quick brown fox %d jumps over the lazy dog\n",
                       line, seed + line % 7);
    size_t take = std::min(n - off, static_cast<size_t>(len));
    memcpy(p + off, buf, take);
    off += take;
  }
}

// A bit of everything: random, present zero pages, pagemap-zero pages, a
// reservation, text spanning several chunks, a one-page region, all zeros.
inline Source mixed_source(uint64_t text_pages = 1500) {
  BOOST_REQUIRE(text_pages > 2 * 110);
  Source s;
  SourceRegion& a = s.add(0x400000, 40, kRegionPrivate, "/usr/bin/prog");
  fill_random(a.mem.data(), a.mem.size(), 1);
  memset(a.page(5), 0, 2 * kPage);  // present but zero

  s.add(0x500000, 16, kRegionNoData | kRegionAnonymous, "");

  // More than one chunk's worth by default.
  SourceRegion& t = s.add(0x600000, text_pages, kRegionHeap, "[heap]");
  fill_text(t.mem.data(), t.mem.size(), 3);
  t.may.assign(text_pages, 1);
  for (int i = 100; i < 110; ++i) {
    memset(t.page(i), 0, kPage);  // pagemap: never populated
    t.may[i] = 0;
  }
  memset(t.page(text_pages / 2), 0, kPage);  // present but zero

  SourceRegion& f = s.add(0x1000000, 3, kRegionFile, "/tmp/libfoo.so");
  fill_random(f.mem.data(), f.mem.size(), 2);

  s.add(0x2000000, 32, kRegionAnonymous, "");  // touched zeros

  SourceRegion& one = s.add(0x3000000, 1, kRegionAnonymous, "");
  fill_text(one.mem.data(), one.mem.size(), 9);

  SourceRegion& st = s.add(0x7ffffff00000, 8, kRegionStack, "[stack]");
  fill_random(st.page(6), 2 * kPage, 3);
  return s;
}
inline constexpr uint64_t kMixedZeroPages = 2 + 10 + 1 + 32 + 6;

// Images go to memory (/dev/shm) when there is one: the sweeps below write
// thousands of them.
inline std::string temp_path(const std::string& tag) {
  const char* dir = getenv("TMPDIR");
  struct stat st;
  std::string base = dir != nullptr               ? dir
                     : stat("/dev/shm", &st) == 0 ? "/dev/shm"
                                                  : "/tmp";
  return base + "/image_test." + std::to_string(getpid()) + "." + tag;
}

inline std::vector<uint8_t> slurp(const std::string& path) {
  std::vector<uint8_t> out;
  int fd = open(path.c_str(), O_RDONLY);
  BOOST_REQUIRE(fd >= 0);
  uint8_t buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) {
    out.insert(out.end(), buf, buf + n);
  }
  close(fd);
  return out;
}

inline void spit(const std::string& path, const uint8_t* data, size_t n) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(write(fd, data, n) == static_cast<ssize_t>(n));
  close(fd);
}

inline FileHeader sample_header() {
  FileHeader h{};
  h.pid = 4242;
  h.ppid = 1;
  h.generation = 3;
  snprintf(h.hostname, sizeof h.hostname, "%s", "testhost");
  snprintf(h.progname, sizeof h.progname, "%s", "prog");
  return h;
}

// Writes s to fd, from its current offset, with w; returns the first
// error (0 = written).  fd stays open.
inline int write_image_to(ImageWriter& w, Source& s, int fd,
                          bool count_mallocs = false) {
  std::vector<RegionEntry> entries;
  std::string names;
  for (SourceRegion& r : s.regions) {
    r.entry.name_offset = static_cast<uint32_t>(names.size());
    r.entry.name_len = static_cast<uint32_t>(r.name.size());
    names += r.name;
    entries.push_back(r.entry);
  }
  g_mallocs = 0;
  g_count_mallocs = count_mallocs;
  int rc = w.begin(fd, sample_header(), entries.data(),
                   static_cast<uint32_t>(entries.size()), names.data(),
                   static_cast<uint32_t>(names.size()));
  for (size_t i = 0; rc == 0 && i < s.regions.size(); ++i) {
    SourceRegion& r = s.regions[i];
    rc = w.write_region(static_cast<uint32_t>(i), r.mem.data(),
                        (r.entry.end - r.entry.start) / kPage,
                        r.may.empty() ? nullptr : r.may.data());
  }
  if (rc == 0) {
    rc = w.finish();
  }
  g_count_mallocs = false;
  return rc;
}

// Writes s to path (created or truncated) with w; returns the first error.
inline int write_image(ImageWriter& w, Source& s, const std::string& path,
                       bool count_mallocs = false) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  int rc = write_image_to(w, s, fd, count_mallocs);
  close(fd);
  return rc;
}

inline int write_image(Source& s, const std::string& path, bool compress) {
  ImageWriter w;
  BOOST_REQUIRE(w.init({.compress = compress, .zstd_level = 1}) == 0);
  return write_image(w, s, path);
}

using Restored = std::vector<std::vector<uint8_t>>;

// Reads path into fresh zeroed buffers, one per region, with `threads`
// threads (0: one per CPU).  nullopt + *error on failure.
inline std::optional<Restored> read_image(const std::string& path,
                                          std::string* error,
                                          unsigned threads = 0) {
  ImageReader r;
  r.set_threads(threads);
  if (!r.open(path, error)) {
    return std::nullopt;
  }
  Restored out(r.regions().size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].assign(r.regions()[i].end - r.regions()[i].start, 0);
  }
  if (!r.read_data([&](uint32_t i) { return out.at(i).data(); }, error)) {
    return std::nullopt;
  }
  return out;
}

inline void check_restored(const Source& s, const Restored& got) {
  BOOST_REQUIRE_EQUAL(got.size(), s.regions.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const SourceRegion& r = s.regions[i];
    if (r.mem.empty()) {
      BOOST_TEST(std::all_of(got[i].begin(), got[i].end(),
                             [](uint8_t b) { return b == 0; }));
      continue;
    }
    BOOST_TEST_CONTEXT("region " << i) {
      BOOST_REQUIRE_EQUAL(got[i].size(), r.mem.size());
      BOOST_TEST(memcmp(got[i].data(), r.mem.data(), r.mem.size()) == 0);
    }
  }
}

// Section boundaries of an image, found by walking it.
struct Layout {
  size_t table_start = 0, names_start = 0, data_start = 0, trailer_start = 0;
  struct Chunk {
    size_t at;
    ChunkHeader h;
  };
  std::vector<Chunk> chunks;
};

inline Layout walk(const std::vector<uint8_t>& f) {
  Layout l;
  FileHeader h;
  memcpy(&h, f.data(), sizeof h);
  l.table_start = sizeof h;
  l.names_start = l.table_start + h.region_count * sizeof(RegionEntry);
  l.data_start = l.names_start + h.names_size;
  size_t at = l.data_start;
  while (at + sizeof(Trailer) < f.size()) {
    ChunkHeader c;
    memcpy(&c, f.data() + at, sizeof c);
    BOOST_REQUIRE_EQUAL(c.magic, kChunkMagic);
    l.chunks.push_back({at, c});
    at += sizeof c + c.stored_size;
  }
  l.trailer_start = at;
  BOOST_REQUIRE_EQUAL(at + sizeof(Trailer), f.size());
  return l;
}

inline bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

}  // namespace dmtcp::image::test
