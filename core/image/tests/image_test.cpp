// ImageWriter/ImageReader: round trips, stats, and that every corruption,
// truncation and misuse is refused with a clear one-line error.
#define BOOST_TEST_MODULE image
#include <boost/test/unit_test.hpp>

#include "image/tests/image_test_support.h"

using namespace dmtcp::image;
using namespace dmtcp::image::test;

// Counts malloc calls made while g_count_mallocs is set: the writer must make
// none between init() and finish() (user threads may hold the malloc lock).
// Sanitizers bring their own malloc; the count is skipped under them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kCountsMallocs = false;
#else
constexpr bool kCountsMallocs = true;
extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
using dmtcp::image::test::g_count_mallocs;
using dmtcp::image::test::g_mallocs;
extern "C" void* malloc(size_t n) {
  if (g_count_mallocs.load(std::memory_order_relaxed)) {
    g_mallocs.fetch_add(1);
  }
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t n, size_t m) {
  if (g_count_mallocs.load(std::memory_order_relaxed)) {
    g_mallocs.fetch_add(1);
  }
  return __libc_calloc(n, m);
}
extern "C" void* realloc(void* p, size_t n) {
  if (g_count_mallocs.load(std::memory_order_relaxed)) {
    g_mallocs.fetch_add(1);
  }
  return __libc_realloc(p, n);
}
#endif

BOOST_AUTO_TEST_CASE(round_trip_compressed_and_raw) {
  for (bool compress : {true, false}) {
    BOOST_TEST_CONTEXT("compress=" << compress) {
      Source s = mixed_source();
      std::string path = temp_path("rt");
      ImageWriter w;
      BOOST_REQUIRE(w.init({.compress = compress, .zstd_level = 1}) == 0);
      BOOST_REQUIRE_EQUAL(write_image(w, s, path), 0);

      uint64_t total_pages = 0;
      for (auto& r : s.regions) {
        total_pages += r.mem.size() / kPage;
      }
      const auto& st = w.stats();
      BOOST_TEST(st.zero_pages == kMixedZeroPages);
      BOOST_TEST(st.raw_bytes == (total_pages - kMixedZeroPages) * kPage);
      if (compress) {
        BOOST_TEST(st.stored_bytes < st.raw_bytes / 2);
      } else {
        BOOST_TEST(st.stored_bytes == st.raw_bytes);
        BOOST_TEST(st.compress_tries == 0u);
      }

      std::string err;
      ImageReader r;
      BOOST_REQUIRE_MESSAGE(r.open(path, &err), err);
      BOOST_TEST(r.header().pid == 4242);
      BOOST_TEST(std::string(r.header().hostname) == "testhost");
      BOOST_TEST(r.regions().size() == s.regions.size());
      BOOST_TEST(r.region_name(0) == "/usr/bin/prog");
      BOOST_TEST(r.region_name(1) == "");
      BOOST_TEST(r.region_name(2) == "[heap]");
      BOOST_TEST(r.region_name(6) == "[stack]");

      auto got = read_image(path, &err);
      BOOST_REQUIRE_MESSAGE(got.has_value(), err);
      check_restored(s, *got);
      unlink(path.c_str());
    }
  }
}

BOOST_AUTO_TEST_CASE(malloc_counting_works) {
  if (!kCountsMallocs) {
    return;
  }
  g_mallocs = 0;
  g_count_mallocs = true;
  void* volatile p = malloc(16);
  g_count_mallocs = false;
  free(p);
  BOOST_TEST(g_mallocs.load() == 1);
}

BOOST_AUTO_TEST_CASE(writer_reuses_its_context_across_checkpoints) {
  ImageWriter w;
  BOOST_REQUIRE(w.init({}) == 0);
  std::string path = temp_path("reuse");
  for (int round = 0; round < 3; ++round) {
    Source s = mixed_source();
    fill_text(s.regions[2].page(0), kPage, round);
    BOOST_REQUIRE(w.init({.compress = round != 1, .zstd_level = round + 1}) ==
                  0);
    // Also checks the rule: no malloc between begin() and finish().
    BOOST_REQUIRE_EQUAL(write_image(w, s, path, /*count_mallocs=*/true), 0);
    BOOST_TEST(g_mallocs.load() == 0);
    std::string err;
    auto got = read_image(path, &err);
    BOOST_REQUIRE_MESSAGE(got.has_value(), err);
    check_restored(s, *got);
  }
  unlink(path.c_str());
}

BOOST_AUTO_TEST_CASE(compressible_data_shrinks_a_lot) {
  Source s;
  fill_text(s.add(0x10000000, 4096, 0, "").mem.data(), 4096 * kPage, 0);
  ImageWriter w;
  BOOST_REQUIRE(w.init({}) == 0);
  std::string path = temp_path("text");
  BOOST_REQUIRE_EQUAL(write_image(w, s, path), 0);
  BOOST_TEST(w.stats().raw_bytes == 4096 * kPage);
  BOOST_TEST(w.stats().chunks == 4u);
  BOOST_TEST(w.stats().stored_bytes * 20 < w.stats().raw_bytes);
  std::string err;
  auto got = read_image(path, &err);
  BOOST_REQUIRE_MESSAGE(got.has_value(), err);
  check_restored(s, *got);
  unlink(path.c_str());
}

BOOST_AUTO_TEST_CASE(random_data_is_not_compressed_over_and_over) {
  // 24 chunks of random data, then 24 of text.  Random: probe, skip 8,
  // probe, skip 16 (runs into the text), probe the text: compresses.
  constexpr uint64_t kChunkPages = kMaxChunkBytes / kPage;
  Source s;
  SourceRegion& r = s.add(0x10000000, 48 * kChunkPages, 0, "");
  size_t half = 24 * kMaxChunkBytes;
  fill_random(r.mem.data(), half, 7);
  fill_text(r.mem.data() + half, half, 0);
  ImageWriter w;
  BOOST_REQUIRE(w.init({}) == 0);
  std::string path = temp_path("heur");
  BOOST_REQUIRE_EQUAL(write_image(w, s, path), 0);
  const auto& st = w.stats();
  BOOST_TEST(st.chunks == 48u);
  BOOST_TEST(st.compress_tries == 3u + (48 - 27));
  // Chunks 26 and up were compressed: the image is well under raw size.
  BOOST_TEST(st.stored_bytes < st.raw_bytes - 20 * kMaxChunkBytes);
  std::string err;
  auto got = read_image(path, &err);
  BOOST_REQUIRE_MESSAGE(got.has_value(), err);
  check_restored(s, *got);
  unlink(path.c_str());
}

BOOST_AUTO_TEST_CASE(zero_pages_take_no_space) {
  // Stands in for 1 GiB of touched zeros: 64 MiB of present zero pages.
  Source s;
  s.add(0x10000000, 16384, kRegionAnonymous, "zeros");
  std::string path = temp_path("zero");
  ImageWriter w;
  BOOST_REQUIRE(w.init({}) == 0);
  BOOST_REQUIRE_EQUAL(write_image(w, s, path), 0);
  BOOST_TEST(w.stats().zero_pages == 16384u);
  BOOST_TEST(w.stats().chunks == 0u);
  struct stat st;
  BOOST_REQUIRE(stat(path.c_str(), &st) == 0);
  BOOST_TEST(static_cast<size_t>(st.st_size) ==
             sizeof(FileHeader) + sizeof(RegionEntry) + 5 + sizeof(Trailer));
  std::string err;
  auto got = read_image(path, &err);
  BOOST_REQUIRE_MESSAGE(got.has_value(), err);
  check_restored(s, *got);
  unlink(path.c_str());
}

// Flips one bit at offset off (bit chosen by the offset) and expects a
// clean "corrupt" style refusal.
void expect_flip_refused(const std::vector<uint8_t>& image, size_t off,
                         const std::string& path) {
  std::vector<uint8_t> bad = image;
  bad[off] ^= static_cast<uint8_t>(1u << (off % 8));
  spit(path, bad.data(), bad.size());
  std::string err;
  auto got = read_image(path, &err);
  BOOST_TEST_CONTEXT("flip at byte " << off << " of " << image.size()) {
    BOOST_TEST(!got.has_value());
    BOOST_TEST(err.rfind(path + ": ", 0) == 0u);
    BOOST_TEST((contains(err, "corrupt") || contains(err, "not a DMTCP") ||
                contains(err, "unsupported image format version")),
               err);
    BOOST_TEST(err.find('\n') == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(every_bit_flip_is_detected) {
  const char* env = getenv("IMAGE_TEST_EXHAUSTIVE");
  bool exhaustive = env != nullptr && env[0] == '1';
  for (bool compress : {true, false}) {
    Source s = mixed_source(/*text_pages=*/300);
    std::string path = temp_path("flip");
    BOOST_REQUIRE_EQUAL(write_image(s, path, compress), 0);
    std::vector<uint8_t> image = slurp(path);
    Layout l = walk(image);
    BOOST_REQUIRE(!l.chunks.empty());

    std::vector<size_t> offsets;
    // Header, table, names: every byte.
    for (size_t i = 0; i < l.data_start; ++i) {
      offsets.push_back(i);
    }
    for (const auto& c : l.chunks) {
      size_t payload = c.at + sizeof(ChunkHeader);
      for (size_t i = c.at; i < payload; ++i) {
        offsets.push_back(i);  // every header byte
      }
      // Payloads: every byte of the first and last 64 (zstd frame and
      // block headers live there), a stride in between.  With
      // IMAGE_TEST_EXHAUSTIVE=1 every byte of compressed payloads (about a
      // minute); raw payloads are plain data under raw_checksum.
      size_t end = payload + c.h.stored_size;
      size_t step = c.h.encoding == 1 ? (exhaustive ? 1 : 13) : 4093;
      for (size_t i = payload; i < end; ++i) {
        if (i < payload + 64 || i + 64 >= end || (i - payload) % step == 0) {
          offsets.push_back(i);
        }
      }
    }
    for (size_t i = l.trailer_start; i < image.size(); ++i) {
      offsets.push_back(i);
    }
    BOOST_TEST_MESSAGE("compress=" << compress << ": " << offsets.size()
                                   << " flips over " << image.size()
                                   << " bytes, " << l.chunks.size()
                                   << " chunks");
    for (size_t off : offsets) {
      expect_flip_refused(image, off, path);
    }
    unlink(path.c_str());
  }
}

void expect_truncated(const std::vector<uint8_t>& image, size_t len,
                      const std::string& path) {
  spit(path, image.data(), len);
  std::string err;
  auto got = read_image(path, &err);
  BOOST_TEST_CONTEXT("truncated to " << len << " of " << image.size()) {
    BOOST_TEST(!got.has_value());
    if (len == 0) {
      BOOST_TEST(contains(err, "empty file"), err);
    } else {
      BOOST_TEST(contains(err, ("truncated at byte " + std::to_string(len) +
                                " (image incomplete)")
                                   .c_str()),
                 err);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_truncation_is_detected) {
  Source s = mixed_source();
  std::string path = temp_path("trunc");
  BOOST_REQUIRE_EQUAL(write_image(s, path, true), 0);
  std::vector<uint8_t> image = slurp(path);
  Layout l = walk(image);

  std::vector<size_t> cuts = {0, 1, 7, 8, 11, 12, 13};
  auto around = [&](size_t b) {
    for (size_t x : {b - 1, b, b + 1}) {
      if (x < image.size()) {
        cuts.push_back(x);
      }
    }
  };
  around(l.table_start);
  around(l.names_start);
  around(l.data_start);
  for (const auto& c : l.chunks) {
    around(c.at);
    around(c.at + 8);
    around(c.at + sizeof(ChunkHeader));
    around(c.at + sizeof(ChunkHeader) + c.h.stored_size / 2);
  }
  around(l.trailer_start);
  around(l.trailer_start + 8);
  cuts.push_back(image.size() - 1);
  for (size_t len = 0; len < image.size(); len += 4099) {
    cuts.push_back(len);
  }
  for (size_t len : cuts) {
    expect_truncated(image, len, path);
  }
  unlink(path.c_str());
}

BOOST_AUTO_TEST_CASE(reordered_missing_and_extra_data_is_refused) {
  Source s = mixed_source();
  std::string path = temp_path("order");
  BOOST_REQUIRE_EQUAL(write_image(s, path, true), 0);
  std::vector<uint8_t> image = slurp(path);
  Layout l = walk(image);
  BOOST_REQUIRE(l.chunks.size() >= 3);
  auto chunk_bytes = [&](size_t i) {
    size_t end = i + 1 < l.chunks.size() ? l.chunks[i + 1].at : l.trailer_start;
    return std::vector<uint8_t>(image.begin() + l.chunks[i].at,
                                image.begin() + end);
  };
  auto expect_refused = [&](const std::vector<uint8_t>& bad, const char* want) {
    spit(path, bad.data(), bad.size());
    std::string err;
    BOOST_TEST(!read_image(path, &err).has_value());
    BOOST_TEST(contains(err, want), err);
  };
  std::vector<uint8_t> prefix(image.begin(), image.begin() + l.chunks[0].at);
  std::vector<uint8_t> c0 = chunk_bytes(0), c1 = chunk_bytes(1);
  std::vector<uint8_t> rest(image.begin() + l.chunks[2].at, image.end());

  std::vector<uint8_t> swapped = prefix;
  swapped.insert(swapped.end(), c1.begin(), c1.end());
  swapped.insert(swapped.end(), c0.begin(), c0.end());
  swapped.insert(swapped.end(), rest.begin(), rest.end());
  expect_refused(swapped, "out of order");

  std::vector<uint8_t> doubled = prefix;
  doubled.insert(doubled.end(), c0.begin(), c0.end());
  doubled.insert(doubled.end(), c0.begin(), c0.end());
  doubled.insert(doubled.end(), c1.begin(), c1.end());
  doubled.insert(doubled.end(), rest.begin(), rest.end());
  expect_refused(doubled, "out of order");

  std::vector<uint8_t> missing = prefix;
  missing.insert(missing.end(), c1.begin(), c1.end());
  missing.insert(missing.end(), rest.begin(), rest.end());
  expect_refused(missing, "corrupt");

  std::vector<uint8_t> garbage = image;
  garbage.push_back(0);
  expect_refused(garbage, "after the trailer");
  std::vector<uint8_t> two_trailers = image;
  two_trailers.insert(two_trailers.end(), image.end() - sizeof(Trailer),
                      image.end());
  expect_refused(two_trailers, "after the trailer");
  unlink(path.c_str());
}

BOOST_AUTO_TEST_CASE(bad_files_get_clear_errors) {
  std::string path = temp_path("bad");
  std::string err;
  ImageReader r;

  unlink(path.c_str());
  BOOST_TEST(!r.open(path, &err));
  BOOST_TEST(err == path + ": cannot open: No such file or directory");

  spit(path, nullptr, 0);
  BOOST_TEST(!r.open(path, &err));
  BOOST_TEST(err == path + ": empty file (image incomplete)");

  const char* elf =
      "\x7f"
      "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0";
  spit(path, reinterpret_cast<const uint8_t*>(elf), 16);
  BOOST_TEST(!r.open(path, &err));
  BOOST_TEST(err == path + ": not a DMTCP checkpoint image");

  spit(path, reinterpret_cast<const uint8_t*>("DM"), 2);
  BOOST_TEST(!r.open(path, &err));
  BOOST_TEST(err == path + ": truncated at byte 2 (image incomplete)");

  Source s = mixed_source();
  BOOST_REQUIRE_EQUAL(write_image(s, path, true), 0);
  std::vector<uint8_t> image = slurp(path);
  image[offsetof(FileHeader, format_version)] = kFormatVersion + 1;
  spit(path, image.data(), image.size());
  BOOST_TEST(!r.open(path, &err));
  BOOST_TEST(err == path + ": unsupported image format version " +
                        std::to_string(kFormatVersion + 1) +
                        " (this build reads " +
                        std::to_string(kFormatVersion) + ")");

  BOOST_TEST(!r.open("/", &err));
  BOOST_TEST(err == "/: is a directory, not a checkpoint image");
  unlink(path.c_str());
}

// The checksums are right but the table lies: the reader must still refuse.
BOOST_AUTO_TEST_CASE(implausible_region_tables_are_refused) {
  struct Case {
    const char* what;
    void (*mangle)(Source&);
  };
  const Case cases[] = {
      {"empty region",
       [](Source& s) { s.regions[3].entry.end = s.regions[3].entry.start; }},
      {"unaligned", [](Source& s) { s.regions[3].entry.start += 8; }},
      {"beyond user space",
       [](Source& s) { s.regions.back().entry.end = 0x800000001000ull; }},
      {"overlap", [](Source& s) { s.regions[1].entry.start = 0x420000; }},
      {"unsorted", [](Source& s) { std::swap(s.regions[0], s.regions[4]); }},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      Source s = mixed_source();
      c.mangle(s);
      // Only the table: the regions' memory no longer matches it.
      std::vector<RegionEntry> entries;
      for (const SourceRegion& r : s.regions) {
        entries.push_back(r.entry);
      }
      std::string path = temp_path("table");
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      BOOST_REQUIRE(fd >= 0);
      ImageWriter w;
      BOOST_REQUIRE(w.init({}) == 0);
      BOOST_REQUIRE(w.begin(fd, sample_header(), entries.data(),
                            static_cast<uint32_t>(entries.size()), "", 0) == 0);
      BOOST_REQUIRE(w.finish() == 0);
      close(fd);
      std::string err;
      ImageReader r;
      BOOST_TEST(!r.open(path, &err));
      BOOST_TEST(contains(err, "corrupt image"), err);
      unlink(path.c_str());
    }
  }
}

BOOST_AUTO_TEST_CASE(names_outside_the_blob_are_refused) {
  RegionEntry e{};
  e.start = 0x10000;
  e.end = 0x11000;
  e.name_offset = 3;
  e.name_len = 2;  // blob is 4 bytes: 3 + 2 > 4
  std::string path = temp_path("names");
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ImageWriter w;
  BOOST_REQUIRE(w.init({}) == 0);
  BOOST_REQUIRE(w.begin(fd, sample_header(), &e, 1, "abcd", 4) == 0);
  BOOST_REQUIRE(w.finish() == 0);
  close(fd);
  std::string err;
  ImageReader r;
  BOOST_TEST(!r.open(path, &err));
  BOOST_TEST(contains(err, "names blob"), err);
  unlink(path.c_str());
}

BOOST_AUTO_TEST_CASE(from_file_only_for_named_private_file_mappings) {
  // A region that comes back from its file must name a private file
  // mapping; anything else is a damaged table, refused before restart uses
  // it.  The valid combination is accepted.
  struct Case {
    const char* what;
    uint32_t flags;
    uint32_t name_len;
    bool ok;
  };
  const Case cases[] = {
      {"named private file mapping", kRegionFile | kRegionPrivate, 4, true},
      {"anonymous", kRegionAnonymous | kRegionPrivate, 4, false},
      {"shared", kRegionFile | kRegionShared, 4, false},
      {"no name", kRegionFile | kRegionPrivate, 0, false},
      {"reserve only", kRegionFile | kRegionPrivate | kRegionNoData, 4, false},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      RegionEntry e{};
      e.start = 0x10000;
      e.end = 0x11000;
      e.flags = c.flags | kRegionFromFile;
      e.name_len = c.name_len;
      e.file_size = 4096;
      e.file_hash = 1;
      std::string path = temp_path("fromfile");
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      BOOST_REQUIRE(fd >= 0);
      ImageWriter w;
      BOOST_REQUIRE(w.init({}) == 0);
      BOOST_REQUIRE(w.begin(fd, sample_header(), &e, 1, "/lib", 4) == 0);
      BOOST_REQUIRE(w.finish() == 0);
      close(fd);
      std::string err;
      ImageReader r;
      BOOST_TEST(r.open(path, &err) == c.ok, err);
      if (!c.ok) {
        BOOST_TEST(contains(err, "come from its file"), err);
      }
      unlink(path.c_str());
    }
  }
}

BOOST_AUTO_TEST_CASE(writer_refuses_misuse_and_reports_errno) {
  Source s = mixed_source();
  std::vector<RegionEntry> entries;
  for (auto& r : s.regions) {
    entries.push_back(r.entry);
  }
  ImageWriter w;
  BOOST_TEST(w.begin(1, sample_header(), entries.data(), 1, "", 0) ==
             -EINVAL);  // before init
  BOOST_REQUIRE(w.init({}) == 0);

  int fd = open("/dev/full", O_WRONLY);
  BOOST_REQUIRE(fd >= 0);
  BOOST_TEST(w.begin(fd, sample_header(), entries.data(),
                     static_cast<uint32_t>(entries.size()), "", 0) == -ENOSPC);
  close(fd);

  std::string path = temp_path("misuse");
  fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(w.begin(fd, sample_header(), entries.data(),
                        static_cast<uint32_t>(entries.size()), "", 0) == 0);
  BOOST_TEST(w.write_region(0, s.regions[0].mem.data(), 39, nullptr) ==
             -EINVAL);  // wrong size
  BOOST_TEST(w.write_region(2, s.regions[2].mem.data(), 1500, nullptr) == 0);
  BOOST_TEST(w.write_region(0, s.regions[0].mem.data(), 40, nullptr) ==
             -EINVAL);  // out of order
  BOOST_TEST(w.write_region(99, s.regions[0].mem.data(), 40, nullptr) ==
             -EINVAL);
  BOOST_TEST(w.finish() == 0);
  close(fd);

  fd = open(path.c_str(), O_RDONLY);  // not writable
  BOOST_TEST(w.begin(fd, sample_header(), entries.data(),
                     static_cast<uint32_t>(entries.size()), "", 0) == -EBADF);
  close(fd);
  unlink(path.c_str());
}

// The runtime leaves the writer's own mappings out of the image and, after
// restart, makes the writer forget them.
BOOST_AUTO_TEST_CASE(writer_lists_and_forgets_its_own_mappings) {
  using Range = ImageWriter::OwnedRange;
  Range before[64];
  int n0 = ImageWriter::owned_ranges(before, 64);

  ImageWriter w;
  BOOST_REQUIRE(w.init({}) == 0);
  Source s = mixed_source();
  std::string path = temp_path("owned");
  BOOST_REQUIRE_EQUAL(write_image(w, s, path), 0);
  Range during[64];
  int n1 = ImageWriter::owned_ranges(during, 64);
  // State, arena, region shapes, and zstd's context and workspace.
  BOOST_TEST(n1 >= n0 + 4);
  uint64_t total = 0;
  for (int i = 0; i < n1; ++i) {
    BOOST_TEST(during[i].start % kPageSize == 0u);
    BOOST_TEST(during[i].len % kPageSize == 0u);
    total += during[i].len;
  }
  BOOST_TEST(total >= 2 * kMaxChunkBytes);  // the arena at least
  BOOST_TEST(ImageWriter::owned_ranges(during, 2) == std::min(n1, 2));

  // As after restart: the mappings are gone from the list (here they leak),
  // and the writer starts afresh on the next init().
  w.forget_after_restart();
  BOOST_TEST(ImageWriter::owned_ranges(during, 64) == n0);
  BOOST_TEST(w.stats().chunks == 0u);
  BOOST_REQUIRE(w.init({}) == 0);
  BOOST_REQUIRE_EQUAL(write_image(w, s, path), 0);
  std::string err;
  auto got = read_image(path, &err);
  BOOST_REQUIRE_MESSAGE(got.has_value(), err);
  check_restored(s, *got);
  unlink(path.c_str());
}

namespace {

// Whether the file system lets this process write the file at path around
// the page cache (what the writer asks the kernel before using O_DIRECT).
bool direct_io_possible(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  close(fd);
  struct statx stx = {};
  return statx(AT_FDCWD, path.c_str(), 0, STATX_DIOALIGN, &stx) == 0 &&
         (stx.stx_mask & STATX_DIOALIGN) != 0 && stx.stx_dio_mem_align != 0 &&
         stx.stx_dio_offset_align != 0 && stx.stx_dio_mem_align <= 4096 &&
         stx.stx_dio_offset_align <= 4096;
}

// The mixed source and 19.5 MiB of random pages after it: more than two
// of the direct writer's 8 MiB buffers, ending inside a third.
Source source_over_several_buffers() {
  Source s = mixed_source();
  SourceRegion stack = std::move(s.regions.back());  // stays last
  s.regions.pop_back();
  SourceRegion& big = s.add(0x40000000, 5000, kRegionAnonymous, "");
  fill_random(big.mem.data(), big.mem.size(), 7);
  s.regions.push_back(std::move(stack));
  return s;
}

std::vector<uint8_t> after_file_header(const std::vector<uint8_t>& image,
                                       size_t skip = 0) {
  BOOST_REQUIRE(image.size() >= skip + sizeof(FileHeader));
  return {image.begin() + static_cast<ptrdiff_t>(skip + sizeof(FileHeader)),
          image.end()};
}

}  // namespace

// Direct I/O (O_DIRECT from the writer's own buffer) writes the very bytes
// the page cache path writes (but the image's random identity in the file
// header), and they read back.  The images go to the working directory (the
// build tree, a disk file system where direct I/O is possible), not to
// /dev/shm.
BOOST_AUTO_TEST_CASE(direct_io_writes_the_same_image) {
  std::string direct = "image_test." + std::to_string(getpid()) + ".direct";
  std::string cached = "image_test." + std::to_string(getpid()) + ".cached";
  bool possible = direct_io_possible(direct);
  BOOST_TEST_MESSAGE("direct I/O possible in the working directory: "
                     << possible);
  for (bool compress : {true, false}) {
    BOOST_TEST_CONTEXT("compress=" << compress) {
      Source s = source_over_several_buffers();
      ImageWriter a;
      BOOST_REQUIRE(a.init({.compress = compress, .direct_io = true}) == 0);
      BOOST_REQUIRE_EQUAL(write_image(a, s, direct), 0);
      ImageWriter b;
      BOOST_REQUIRE(b.init({.compress = compress, .direct_io = false}) == 0);
      BOOST_REQUIRE_EQUAL(write_image(b, s, cached), 0);
      BOOST_TEST(a.stats().direct_io == possible);
      BOOST_TEST(!b.stats().direct_io);
      BOOST_TEST(after_file_header(slurp(direct)) ==
                 after_file_header(slurp(cached)));

      std::string err;
      auto got = read_image(direct, &err);
      BOOST_REQUIRE_MESSAGE(got.has_value(), err);
      check_restored(s, *got);
    }
  }
  // An image that fits in the writer's buffer is written in one piece
  // through the page cache: cheaper than a direct write plus the fsync.
  Source small = mixed_source();
  ImageWriter w;
  BOOST_REQUIRE(w.init({.direct_io = true}) == 0);
  BOOST_REQUIRE_EQUAL(write_image(w, small, direct), 0);
  BOOST_TEST(!w.stats().direct_io);
  std::string err;
  auto got = read_image(direct, &err);
  BOOST_REQUIRE_MESSAGE(got.has_value(), err);
  check_restored(small, *got);
  unlink(direct.c_str());
  unlink(cached.c_str());
}

// Where direct I/O cannot start (here: the image begins at an offset no
// block boundary), the writer writes through the page cache, from where
// the file's offset was, and leaves the offset at the image's end.
BOOST_AUTO_TEST_CASE(direct_io_falls_back_to_the_page_cache) {
  std::string path = "image_test." + std::to_string(getpid()) + ".offset";
  std::string plain = "image_test." + std::to_string(getpid()) + ".plain";
  Source s = source_over_several_buffers();
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  const char prefix[100] = "not an image";
  BOOST_REQUIRE(write(fd, prefix, sizeof prefix) ==
                static_cast<ssize_t>(sizeof prefix));
  ImageWriter w;
  BOOST_REQUIRE(w.init({.direct_io = true}) == 0);
  BOOST_REQUIRE_EQUAL(write_image_to(w, s, fd), 0);
  BOOST_TEST(!w.stats().direct_io);
  off_t end = lseek(fd, 0, SEEK_CUR);
  close(fd);
  BOOST_REQUIRE_EQUAL(write_image(w, s, plain), 0);
  std::vector<uint8_t> image = slurp(path);
  BOOST_TEST(end == static_cast<off_t>(image.size()));
  BOOST_TEST(after_file_header(image, sizeof prefix) ==
             after_file_header(slurp(plain)));
  unlink(path.c_str());
  unlink(plain.c_str());
}
