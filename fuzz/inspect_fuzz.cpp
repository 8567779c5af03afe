// inspect_fuzz.cpp -- libFuzzer target: any bytes given to dmtcp_inspect as
// an image are shown, verified and compared (against themselves) or refused
// with one line; never a crash, a hang or undefined behaviour.  Covers what
// image_reader_fuzz does not: the tool's own views, the runtime's notes
// (arguments, plugins, threads) and the file and pid decoders, which read
// note payloads the reader passes on unchecked.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "tools/inspect/decoders.h"
#include "tools/inspect/image_view.h"
#include "tools/inspect/render.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmtcp::inspect;
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
  for (bool verify : {false, true}) {
    ImageView view;
    Damage damage;
    if (!load(path, verify, &view, &damage)) {
      (void)verify_text(damage_json(view, damage));
      continue;
    }
    Json j = image_json(view, Views{});
    (void)image_text(j);
    (void)dump(j);
    Json d = diff_json(view, view);
    (void)diff_text(d);
  }
  close(fd);
  return 0;
}
