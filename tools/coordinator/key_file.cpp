#include "key_file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "protocol/protocol.h"

namespace dmtcp::coordinator {
namespace {

std::string errno_text(const std::string& what) {
  return what + ": " + strerror(errno);
}

}  // namespace

bool make_secret(std::string* hex, std::string* err) {
  unsigned char raw[proto::kSecretHexLen / 2];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      *err = errno_text("getrandom");
      return false;
    }
    got += static_cast<size_t>(n);
  }
  static const char kDigits[] = "0123456789abcdef";
  hex->clear();
  for (unsigned char b : raw) {
    hex->push_back(kDigits[b >> 4]);
    hex->push_back(kDigits[b & 15]);
  }
  return true;
}

bool ensure_private_dir(const std::string& dir, std::string* err) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    *err = errno_text("cannot create " + dir);
    return false;
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    *err = errno_text("cannot stat " + dir);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *err = dir + " is not a directory (refusing to use it)";
    return false;
  }
  if (st.st_uid != getuid()) {
    *err = dir + " belongs to another user (refusing to use it)";
    return false;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    *err = dir + " is writable by others (refusing to use it)";
    return false;
  }
  return true;
}

namespace {

// A fresh file beside `path` under a name nobody can guess, created by us
// (O_EXCL|O_NOFOLLOW): a file or link planted in a shared directory is
// never opened.  The fd, or -1 with errno.
int create_unguessable(const std::string& path, mode_t mode, std::string* tmp) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) {
      r ^= static_cast<uint64_t>(getpid()) << 32 ^ attempt;
    }
    char suffix[32];
    snprintf(suffix, sizeof suffix, ".tmp.%016llx",
             static_cast<unsigned long long>(r));
    *tmp = path + suffix;
    int fd = ::open(tmp->c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd >= 0 || errno != EEXIST) {
      return fd;
    }
  }
  return -1;
}

}  // namespace

bool write_file_atomic(const std::string& path, std::string_view data,
                       mode_t mode, std::string* err) {
  std::string tmp;
  int fd = create_unguessable(path, mode, &tmp);
  if (fd < 0) {
    *err = errno_text("cannot create " + tmp);
    return false;
  }
  // fchmod: the umask must not widen or narrow what we asked for.
  bool ok = ::fchmod(fd, mode) == 0 &&
            proto::write_all(fd, data.data(), data.size()) == 0;
  if (!ok) {
    *err = errno_text("cannot write " + tmp);
  }
  if (::close(fd) != 0 && ok) {
    *err = errno_text("cannot write " + tmp);
    ok = false;
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    *err = errno_text("cannot rename " + tmp + " to " + path);
    ok = false;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
  }
  return ok;
}

int create_replacing(const std::string& path, mode_t mode, std::string* err) {
  std::string tmp;
  int fd = create_unguessable(path, mode, &tmp);
  if (fd < 0) {
    *err = errno_text("cannot create " + tmp);
    return -1;
  }
  if (::fchmod(fd, mode) != 0 || ::fcntl(fd, F_SETFL, O_APPEND) != 0 ||
      ::rename(tmp.c_str(), path.c_str()) != 0) {
    *err = errno_text("cannot make " + path);
    ::unlink(tmp.c_str());
    ::close(fd);
    return -1;
  }
  return fd;
}

namespace {
// write_key_file made shared_key_dir_path() for its copy of the key.
bool g_made_shared_dir = false;
}  // namespace

bool write_key_file(int port, const std::string& secret, std::string* err) {
  // A $DMTCP_TMPDIR that does not exist yet is created (one level), as
  // dmtcp_launch --tmpdir users expect.
  std::string dir = proto::key_dir_path();
  ::mkdir(dir.substr(0, dir.rfind('/')).c_str(), 0700);
  if (!ensure_private_dir(proto::key_dir_path(), err)) {
    return false;
  }
  if (!write_file_atomic(proto::key_file_path(port), secret + "\n", 0600,
                         err)) {
    return false;
  }
  // A copy where tools with another DMTCP_TMPDIR look next
  // (proto::read_secret).  Best effort: without it they fail as before.
  std::string shared = proto::shared_key_dir_path();
  std::string ignored;
  struct stat st {};
  g_made_shared_dir = shared != proto::key_dir_path() &&
                      ::lstat(shared.c_str(), &st) != 0 && errno == ENOENT;
  if (shared != proto::key_dir_path() && ensure_private_dir(shared, &ignored)) {
    (void)write_file_atomic(shared_key_file(port), secret + "\n", 0600,
                            &ignored);
  }
  return true;
}

std::string shared_key_file(int port) {
  return proto::shared_key_dir_path() + "/coordinator-" +
         std::to_string(port) + ".key";
}

void remove_key_file(int port, const std::string& secret) {
  ::unlink(proto::key_file_path(port).c_str());
  // The shared copy only while it is still ours: another coordinator on
  // this port (another address, another DMTCP_TMPDIR) may have replaced it.
  std::string shared = shared_key_file(port);
  if (shared != proto::key_file_path(port)) {
    std::ifstream in(shared);
    std::string line;
    if (std::getline(in, line) && line == secret) {
      ::unlink(shared.c_str());
    }
    // A directory made for the copy goes too (when nothing else is in it):
    // $TMPDIR keeps nothing of ours.
    if (g_made_shared_dir) {
      ::rmdir(proto::shared_key_dir_path().c_str());
    }
  }
}

}  // namespace dmtcp::coordinator
