#include "common/proc_maps.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace dmtcp {
namespace {

// Parses a hex number up to the first character that is not a hex digit.
bool take_hex(std::string_view* s, uint64_t* out) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < s->size(); ++i) {
    char c = (*s)[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      break;
    }
    if (i >= 16) {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  if (i == 0) {
    return false;
  }
  *out = v;
  s->remove_prefix(i);
  return true;
}

bool take_dec(std::string_view* s, uint64_t* out) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < s->size() && (*s)[i] >= '0' && (*s)[i] <= '9'; ++i) {
    if (i >= 20) {
      return false;
    }
    v = v * 10 + static_cast<uint64_t>((*s)[i] - '0');
  }
  if (i == 0) {
    return false;
  }
  *out = v;
  s->remove_prefix(i);
  return true;
}

bool take_char(std::string_view* s, char c) {
  if (s->empty() || (*s)[0] != c) {
    return false;
  }
  s->remove_prefix(1);
  return true;
}

void skip_spaces(std::string_view* s) {
  while (!s->empty() && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
    s->remove_prefix(1);
  }
}

}  // namespace

// Format (proc(5)):
//   start-end perms offset major:minor inode [path]
//   7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0      [heap]
bool parse_maps_line(std::string_view s, MapEntry* out) {
  MapEntry e;
  if (!take_hex(&s, &e.start) || !take_char(&s, '-') ||
      !take_hex(&s, &e.end) || !take_char(&s, ' ')) {
    return false;
  }
  if (s.size() < 5 || e.end < e.start) {
    return false;
  }
  if (s[0] == 'r') {
    e.prot |= PROT_READ;
  } else if (s[0] != '-') {
    return false;
  }
  if (s[1] == 'w') {
    e.prot |= PROT_WRITE;
  } else if (s[1] != '-') {
    return false;
  }
  if (s[2] == 'x') {
    e.prot |= PROT_EXEC;
  } else if (s[2] != '-') {
    return false;
  }
  if (s[3] == 's') {
    e.shared = true;
  } else if (s[3] != 'p') {
    return false;
  }
  s.remove_prefix(4);
  uint64_t major = 0;
  uint64_t minor = 0;
  if (!take_char(&s, ' ') || !take_hex(&s, &e.offset) ||
      !take_char(&s, ' ') || !take_hex(&s, &major) || !take_char(&s, ':') ||
      !take_hex(&s, &minor) || !take_char(&s, ' ') ||
      !take_dec(&s, &e.inode)) {
    return false;
  }
  e.dev_major = static_cast<uint32_t>(major);
  e.dev_minor = static_cast<uint32_t>(minor);
  skip_spaces(&s);
  e.path = s;
  *out = e;
  return true;
}

long read_proc_file(const char* path, char* buf, unsigned long cap) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  unsigned long used = 0;
  for (;;) {
    if (used == cap) {
      ::close(fd);
      errno = EFBIG;
      return -1;
    }
    ssize_t n = ::read(fd, buf + used, cap - used);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      return -1;
    }
    if (n == 0) {
      break;
    }
    used += static_cast<unsigned long>(n);
  }
  ::close(fd);
  return static_cast<long>(used);
}

}  // namespace dmtcp
