// read_data() with several threads (docs/restore.md, "Reading memory
// back"): the same bytes as one thread, the same first error as one thread
// whatever the threads finish first, and the writer's chunks end at
// kMaxChunkBytes-aligned addresses so that restart can read them into
// whole huge pages.
#define BOOST_TEST_MODULE image_parallel
#include <boost/test/unit_test.hpp>

#include "image_test_support.h"

using namespace dmtcp::image;
using namespace dmtcp::image::test;

namespace {

constexpr uint64_t kChunkPages = kMaxChunkBytes / kPage;

// Large regions, so most chunks are read by pread() outside the walk's
// lock: random data starting off any 2 MiB boundary, repetitive text
// (compressed), touched zeros, and random pages scattered one per 2 MiB.
Source big_source() {
  Source s;
  SourceRegion& r =
      s.add(0x10083000, 5 * kChunkPages + 77, kRegionAnonymous, "");
  fill_random(r.mem.data(), r.mem.size(), 11);
  SourceRegion& t = s.add(0x20000000, 3 * kChunkPages, kRegionHeap, "[heap]");
  fill_text(t.mem.data(), t.mem.size(), 5);
  s.add(0x30000000, kChunkPages, kRegionAnonymous, "");  // touched zeros
  SourceRegion& sp = s.add(0x40000000, 8 * 512, kRegionAnonymous, "");
  for (uint64_t i = 0; i < 8; ++i) {
    fill_random(sp.page(i * 512 + 3), kPage, 20 + i);
  }
  SourceRegion& tail = s.add(0x50001000, kChunkPages + 5, kRegionAnonymous, "");
  fill_random(tail.mem.data(), tail.mem.size(), 12);
  return s;
}

std::string written(Source& s, const char* tag, bool compress) {
  std::string path = temp_path(tag);
  BOOST_REQUIRE_EQUAL(write_image(s, path, compress), 0);
  return path;
}

}  // namespace

BOOST_AUTO_TEST_CASE(many_threads_read_the_same_bytes) {
  Source s = big_source();
  for (bool compress : {true, false}) {
    std::string path = written(s, "par", compress);
    for (unsigned threads : {1u, 2u, 3u, 8u}) {
      for (int run = 0; run < (threads == 8 ? 20 : 2); ++run) {
        std::string err;
        auto got = read_image(path, &err, threads);
        BOOST_TEST_CONTEXT("compress " << compress << ", " << threads
                                       << " threads, run " << run) {
          BOOST_REQUIRE_MESSAGE(got.has_value(), err);
          check_restored(s, *got);
        }
      }
    }
    unlink(path.c_str());
  }
}

BOOST_AUTO_TEST_CASE(chunks_end_at_aligned_addresses) {
  Source s = big_source();
  std::string path = written(s, "align", false);
  Layout l = walk(slurp(path));
  uint64_t full = 0;
  for (const auto& c : l.chunks) {
    uint64_t first =
        s.regions[c.h.region_index].entry.start / kPage + c.h.page_offset;
    // Never across a kMaxChunkBytes boundary.
    BOOST_TEST(
        first / kChunkPages == (first + c.h.page_count - 1) / kChunkPages,
        "chunk at page " << first << " +" << c.h.page_count);
    if (c.h.page_count == kChunkPages) {
      BOOST_TEST(first % kChunkPages == 0);
      ++full;
    }
  }
  // Region 0 starts 0x83000 past a boundary: 4 whole aligned chunks in it.
  BOOST_TEST(full >= 4u);
  unlink(path.c_str());
}

// Damage at two places: the error is the one at the lower offset, as one
// thread reading in order finds it, however many threads race.
BOOST_AUTO_TEST_CASE(the_first_error_wins_whatever_finishes_first) {
  Source s = big_source();
  std::string path = written(s, "first", true);
  std::vector<uint8_t> image = slurp(path);
  Layout l = walk(image);
  BOOST_REQUIRE(l.chunks.size() >= 6);
  auto payload = [&](size_t k) { return l.chunks[k].at + sizeof(ChunkHeader); };
  size_t last = l.chunks.size() - 1;
  struct Damage {
    const char* what;
    std::vector<size_t> flips;
  } cases[] = {
      {"data of the first chunk", {payload(0) + 100}},
      {"data of the last chunk", {payload(last) + 5000}},
      {"data late, header early", {payload(last) + 5, l.chunks[2].at + 20}},
      {"header late, data early", {l.chunks[last].at + 20, payload(1) + 9}},
      {"data of two chunks", {payload(4) + 1, payload(1) + 4096 * 3}},
      {"data and the trailer", {l.trailer_start + 9, payload(3) + 7}},
  };
  for (const Damage& d : cases) {
    std::vector<uint8_t> bad = image;
    for (size_t at : d.flips) {
      bad[at] ^= 0x10;
    }
    spit(path, bad.data(), bad.size());
    std::string want;
    BOOST_TEST_CONTEXT(d.what) {
      BOOST_REQUIRE(!read_image(path, &want, 1).has_value());
      for (int run = 0; run < 20; ++run) {
        std::string err;
        BOOST_TEST(!read_image(path, &err, 8).has_value());
        BOOST_TEST(err == want);
      }
    }
  }
  // A file cut inside a raw chunk read by pread().
  size_t cut = payload(1) + kMaxChunkBytes / 2;
  spit(path, image.data(), cut);
  for (unsigned threads : {1u, 8u}) {
    std::string err;
    BOOST_TEST(!read_image(path, &err, threads).has_value());
    BOOST_TEST(
        contains(err, ("truncated at byte " + std::to_string(cut)).c_str()),
        err);
  }
  unlink(path.c_str());
}
