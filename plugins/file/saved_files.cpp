// saved_files.cpp -- file contents kept with a checkpoint.
//
// A deleted file that is still open exists nowhere but in that open
// description: its bytes go into the image (Desc::data, process memory).
// With --ckpt-open-files (DMTCP_CKPT_OPEN_FILES=1) every open regular file
// is also copied beside the image, into <image minus .dmtcp>_files/, named
// g<generation>_<n>_<basename>.  A new generation's copies never overwrite
// the previous one's, so a checkpoint killed halfway leaves the previous
// image with its copies; older generations go once a newer image exists.
#include "saved_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dmtcp/plugin.h"
#include "fd_table.h"
#include "file_util.h"

namespace dmtcp::file {
namespace {

// "<dir>/ckpt_x_y.dmtcp" -> "<dir>/ckpt_x_y_files"
// The image name without ".dmtcp" and without its generation
// ("_gen<N>"): every generation of one process shares one sidecar, where
// each copy's name starts with "g<N>_".
size_t image_stem_len(const char* image) {
  size_t len = strlen(image);
  const char ext[] = ".dmtcp";
  if (len >= sizeof ext - 1 &&
      strcmp(image + len - (sizeof ext - 1), ext) == 0) {
    len -= sizeof ext - 1;
  }
  size_t digits = len;
  while (digits > 0 && image[digits - 1] >= '0' && image[digits - 1] <= '9') {
    --digits;
  }
  const char gen[] = "_gen";
  if (digits < len && digits >= sizeof gen - 1 &&
      strncmp(image + digits - (sizeof gen - 1), gen, sizeof gen - 1) == 0) {
    len = digits - (sizeof gen - 1);
  }
  return len;
}

void sidecar_for_image(const char* image, char* out, size_t cap) {
  snprintf(out, cap, "%.*s_files", static_cast<int>(image_stem_len(image)),
           image);
}

const char* base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

}  // namespace

void save_deleted_contents(Desc* d) {
  d->data.clear();
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", d->first_fd);
  // The program's fd may be write-only: read through a fresh description.
  int fd = open(proc, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    dmtcp_log(
        "file plugin: deleted file %s (fd %d) cannot be read: %s; it "
        "comes back empty",
        d->path.c_str(), d->first_fd, strerror(errno));
    return;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    d->data.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    ssize_t n;
    while (got < d->data.size() &&
           (n = pread(fd, d->data.data() + got, d->data.size() - got,
                      static_cast<off_t>(got))) > 0) {
      got += static_cast<size_t>(n);
    }
    d->data.resize(got);
  }
  close(fd);
}

bool ckpt_open_files_wanted() {
  const char* v = dmtcp_getenv("DMTCP_CKPT_OPEN_FILES");
  return v != nullptr && v[0] != '\0' && strcmp(v, "0") != 0;
}

void save_copy(Desc* d, uint32_t index, uint32_t generation) {
  d->saved_copy.clear();
  if (d->kind != Kind::kPath || !S_ISREG(d->st.st_mode)) {
    return;
  }
  char dir[PATH_MAX];
  sidecar_for_image(dmtcp_get_ckpt_filename(), dir, sizeof dir);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    dmtcp_log("file plugin: --ckpt-open-files: %s: %s", dir, strerror(errno));
    return;
  }
  // The directory may sit in a shared checkpoint directory: only one of
  // ours that nobody else can write to is used, never through a link.
  int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat dir_st {};
  if (dir_fd < 0 || fstat(dir_fd, &dir_st) != 0 ||
      dir_st.st_uid != geteuid() || (dir_st.st_mode & 022) != 0) {
    dmtcp_log("file plugin: --ckpt-open-files: %s is not a private "
              "directory of ours; no copy made",
              dir);
    if (dir_fd >= 0) {
      close(dir_fd);
    }
    return;
  }
  char name[NAME_MAX + 1];
  snprintf(name, sizeof name, "g%u_%u_%.200s", generation, index,
           base_name(d->path.c_str()));
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", d->first_fd);
  int src = open(proc, O_RDONLY | O_CLOEXEC);
  // O_EXCL: a leftover of ours (the same generation, written before a
  // restart) is removed first, and nothing else is ever written through.
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int dst = openat(dir_fd, name, flags, 0600);
  if (dst < 0 && errno == EEXIST && unlinkat(dir_fd, name, 0) == 0) {
    dst = openat(dir_fd, name, flags, 0600);
  }
  bool ok = src >= 0 && dst >= 0 && copy_fd_to(src, dst) && fsync(dst) == 0;
  int err = errno;
  if (src >= 0) {
    close(src);
  }
  if (dst >= 0) {
    close(dst);
  }
  if (!ok) {
    dmtcp_log("file plugin: --ckpt-open-files: copying %s to %s/%s: %s",
              d->path.c_str(), dir, name, strerror(err));
    if (dst >= 0) {
      unlinkat(dir_fd, name, 0);
    }
    close(dir_fd);
    return;
  }
  close(dir_fd);
  d->saved_copy.assign(name);
}

void forget_old_copies(uint32_t generation) {
  // The copies of a generation live as long as this process's image of it:
  // the coordinator removes an image once a newer generation is committed
  // (--keep-generations) or when its own round failed.  Nothing is removed
  // when this generation's image is not there (its write failed): the
  // previous checkpoint still needs its copies.
  const char* image = dmtcp_get_ckpt_filename();
  if (access(image, F_OK) != 0) {
    return;
  }
  char dir_path[PATH_MAX];
  sidecar_for_image(image, dir_path, sizeof dir_path);
  int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return;
  }
  int stem = static_cast<int>(image_stem_len(image));
  for_each_dir_entry(dir, [&](const char* name) {
    char* end = nullptr;
    unsigned long g = name[0] == 'g' ? strtoul(name + 1, &end, 10) : 0;
    if (end == nullptr || *end != '_' || g == generation) {
      return true;
    }
    char old_image[PATH_MAX];
    snprintf(old_image, sizeof old_image, "%.*s_gen%lu.dmtcp", stem, image, g);
    if (access(old_image, F_OK) != 0) {
      unlinkat(dir, name, 0);
    }
    return true;
  });
  close(dir);
}

bool saved_copy_path(const Desc& d, char* out, size_t cap) {
  if (d.saved_copy.empty()) {
    return false;
  }
  // The image may have moved since (--restartdir): look beside it.
  char image[PATH_MAX];
  if (dmtcp_get_restart_env("DMTCP_RESTART_IMAGE", image, sizeof image) != 0) {
    snprintf(image, sizeof image, "%s", dmtcp_get_ckpt_filename());
  }
  char dir[PATH_MAX];
  sidecar_for_image(image, dir, sizeof dir);
  snprintf(out, cap, "%s/%s", dir, d.saved_copy.c_str());
  return true;
}

}  // namespace dmtcp::file
