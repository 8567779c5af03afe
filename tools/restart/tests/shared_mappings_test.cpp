// prepare_shared_mappings(): one memfd per shared object across images,
// each page filled by one image, shared files checked before any fork.
#define BOOST_TEST_MODULE shared_mappings
#include "tools/restart/shared_mappings.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "image/image_writer.h"

using namespace dmtcp;
using image::ImageReader;
using image::kPageSize;
using image::RegionEntry;

namespace {

std::string temp_path(const std::string& tag) {
  return "/tmp/shared_mappings_test." + std::to_string(getpid()) + "." + tag;
}

struct Region {
  uint64_t start;
  uint64_t pages;
  uint32_t flags;
  uint32_t prot;
  uint64_t offset;
  uint64_t file_size;
  uint64_t ino;
  std::string name;
};

constexpr uint32_t kObject =
    image::kRegionShared | image::kRegionAnonymous | image::kRegionSharedObject;
constexpr uint32_t kFile =
    image::kRegionShared | image::kRegionFile | image::kRegionSharedFile;

// Writes an image holding only the table (no data) and opens it.
std::unique_ptr<ImageReader> make_image(const std::string& tag,
                                        const std::vector<Region>& regions,
                                        const char* host = "host") {
  std::vector<RegionEntry> entries;
  std::string names;
  for (const Region& r : regions) {
    RegionEntry e{};
    e.start = r.start;
    e.end = r.start + r.pages * kPageSize;
    e.flags = r.flags;
    e.prot = r.prot;
    e.file_offset = r.offset;
    e.file_size = r.file_size;
    e.object_dev = 1;
    e.object_ino = r.ino;
    e.name_offset = static_cast<uint32_t>(names.size());
    e.name_len = static_cast<uint32_t>(r.name.size());
    names += r.name;
    entries.push_back(e);
  }
  std::string path = temp_path(tag);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  image::FileHeader h{};
  snprintf(h.hostname, sizeof h.hostname, "%s", host);
  image::ImageWriter w;
  BOOST_REQUIRE(w.init({}) == 0);
  BOOST_REQUIRE(w.begin(fd, h, entries.data(),
                        static_cast<uint32_t>(entries.size()), names.data(),
                        static_cast<uint32_t>(names.size())) == 0);
  BOOST_REQUIRE(w.finish() == 0);
  close(fd);
  auto reader = std::make_unique<ImageReader>();
  std::string err;
  BOOST_REQUIRE_MESSAGE(reader->open(path, &err), err);
  unlink(path.c_str());
  return reader;
}

restart::SharedMapping mapping(const ImageReader* r, uint32_t i) {
  auto m = restart::shared_mapping_for(r, i);
  BOOST_REQUIRE(m.has_value());
  return *m;
}

uint64_t ino_of(int fd) {
  struct stat st {};
  BOOST_REQUIRE(fstat(fd, &st) == 0);
  return st.st_ino;
}

}  // namespace

BOOST_AUTO_TEST_CASE(one_object_per_inode_and_each_page_filled_once) {
  constexpr int kRW = PROT_READ | PROT_WRITE;
  std::vector<std::unique_ptr<ImageReader>> images;
  // Parent: object 7 pages [0, 8) as two regions, object 9 pages [0, 2).
  images.push_back(make_image(
      "parent",
      {{0x100000, 4, kObject, kRW, 0, 0, 7, "/dev/zero (deleted)"},
       {0x104000, 4, kObject, PROT_READ, 4 * kPageSize, 0, 7,
        "/dev/zero (deleted)"},
       {0x200000, 2, kObject, kRW, 0, 0, 9, "/memfd:buf (deleted)"}}));
  // Child: object 7 pages [2, 6) (covered: skips), then [6, 12) (new pages
  // 8-11: fills); object 9 again (skips).
  images.push_back(make_image(
      "child", {{0x102000, 4, kObject, kRW, 2 * kPageSize, 0, 7, "/dev/zero"},
                {0x300000, 6, kObject, kRW, 6 * kPageSize, 0, 7, "/dev/zero"},
                {0x400000, 2, kObject, kRW, 0, 0, 9, "/memfd:buf (deleted)"}}));
  // Another host's inode 7 is another object.
  images.push_back(make_image(
      "other", {{0x100000, 1, kObject, kRW, 0, 0, 7, "/dev/zero (deleted)"}},
      "elsewhere"));
  std::string err;
  BOOST_REQUIRE_MESSAGE(restart::prepare_shared_mappings(images, &err), err);

  const ImageReader* p = images[0].get();
  const ImageReader* c = images[1].get();
  const ImageReader* o = images[2].get();
  int obj7 = mapping(p, 0).fd;
  BOOST_TEST(mapping(p, 1).fd == obj7);
  BOOST_TEST(mapping(c, 0).fd == obj7);
  BOOST_TEST(mapping(c, 1).fd == obj7);
  int obj9 = mapping(p, 2).fd;
  BOOST_TEST(mapping(c, 2).fd == obj9);
  BOOST_TEST(obj9 != obj7);
  BOOST_TEST(ino_of(obj9) != ino_of(obj7));
  BOOST_TEST(mapping(o, 0).fd != obj7);

  BOOST_TEST(mapping(p, 0).fill);
  BOOST_TEST(mapping(p, 1).fill);
  BOOST_TEST(!mapping(c, 0).fill);
  BOOST_TEST(mapping(c, 1).fill);
  BOOST_TEST(mapping(p, 2).fill);
  BOOST_TEST(!mapping(c, 2).fill);
  BOOST_TEST(mapping(o, 0).fill);

  // As long as the furthest mapping; named after the object.
  struct stat st {};
  BOOST_REQUIRE(fstat(obj7, &st) == 0);
  BOOST_TEST(st.st_size == static_cast<off_t>(12 * kPageSize));
  char link[64], target[256] = {};
  snprintf(link, sizeof link, "/proc/self/fd/%d", obj9);
  BOOST_REQUIRE(readlink(link, target, sizeof target - 1) > 0);
  BOOST_TEST(std::string(target) == "/memfd:buf (deleted)");
  BOOST_TEST(!restart::shared_mapping_for(p, 3).has_value());

  // One object really is shared: a write through one mapping shows in the
  // other.
  auto* a = static_cast<char*>(
      mmap(nullptr, kPageSize, kRW, MAP_SHARED, obj7, 6 * kPageSize));
  auto* b = static_cast<char*>(
      mmap(nullptr, 2 * kPageSize, kRW, MAP_SHARED, obj7, 5 * kPageSize));
  BOOST_REQUIRE(a != MAP_FAILED);
  BOOST_REQUIRE(b != MAP_FAILED);
  strcpy(a, "shared");
  BOOST_TEST(std::string(b + kPageSize) == "shared");
  munmap(a, kPageSize);
  munmap(b, 2 * kPageSize);

  restart::close_shared_mappings();
  BOOST_TEST(fcntl(obj7, F_GETFD) == -1);
  BOOST_TEST(!restart::shared_mapping_for(p, 0).has_value());
}

BOOST_AUTO_TEST_CASE(shared_files_are_checked_before_anything_forks) {
  std::string file = temp_path("data");
  int fd = open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(ftruncate(fd, 6 * kPageSize) == 0);
  close(fd);
  constexpr int kRW = PROT_READ | PROT_WRITE;
  auto images_with = [&](uint64_t file_size) {
    std::vector<std::unique_ptr<ImageReader>> v;
    // Pages [2, 6) of a file of file_size bytes.
    v.push_back(make_image(
        "f", {{0x100000, 4, kFile, kRW, 2 * kPageSize, file_size, 1, file}}));
    return v;
  };
  std::string err;
  {
    auto images = images_with(6 * kPageSize);
    BOOST_REQUIRE_MESSAGE(restart::prepare_shared_mappings(images, &err), err);
    restart::SharedMapping m = mapping(images[0].get(), 0);
    BOOST_TEST(!m.fill);
    BOOST_TEST((fcntl(m.fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    restart::close_shared_mappings();
  }
  {
    // The mapping ran past the end of a 5-page file: 5 pages are enough.
    auto images = images_with(5 * kPageSize);
    BOOST_TEST(restart::prepare_shared_mappings(images, &err), err);
    restart::close_shared_mappings();
  }
  BOOST_REQUIRE(truncate(file.c_str(), 5 * kPageSize) == 0);
  {
    auto images = images_with(6 * kPageSize);
    BOOST_TEST(!restart::prepare_shared_mappings(images, &err));
    BOOST_TEST(err == file +
                          " has shrunk since the checkpoint (20480 bytes, the "
                          "program had 24576 of it mapped shared; restore the "
                          "file to restart)");
    BOOST_TEST(!restart::shared_mapping_for(images[0].get(), 0).has_value());
  }
  unlink(file.c_str());
  {
    auto images = images_with(6 * kPageSize);
    BOOST_TEST(!restart::prepare_shared_mappings(images, &err));
    BOOST_TEST(err == file +
                          " is gone (the program had it mapped shared; "
                          "restore the file to restart)");
  }
  BOOST_REQUIRE(mkdir(file.c_str(), 0700) == 0);
  {
    auto images = images_with(0);
    BOOST_TEST(!restart::prepare_shared_mappings(images, &err));
    BOOST_TEST(err.find("cannot open") != std::string::npos, err);
  }
  rmdir(file.c_str());
}
