// Parsing /proc/<pid>/maps without allocating: the checkpoint thread reads
// its own maps while user threads may hold the malloc lock.
#pragma once

#include <cstdint>
#include <string_view>

namespace dmtcp {

struct MapEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;
  uint64_t inode = 0;
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  int prot = 0;          // PROT_READ | PROT_WRITE | PROT_EXEC
  bool shared = false;   // 's' rather than 'p'
  std::string_view path; // points into the parsed buffer; may be empty

  bool is_special(std::string_view name) const { return path == name; }

  // Private anonymous memory (heap, stacks, anonymous mmaps): untouched
  // pages are zero, pagemap tells which were touched.
  bool is_private_anonymous() const {
    return !shared && (path.empty() || path == "[heap]" || path == "[stack]" ||
                       path.substr(0, 6) == "[anon:" || inode == 0);
  }
};

// Parses one line, without its newline.  False for a malformed line.
bool parse_maps_line(std::string_view line, MapEntry* out);

// Calls f(const MapEntry&) for each line of a whole maps file in buf; returns
// false (and stops) at the first malformed line.
template <class F>
bool for_each_map(std::string_view buf, F&& f) {
  while (!buf.empty()) {
    size_t nl = buf.find('\n');
    std::string_view line = buf.substr(0, nl);
    buf = nl == std::string_view::npos ? std::string_view{}
                                       : buf.substr(nl + 1);
    if (line.empty()) {
      continue;
    }
    MapEntry e;
    if (!parse_maps_line(line, &e)) {
      return false;
    }
    f(e);
  }
  return true;
}

// Reads a whole /proc file into buf (cap bytes) with plain read(2) calls.
// Returns the length, or -1 (errno set; EFBIG if it did not fit).
long read_proc_file(const char* path, char* buf, unsigned long cap);

}  // namespace dmtcp
