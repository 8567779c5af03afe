// Shared mappings in the image (format 4): which flag combinations the
// reader accepts, that a shared file mapping stores no pages, and that a
// region the caller skips (shared memory another image fills) is passed
// over with its chunks still checked.
#define BOOST_TEST_MODULE image_shared
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <boost/test/unit_test.hpp>

#include "image/tests/image_test_support.h"

using namespace dmtcp::image;
using namespace dmtcp::image::test;

namespace {

// Writes one region with the given flags and no data; returns what open()
// says ("" when accepted).
std::string open_error_for(uint32_t flags, uint32_t name_len,
                           uint64_t file_offset = 0) {
  RegionEntry e{};
  e.start = 0x10000;
  e.end = 0x12000;
  e.flags = flags;
  e.name_len = name_len;
  e.file_offset = file_offset;
  e.file_size = 8192;
  e.object_dev = 1;
  e.object_ino = 42;
  std::string path = temp_path("sharedflags");
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  ImageWriter w;
  BOOST_REQUIRE(w.init({}) == 0);
  BOOST_REQUIRE(w.begin(fd, sample_header(), &e, 1, "/tmp/f", 6) == 0);
  BOOST_REQUIRE(w.finish() == 0);
  close(fd);
  std::string err;
  ImageReader r;
  bool ok = r.open(path, &err);
  unlink(path.c_str());
  return ok ? "" : err;
}

// Rewrites region `index`'s flags in an image file and fixes the table and
// header checksums, as a writer that set them would have.
void set_flags(std::vector<uint8_t>* image, uint32_t index, uint32_t flags) {
  FileHeader h;
  memcpy(&h, image->data(), sizeof h);
  size_t at = sizeof h + index * sizeof(RegionEntry);
  RegionEntry e;
  memcpy(&e, image->data() + at, sizeof e);
  e.flags = flags;
  memcpy(image->data() + at, &e, sizeof e);
  h.table_checksum =
      XXH3_64bits(image->data() + sizeof h,
                  h.region_count * sizeof(RegionEntry) + size_t{h.names_size});
  h.header_checksum = 0;
  h.header_checksum = XXH3_64bits(&h, sizeof h);
  memcpy(image->data(), &h, sizeof h);
}

// A shared object region (index 1) between two private ones, data in all.
Source shared_source() {
  Source s;
  SourceRegion& a = s.add(0x400000, 8, kRegionPrivate, "/usr/bin/prog");
  fill_random(a.mem.data(), a.mem.size(), 1);
  SourceRegion& sh = s.add(
      0x800000, 300, kRegionShared | kRegionAnonymous | kRegionSharedObject,
      "/dev/zero (deleted)");
  fill_text(sh.mem.data(), 100 * kPage, 5);   // compresses
  fill_random(sh.page(150), 150 * kPage, 6);  // does not
  SourceRegion& b = s.add(0x1000000, 4, kRegionAnonymous, "");
  fill_random(b.mem.data(), b.mem.size(), 2);
  return s;
}

// Reads path skipping region `skipped`; the other regions land in *out.
bool read_skipping(const std::string& path, uint32_t skipped, Restored* out,
                   std::string* err) {
  ImageReader r;
  if (!r.open(path, err)) {
    return false;
  }
  out->assign(r.regions().size(), {});
  for (size_t i = 0; i < out->size(); ++i) {
    (*out)[i].assign(r.regions()[i].end - r.regions()[i].start, 0);
  }
  return r.read_data(
      [&](uint32_t i) {
        return i == skipped ? ImageReader::skip() : out->at(i).data();
      },
      err);
}

}  // namespace

BOOST_AUTO_TEST_CASE(shared_region_flags_are_checked) {
  constexpr uint32_t kFile = kRegionFile | kRegionShared;
  constexpr uint32_t kAnon = kRegionAnonymous | kRegionShared;
  struct Case {
    const char* what;
    uint32_t flags;
    uint32_t name_len;
    uint64_t file_offset;
    bool ok;
  };
  const Case cases[] = {
      {"shared file", kFile | kRegionSharedFile, 6, 4096, true},
      {"shared object", kAnon | kRegionSharedObject, 6, 8192, true},
      {"unnamed shared object", kAnon | kRegionSharedObject, 0, 0, true},
      {"shared file without a name", kFile | kRegionSharedFile, 0, 0, false},
      {"shared file, not a file", kAnon | kRegionSharedFile, 6, 0, false},
      {"shared file, private", kRegionFile | kRegionPrivate | kRegionSharedFile,
       6, 0, false},
      {"shared file, reserve only", kFile | kRegionSharedFile | kRegionNoData,
       6, 0, false},
      {"shared file from file", kFile | kRegionSharedFile | kRegionFromFile, 6,
       0, false},
      {"shared file, unaligned offset", kFile | kRegionSharedFile, 6, 100,
       false},
      {"shared object with a file", kFile | kRegionSharedObject, 6, 0, false},
      {"shared object, private",
       kRegionAnonymous | kRegionPrivate | kRegionSharedObject, 6, 0, false},
      {"shared object, both sharings",
       kAnon | kRegionPrivate | kRegionSharedObject, 6, 0, false},
      {"both kinds", kFile | kRegionSharedFile | kRegionSharedObject, 6, 0,
       false},
      {"shared object, unaligned offset", kAnon | kRegionSharedObject, 6, 7,
       false},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      std::string err = open_error_for(c.flags, c.name_len, c.file_offset);
      BOOST_TEST(err.empty() == c.ok, err);
      if (!c.ok) {
        // (A from-file region is refused by the from-file check first.)
        BOOST_TEST((contains(err, "shared-mapping flags") ||
                    contains(err, "come from its file")),
                   err);
        BOOST_TEST(contains(err, "region 0 "), err);
        BOOST_TEST(contains(err, "(corrupt image)"), err);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(shared_file_regions_store_no_pages) {
  // The file holds a shared file mapping's pages: none go to the image, even
  // when the caller hands the writer memory full of data.
  Source s;
  SourceRegion& f =
      s.add(0x400000, 64, kRegionFile | kRegionShared | kRegionSharedFile,
            "/data/table");
  fill_random(f.mem.data(), f.mem.size(), 7);
  SourceRegion& a = s.add(0x800000, 2, kRegionAnonymous, "");
  fill_random(a.mem.data(), a.mem.size(), 8);
  std::string path = temp_path("sharedfile");
  ImageWriter w;
  BOOST_REQUIRE(w.init({}) == 0);
  BOOST_REQUIRE_EQUAL(write_image(w, s, path), 0);
  BOOST_TEST(w.stats().chunks == 1u);
  BOOST_TEST(w.stats().raw_bytes == 2 * kPage);
  ImageReader r;
  std::string err;
  BOOST_REQUIRE_MESSAGE(r.open(path, &err), err);
  BOOST_TEST((r.regions()[0].flags & kRegionSharedFile) != 0u);
  unlink(path.c_str());

  // A chunk for such a region is a damaged image: restart would have
  // nowhere to put it.
  Source d;
  SourceRegion& g = d.add(0x400000, 4, kRegionFile | kRegionShared, "/f");
  fill_random(g.mem.data(), g.mem.size(), 9);
  BOOST_REQUIRE_EQUAL(write_image(d, path, true), 0);
  std::vector<uint8_t> image = slurp(path);
  set_flags(&image, 0, kRegionFile | kRegionShared | kRegionSharedFile);
  spit(path, image.data(), image.size());
  BOOST_TEST(!read_image(path, &err).has_value());
  BOOST_TEST(contains(err, "region 0 holds no data"), err);
  BOOST_TEST(contains(err, "(corrupt image)"), err);
  unlink(path.c_str());
}

BOOST_AUTO_TEST_CASE(skipped_regions_are_passed_over_and_still_checked) {
  for (bool compress : {true, false}) {
    BOOST_TEST_CONTEXT("compress=" << compress) {
      Source s = shared_source();
      std::string path = temp_path("skip");
      BOOST_REQUIRE_EQUAL(write_image(s, path, compress), 0);
      Restored got;
      std::string err;
      BOOST_REQUIRE_MESSAGE(read_skipping(path, 1, &got, &err), err);
      // The others are whole; the skipped one was never written to.
      BOOST_TEST(got[0] == s.regions[0].mem);
      BOOST_TEST(got[2] == s.regions[2].mem);
      BOOST_TEST(std::all_of(got[1].begin(), got[1].end(),
                             [](uint8_t b) { return b == 0; }));

      std::vector<uint8_t> image = slurp(path);
      Layout l = walk(image);
      // Truncated inside a skipped chunk: reported as such, with the byte.
      for (const auto& c : l.chunks) {
        if (c.h.region_index != 1) {
          continue;
        }
        size_t cut = c.at + sizeof(ChunkHeader) + c.h.stored_size / 2;
        spit(path, image.data(), cut);
        BOOST_TEST(!read_skipping(path, 1, &got, &err));
        BOOST_TEST(contains(err, "(image incomplete)"), err);
        // A chunk header of a skipped region is checked like any other.
        std::vector<uint8_t> bad = image;
        bad[c.at + offsetof(ChunkHeader, page_count)] ^= 4;
        spit(path, bad.data(), bad.size());
        BOOST_TEST(!read_skipping(path, 1, &got, &err));
        BOOST_TEST(contains(err, "corrupt image"), err);
        // Compressed bytes are covered by the trailer even when skipped.
        if (c.h.encoding == static_cast<uint32_t>(Encoding::kZstd)) {
          bad = image;
          bad[c.at + sizeof(ChunkHeader) + c.h.stored_size / 2] ^= 0x10;
          spit(path, bad.data(), bad.size());
          BOOST_TEST(!read_skipping(path, 1, &got, &err));
          BOOST_TEST(contains(err, "corrupt image"), err);
        }
      }
      // Dropping a skipped chunk still breaks the trailer's totals.
      for (size_t i = 0; i < l.chunks.size(); ++i) {
        if (l.chunks[i].h.region_index != 1) {
          continue;
        }
        size_t end =
            i + 1 < l.chunks.size() ? l.chunks[i + 1].at : l.trailer_start;
        std::vector<uint8_t> cut(image.begin(), image.begin() + l.chunks[i].at);
        cut.insert(cut.end(), image.begin() + end, image.end());
        spit(path, cut.data(), cut.size());
        BOOST_TEST(!read_skipping(path, 1, &got, &err));
        BOOST_TEST(contains(err, "corrupt image"), err);
        break;
      }
      unlink(path.c_str());
    }
  }
}
