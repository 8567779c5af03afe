#include "image_files.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

namespace dmtcp::coordinator {

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

namespace {

bool regular_file_of_ours(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         st.st_uid == ::getuid();
}

constexpr size_t kRandomDigits = 16;

bool is_random_suffix(const char* s) {
  size_t n = 0;
  for (; s[n] != '\0'; ++n) {
    if (n == kRandomDigits || !isxdigit(static_cast<unsigned char>(s[n]))) {
      return false;
    }
  }
  return n == kRandomDigits;
}

}  // namespace

bool is_our_image_file(const std::string& path, const std::string& suffix) {
  std::string base = path.substr(path.rfind('/') + 1);
  return base.rfind("ckpt_", 0) == 0 && base.size() > suffix.size() + 5 &&
         base.compare(base.size() - suffix.size(), suffix.size(), suffix) ==
             0 &&
         regular_file_of_ours(path);
}

std::vector<std::string> image_temporaries(const std::string& image) {
  std::vector<std::string> found;
  std::string dir = dir_of(image);
  std::string prefix = image.substr(image.rfind('/') + 1) + ".tmp.";
  if (prefix.rfind("ckpt_", 0) != 0) {
    return found;  // not an image name: nothing of ours to look for
  }
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return found;
  }
  while (const dirent* e = ::readdir(d)) {
    if (strncmp(e->d_name, prefix.c_str(), prefix.size()) != 0 ||
        !is_random_suffix(e->d_name + prefix.size())) {
      continue;
    }
    std::string path = dir + "/" + e->d_name;
    if (regular_file_of_ours(path)) {
      found.push_back(path);
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace dmtcp::coordinator
