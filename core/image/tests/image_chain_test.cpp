// Incremental images (docs/incremental.md) at the format level: the
// inheritance rule, the chain link in the header (checked by the reader),
// and the writer's page filter values for pages that changed to zero.
#define BOOST_TEST_MODULE image_chain
#include <sys/mman.h>

#include <boost/test/unit_test.hpp>

#include "image/tests/image_test_support.h"

using namespace dmtcp::image;
using namespace dmtcp::image::test;

namespace {

RegionEntry anon(uint64_t start, uint64_t pages) {
  RegionEntry r{};
  r.start = start;
  r.end = start + pages * kPage;
  r.prot = 3;
  r.flags = kRegionPrivate | kRegionAnonymous;
  return r;
}

// Writes one 4-page anonymous region with header h and filter; returns the
// reader's error ("" = read back), the pages in *out (prefilled 0xff).
std::string write_and_read(const FileHeader& h, const uint8_t* mem,
                           const uint8_t* filter, std::vector<uint8_t>* out,
                           const std::string& tag) {
  std::string path = temp_path(tag);
  RegionEntry r = anon(0x400000, 4);
  ImageWriter w;
  BOOST_REQUIRE(w.init({.compress = true, .zstd_level = 1}) == 0);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(w.begin(fd, h, &r, 1, nullptr, 0) == 0);
  BOOST_REQUIRE(w.write_region(0, mem, 4, filter) == 0);
  BOOST_REQUIRE(w.finish() == 0);
  close(fd);
  ImageReader rd;
  std::string error;
  out->assign(4 * kPage, 0xff);
  bool ok = rd.open(path, &error) &&
            rd.read_data([&](uint32_t) { return out->data(); }, &error);
  unlink(path.c_str());
  return ok ? "" : error;
}

FileHeader incremental_header() {
  FileHeader h = sample_header();
  h.flags = kHeaderIncremental | kHeaderIncrementalMode;
  h.image_id[0] = 7;
  h.parent_id[1] = 9;
  h.parent_generation = h.generation - 1;
  h.chain_depth = 1;
  h.chain_base_generation = h.parent_generation;
  snprintf(h.parent_path, sizeof h.parent_path, "/ckpt/prev.dmtcp");
  return h;
}

}  // namespace

BOOST_AUTO_TEST_CASE(only_the_same_private_mapping_inherits) {
  RegionEntry a = anon(0x400000, 8);
  BOOST_TEST(region_inherits(a, a));
  RegionEntry b = a;
  b.end += kPage;
  BOOST_TEST(!region_inherits(a, b));  // grew
  b = a;
  b.start += 0x1000000;
  b.end += 0x1000000;
  BOOST_TEST(!region_inherits(a, b));  // moved
  b = a;
  b.flags |= kRegionNoData;
  BOOST_TEST(!region_inherits(b, b));
  b = a;
  b.flags = kRegionShared | kRegionAnonymous | kRegionSharedObject;
  BOOST_TEST(!region_inherits(b, b));  // shared memory is stored whole
  b = a;
  b.prot = 1;
  BOOST_TEST(region_inherits(a, b));  // protection is not content
  RegionEntry f = a;
  f.flags = kRegionPrivate | kRegionFile | kRegionFromFile;
  f.file_size = 8 * kPage;
  f.file_hash = 1;
  RegionEntry g = f;
  BOOST_TEST(region_inherits(f, g));
  g.file_hash = 2;
  BOOST_TEST(!region_inherits(f, g));  // another file under it
  g = f;
  g.file_offset = kPage;
  BOOST_TEST(!region_inherits(f, g));
}

BOOST_AUTO_TEST_CASE(full_images_get_an_identity_and_no_link) {
  std::vector<uint8_t> mem(4 * kPage, 1);
  std::string path = temp_path("full");
  Source s;
  s.add(0x400000, 4, kRegionPrivate | kRegionAnonymous, "a").mem = mem;
  BOOST_REQUIRE(write_image(s, path, true) == 0);
  ImageReader r;
  std::string error;
  BOOST_REQUIRE_MESSAGE(r.open(path, &error), error);
  const FileHeader& h = r.header();
  BOOST_TEST((h.image_id[0] != 0 || h.image_id[1] != 0));
  BOOST_TEST(h.chain_base_generation == h.generation);
  BOOST_TEST((h.flags & kHeaderIncremental) == 0u);
  ImageReader again;
  std::string path2 = temp_path("full2");
  BOOST_REQUIRE(write_image(s, path2, true) == 0);
  BOOST_REQUIRE(again.open(path2, &error));
  BOOST_TEST((again.header().image_id[0] != h.image_id[0] ||
              again.header().image_id[1] != h.image_id[1]));
  unlink(path.c_str());
  unlink(path2.c_str());
}

BOOST_AUTO_TEST_CASE(the_link_is_checked) {
  std::vector<uint8_t> mem(4 * kPage, 1);
  std::vector<uint8_t> out;
  FileHeader good = incremental_header();
  BOOST_TEST(write_and_read(good, mem.data(), nullptr, &out, "link") == "");

  auto refused = [&](FileHeader h, const char* part, const char* what) {
    std::string error = write_and_read(h, mem.data(), nullptr, &out, "bad");
    BOOST_TEST_CONTEXT(what) {
      BOOST_TEST(contains(error, part), error);
      BOOST_TEST(contains(error, "(corrupt image)"), error);
    }
  };
  FileHeader h = good;
  h.chain_depth = 0;
  refused(h, "impossible link", "depth 0");
  h = good;
  h.parent_id[1] = 0;
  refused(h, "impossible link", "no parent id");
  h = good;
  h.parent_generation = h.generation;
  refused(h, "impossible link", "parent not older");
  h = good;
  h.chain_base_generation = h.parent_generation + 1;
  refused(h, "impossible link", "base newer than parent");
  h = good;
  h.parent_path[0] = '\0';
  refused(h, "impossible link", "no path");
  h = good;
  memset(h.parent_path, 'x', sizeof h.parent_path);
  refused(h, "not terminated", "unterminated path");
  h = good;
  h.flags = kHeaderIncrementalMode;  // full, but the link fields are set
  refused(h, "full image with a link", "full image with a link");
  h = good;
  h.flags |= 1u << 7;
  refused(h, "unknown header flags", "unknown flag");
}

BOOST_AUTO_TEST_CASE(pages_that_turned_zero_are_stored_as_zero) {
  // Page 0 zero in memory but stored (2); page 1 stored as zeros without
  // being read (its memory is not even readable); page 2 unchanged (0);
  // page 3 data (2).
  size_t len = 4 * kPage;
  auto* mem = static_cast<uint8_t*>(mmap(nullptr, len, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  BOOST_REQUIRE(mem != MAP_FAILED);
  memset(mem + 2 * kPage, 5, 2 * kPage);
  BOOST_REQUIRE(mprotect(mem + kPage, kPage, PROT_NONE) == 0);
  uint8_t filter[4] = {2, kStoreZeroPage, 0, 2};
  std::vector<uint8_t> out;
  std::string error = write_and_read(incremental_header(), mem, filter, &out,
                                     "zeros");
  BOOST_REQUIRE_MESSAGE(error.empty(), error);
  auto all = [&](size_t page, uint8_t v) {
    return std::all_of(out.begin() + page * kPage,
                       out.begin() + (page + 1) * kPage,
                       [v](uint8_t b) { return b == v; });
  };
  BOOST_TEST(all(0, 0));     // stored although zero
  BOOST_TEST(all(1, 0));     // zeros of the writer's own
  BOOST_TEST(all(2, 0xff));  // not stored: the predecessor's stays
  BOOST_TEST(all(3, 5));
  munmap(mem, len);
}

// A sparse region written in parts (ImageWriter::write_region_pages, as the
// checkpoint writes a huge MAP_NORESERVE mapping): the parts' pages come
// back, pages no part names are zero even if memory held data there, and
// parts must come in increasing order without overlap.
BOOST_AUTO_TEST_CASE(a_region_written_in_parts) {
  std::string path = temp_path("parts");
  RegionEntry r = anon(0x400000, 8);
  std::vector<uint8_t> mem(8 * kPage);
  for (size_t i = 0; i < mem.size(); ++i) {
    mem[i] = static_cast<uint8_t>(i / kPage + 1);
  }
  ImageWriter w;
  BOOST_REQUIRE(w.init({.compress = true, .zstd_level = 1}) == 0);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(w.begin(fd, sample_header(), &r, 1, nullptr, 0) == 0);
  const uint8_t first[2] = {1, 1};
  const uint8_t second[3] = {1, 0, 1};  // pages 4 and 6; 5 is a hole
  BOOST_TEST(w.write_region_pages(0, mem.data(), 0, 2, first) == 0);
  BOOST_TEST(w.write_region_pages(0, mem.data() + 1 * kPage, 1, 2, first) ==
             -EINVAL);  // overlaps the first part
  BOOST_TEST(w.write_region_pages(0, mem.data() + 4 * kPage, 4, 3, second) ==
             0);
  BOOST_TEST(w.write_region_pages(0, mem.data() + 7 * kPage, 7, 2, first) ==
             -EINVAL);  // past the region's end
  BOOST_REQUIRE(w.finish() == 0);
  close(fd);
  ImageReader rd;
  std::string error;
  std::vector<uint8_t> out(8 * kPage, 0);
  BOOST_REQUIRE_MESSAGE(
      rd.open(path, &error) &&
          rd.read_data([&](uint32_t) { return out.data(); }, &error),
      error);
  unlink(path.c_str());
  for (size_t page = 0; page < 8; ++page) {
    bool stored = page == 0 || page == 1 || page == 4 || page == 6;
    uint8_t want = stored ? static_cast<uint8_t>(page + 1) : 0;
    BOOST_TEST(out[page * kPage] == want, "page " << page);
    BOOST_TEST(out[page * kPage + kPage - 1] == want, "page " << page);
  }
}
