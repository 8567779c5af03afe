// Notes in the image (format 5) and the chunk-at-a-time walk dmtcp_inspect
// uses: notes come back as written; a damaged notes area (with its
// checksums made right again, as a buggy writer would) is refused with one
// line; read_chunks() reports each chunk and, on damaged data, the region.
#define BOOST_TEST_MODULE image_notes
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <boost/test/unit_test.hpp>

#include "image/tests/image_test_support.h"

using namespace dmtcp::image;
using namespace dmtcp::image::test;

namespace {

// Lays out notes as the runtime does: header, payload, zero padding.
std::vector<uint8_t> make_notes(
    const std::vector<std::tuple<std::string, uint32_t, std::string>>& in) {
  std::vector<uint8_t> out;
  for (const auto& [owner, type, payload] : in) {
    NoteHeader h{};
    memcpy(h.owner, owner.data(), std::min(owner.size(), sizeof h.owner));
    h.type = type;
    h.size = static_cast<uint32_t>(payload.size());
    const auto* p = reinterpret_cast<const uint8_t*>(&h);
    out.insert(out.end(), p, p + sizeof h);
    out.insert(out.end(), payload.begin(), payload.end());
    out.resize((out.size() + kNoteAlign - 1) / kNoteAlign * kNoteAlign);
  }
  return out;
}

// One region of three pages (the middle one zero), with these notes.
std::string write_with_notes(const std::vector<uint8_t>& notes, uint32_t count,
                             bool compress = false) {
  RegionEntry e{};
  e.start = 0x10000;
  e.end = 0x13000;
  e.prot = 3;
  e.flags = kRegionPrivate | kRegionAnonymous;
  std::vector<uint8_t> mem(3 * kPage, 0);
  for (size_t i = 0; i < kPage; ++i) {
    mem[i] = static_cast<uint8_t>(i * 7 + 1);
    mem[2 * kPage + i] = static_cast<uint8_t>(i * 13 + 5);
  }
  std::string path = temp_path("notes");
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  ImageWriter w;
  BOOST_REQUIRE(w.init({.compress = compress, .zstd_level = 1}) == 0);
  BOOST_REQUIRE(w.begin(fd, sample_header(), &e, 1, "", 0, notes.data(),
                        static_cast<uint32_t>(notes.size()), count) == 0);
  BOOST_REQUIRE(w.write_region(0, mem.data(), 3, nullptr) == 0);
  BOOST_REQUIRE(w.finish() == 0);
  close(fd);
  return path;
}

// Makes the header's and table's checksums right for the bytes as they are.
void fix_checksums(std::vector<uint8_t>* image) {
  FileHeader h;
  memcpy(&h, image->data(), sizeof h);
  h.table_checksum = XXH3_64bits(image->data() + sizeof h,
                                 h.region_count * sizeof(RegionEntry) +
                                     size_t{h.names_size} + h.notes_size);
  h.header_checksum = 0;
  h.header_checksum = XXH3_64bits(&h, sizeof h);
  memcpy(image->data(), &h, sizeof h);
}

std::string open_error(const std::string& path) {
  ImageReader r;
  std::string err;
  return r.open(path, &err) ? "" : err;
}

}  // namespace

BOOST_AUTO_TEST_CASE(notes_come_back_as_written) {
  std::string args("prog\0-x\0", 8);
  std::string odd(13, 'z');
  auto notes = make_notes({{"core", 1, args}, {"file", 7, odd}, {"x", 0, ""}});
  std::string path = write_with_notes(notes, 3);
  ImageReader r;
  std::string err;
  BOOST_REQUIRE_MESSAGE(r.open(path, &err), err);
  BOOST_TEST(r.header().format_version == kFormatVersion);
  BOOST_TEST(r.header().notes_count == 3u);
  BOOST_REQUIRE(r.notes().size() == 3u);
  BOOST_TEST(r.notes()[0].owner == "core");
  BOOST_TEST(r.notes()[0].type == 1u);
  BOOST_TEST(r.notes()[0].payload == args);
  BOOST_TEST(r.notes()[1].owner == "file");
  BOOST_TEST(r.notes()[1].payload == odd);
  BOOST_TEST(r.notes()[2].owner == "x");
  BOOST_TEST(r.notes()[2].payload.empty());
  // The data after the notes reads as before.
  auto got = read_image(path, &err);
  BOOST_TEST_MESSAGE(err);
  BOOST_TEST(got.has_value());
  unlink(path.c_str());
}

BOOST_AUTO_TEST_CASE(damaged_notes_are_refused) {
  auto notes = make_notes({{"core", 1, "abc"}, {"file", 2, "defgh"}});
  std::string path = write_with_notes(notes, 2);
  std::vector<uint8_t> good = slurp(path);
  size_t notes_at = sizeof(FileHeader) + sizeof(RegionEntry);
  struct Case {
    const char* what;
    std::function<void(std::vector<uint8_t>*)> damage;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"owner fills its field",
       [&](auto* img) { memset(img->data() + notes_at, 'a', 16); },
       "owner is not a name"},
      {"empty owner", [&](auto* img) { (*img)[notes_at] = 0; },
       "owner is not a name"},
      {"payload past the end",
       [&](auto* img) {
         uint32_t big = 1000;
         memcpy(img->data() + notes_at + offsetof(NoteHeader, size), &big, 4);
       },
       "payload runs past the notes"},
      {"one note more than listed",
       [&](auto* img) {
         uint32_t one = 1;
         memcpy(img->data() + offsetof(FileHeader, notes_count), &one, 4);
       },
       "more notes than the header lists"},
      {"one note fewer than listed",
       [&](auto* img) {
         uint32_t three = 3;
         memcpy(img->data() + offsetof(FileHeader, notes_count), &three, 4);
       },
       "3 notes in 64 bytes"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      std::vector<uint8_t> img = good;
      c.damage(&img);
      fix_checksums(&img);
      spit(path, img.data(), img.size());
      std::string err = open_error(path);
      BOOST_TEST(err.find(c.expect) != std::string::npos, err);
      BOOST_TEST(err.find("(corrupt image)") != std::string::npos, err);
    }
  }
  // Without the checksums made right, the table checksum says it first.
  std::vector<uint8_t> img = good;
  img[notes_at + sizeof(NoteHeader)] ^= 1;
  spit(path, img.data(), img.size());
  BOOST_TEST(open_error(path).find("region table checksum mismatch") !=
             std::string::npos);
  unlink(path.c_str());
}

BOOST_AUTO_TEST_CASE(read_chunks_reports_each_chunk_and_the_bad_region) {
  for (bool compress : {false, true}) {
    BOOST_TEST_CONTEXT("compress=" << compress) {
      std::string path = write_with_notes({}, 0, compress);
      std::vector<uint8_t> good = slurp(path);
      std::vector<uint8_t> buf(kMaxChunkBytes);
      std::vector<ImageReader::ChunkInfo> seen;
      ImageReader r;
      std::string err;
      BOOST_REQUIRE_MESSAGE(r.open(path, &err), err);
      BOOST_REQUIRE_MESSAGE(
          r.read_chunks([&](const auto&) { return buf.data(); },
                        [&](const auto& c) { seen.push_back(c); }, &err),
          err);
      // Pages 0 and 2: the zero page between them splits two chunks.
      BOOST_REQUIRE(seen.size() == 2u);
      BOOST_TEST(seen[0].page_offset == 0u);
      BOOST_TEST(seen[1].page_offset == 2u);
      BOOST_TEST(seen[0].page_count == 1u);
      BOOST_TEST(r.error_region() == -1);

      // A flipped byte in the last chunk's payload: region 0 is named, and
      // the chunk before it was reported done.
      std::vector<uint8_t> bad = good;
      bad[good.size() - sizeof(Trailer) - 10] ^= 0x40;
      spit(path, bad.data(), bad.size());
      seen.clear();
      ImageReader r2;
      BOOST_REQUIRE_MESSAGE(r2.open(path, &err), err);
      BOOST_TEST(!r2.read_chunks([&](const auto&) { return buf.data(); },
                                 [&](const auto& c) { seen.push_back(c); },
                                 &err));
      BOOST_TEST(r2.error_region() == 0);
      BOOST_TEST(seen.size() == 1u);
      BOOST_TEST(err.find("(corrupt image)") != std::string::npos, err);
      unlink(path.c_str());
    }
  }
}
