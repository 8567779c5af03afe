// image_reader_fuzz.cpp -- libFuzzer target: any bytes handed to
// dmtcp_restart's image reader as an image are refused with an error or
// read whole; never a crash, a hang, an overflow or undefined behaviour
// (built with ASan and UBSan, fuzz/CMakeLists.txt).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "image/image_reader.h"

namespace {

// Regions larger than this are skipped rather than allocated: a fuzzed
// region table may claim terabytes, which the reader itself accepts when
// the file is that big; what is exercised here is the parsing.
constexpr uint64_t kMaxRegionBytes = 1ull << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("fuzzed-image", MFD_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) {
      close(fd);
      return 0;
    }
    done += static_cast<size_t>(n);
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  {
    dmtcp::image::ImageReader r;
    std::string error;
    if (r.open(path, &error)) {
      std::vector<std::vector<uint8_t>> dest(r.regions().size());
      r.read_data(
          [&](uint32_t i) -> uint8_t* {
            const auto& e = r.regions().at(i);
            uint64_t len = e.end - e.start;
            if (e.end < e.start || len > kMaxRegionBytes) {
              return dmtcp::image::ImageReader::skip();
            }
            dest[i].assign(len, 0);
            return dest[i].data();
          },
          &error);
      for (uint32_t i = 0; i < r.regions().size(); ++i) {
        (void)r.region_name(i);
      }
    }
  }
  close(fd);
  return 0;
}
