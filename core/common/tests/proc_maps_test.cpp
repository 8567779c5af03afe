#define BOOST_TEST_MODULE proc_maps
#include <sys/mman.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "common/proc_maps.h"

using dmtcp::MapEntry;
using dmtcp::parse_maps_line;

BOOST_AUTO_TEST_CASE(parses_a_file_mapping) {
  MapEntry e;
  BOOST_REQUIRE(parse_maps_line(
      "7f1c2a000000-7f1c2a021000 r-xp 0001a000 fd:01 1234567      "
      "/usr/lib/x86_64-linux-gnu/libc.so.6",
      &e));
  BOOST_TEST(e.start == 0x7f1c2a000000ull);
  BOOST_TEST(e.end == 0x7f1c2a021000ull);
  BOOST_TEST(e.prot == (PROT_READ | PROT_EXEC));
  BOOST_TEST(!e.shared);
  BOOST_TEST(e.offset == 0x1a000ull);
  BOOST_TEST(e.dev_major == 0xfdu);
  BOOST_TEST(e.dev_minor == 1u);
  BOOST_TEST(e.inode == 1234567u);
  BOOST_TEST(e.path == "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

BOOST_AUTO_TEST_CASE(parses_anonymous_and_special_mappings) {
  MapEntry e;
  BOOST_REQUIRE(parse_maps_line(
      "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0 ", &e));
  BOOST_TEST(e.path.empty());
  BOOST_TEST(e.prot == (PROT_READ | PROT_WRITE));
  BOOST_REQUIRE(parse_maps_line(
      "7ffd1e9f0000-7ffd1e9f2000 r--p 00000000 00:00 0   [vvar_vclock]",
      &e));
  BOOST_TEST(e.is_special("[vvar_vclock]"));
  BOOST_REQUIRE(parse_maps_line(
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]",
      &e));
  BOOST_TEST(e.prot == PROT_EXEC);
  BOOST_REQUIRE(parse_maps_line(
      "7f0000000000-7f0000001000 rw-s 00000000 00:01 42  /dev/zero (deleted)",
      &e));
  BOOST_TEST(e.shared);
  BOOST_TEST(e.path == "/dev/zero (deleted)");
}

BOOST_AUTO_TEST_CASE(paths_with_spaces_are_kept_whole) {
  MapEntry e;
  BOOST_REQUIRE(parse_maps_line(
      "1000-2000 rw-p 00000000 08:02 7 /tmp/a dir/my file", &e));
  BOOST_TEST(e.path == "/tmp/a dir/my file");
}

BOOST_AUTO_TEST_CASE(rejects_malformed_lines) {
  MapEntry e;
  const char* bad[] = {
      "",
      "zzzz-2000 rw-p 00000000 00:00 0",
      "2000-1000 rw-p 00000000 00:00 0",  // end before start
      "1000-2000 rwqp 00000000 00:00 0",
      "1000-2000 rw-x 00000000 00:00 0",  // neither p nor s
      "1000-2000 rw-p 00000000 00-00 0",
      "1000-2000 rw-p",
      "1000-2000 rw-p 00000000 00:00 x",
      "10000000000000000-2 rw-p 0 0:0 0",  // 17 hex digits
  };
  for (const char* line : bad) {
    BOOST_TEST(!parse_maps_line(line, &e), "accepted: " << line);
  }
}

BOOST_AUTO_TEST_CASE(reads_its_own_maps) {
  static char buf[1 << 20];
  long n = dmtcp::read_proc_file("/proc/self/maps", buf, sizeof buf);
  BOOST_REQUIRE(n > 0);
  std::vector<std::string> specials;
  bool saw_this_function = false;
  auto self = reinterpret_cast<uint64_t>(&parse_maps_line);
  BOOST_REQUIRE(dmtcp::for_each_map(
      std::string_view(buf, static_cast<size_t>(n)), [&](const MapEntry& m) {
        if (!m.path.empty() && m.path[0] == '[') {
          specials.emplace_back(m.path);
        }
        if (self >= m.start && self < m.end) {
          saw_this_function = (m.prot & PROT_EXEC) != 0;
        }
      }));
  BOOST_TEST(saw_this_function);
  auto has = [&](const char* name) {
    return std::find(specials.begin(), specials.end(), name) !=
           specials.end();
  };
  BOOST_TEST(has("[vdso]"));
  BOOST_TEST(has("[stack]"));
}

BOOST_AUTO_TEST_CASE(read_proc_file_reports_a_small_buffer) {
  char small[16];
  errno = 0;
  BOOST_TEST(dmtcp::read_proc_file("/proc/self/maps", small, sizeof small) ==
             -1);
  BOOST_TEST(errno == EFBIG);
}
