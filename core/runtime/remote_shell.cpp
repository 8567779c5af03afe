#include "runtime/remote_shell.h"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dmtcp::remote_shell {
namespace {

char g_helper[PATH_MAX];  // empty: no helper found, never rewrite

const char* base_name(const char* path, size_t* len) {
  const char* slash = strrchr(path, '/');
  const char* base = slash != nullptr ? slash + 1 : path;
  *len = strlen(base);
  return base;
}

// The value of NAME in envp, or null.
const char* lookup(char* const* envp, const char* name) {
  size_t n = strlen(name);
  for (char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
      return *e + n + 1;
    }
  }
  return nullptr;
}

bool same(const char* a, size_t alen, const char* b, size_t blen) {
  return alen == blen && memcmp(a, b, alen) == 0;
}

}  // namespace

void init() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&init), &info) == 0 ||
      info.dli_fname == nullptr || info.dli_fname[0] != '/') {
    return;
  }
  char dir[PATH_MAX];
  size_t n = strlen(info.dli_fname);
  if (n >= sizeof dir) {
    return;
  }
  memcpy(dir, info.dli_fname, n + 1);
  *strrchr(dir, '/') = '\0';  // .../lib/dmtcp
  int w = snprintf(g_helper, sizeof g_helper, "%s/../../bin/dmtcp_ssh", dir);
  if (w <= 0 || static_cast<size_t>(w) >= sizeof g_helper ||
      access(g_helper, X_OK) != 0) {
    g_helper[0] = '\0';
    return;
  }
  char real[PATH_MAX];
  if (realpath(g_helper, real) != nullptr) {
    memcpy(g_helper, real, strlen(real) + 1);
  }
}

bool wanted(const char* path, char* const* envp) {
  if (g_helper[0] == '\0' || path == nullptr) {
    return false;
  }
  const char* off = lookup(envp, "DMTCP_SSH_PLUGIN");
  if (off != nullptr && strcmp(off, "0") == 0) {
    return false;
  }
  size_t len = 0;
  const char* base = base_name(path, &len);
  if (same(base, len, "ssh", 3) || same(base, len, "rsh", 3)) {
    return true;
  }
  // $DMTCP_REMOTE_SHELL: its first word's basename ("ssh -o X" is ssh).
  const char* shell = lookup(envp, "DMTCP_REMOTE_SHELL");
  if (shell == nullptr) {
    return false;
  }
  while (*shell == ' ' || *shell == '\t') {
    ++shell;
  }
  size_t word = strcspn(shell, " \t");
  const char* wbase = shell;
  for (size_t i = 0; i < word; ++i) {
    if (shell[i] == '/') {
      wbase = shell + i + 1;
    }
  }
  return word > 0 && same(base, len, wbase, shell + word - wbase);
}

size_t wrapped_size(char* const argv[]) {
  size_t n = 0;
  while (argv != nullptr && argv[n] != nullptr) {
    ++n;
  }
  return n + 5;  // helper, --local, path, (argv0 if none), NULL
}

const char* wrap(const char* path, char* const argv[], char** out) {
  static char local[] = "--local";
  size_t k = 0;
  out[k++] = g_helper;
  out[k++] = local;
  out[k++] = const_cast<char*>(path);
  for (size_t i = 0; argv != nullptr && argv[i] != nullptr; ++i) {
    out[k++] = argv[i];
  }
  if (argv == nullptr || argv[0] == nullptr) {
    out[k++] = const_cast<char*>(path);  // ARGV0 is required
  }
  out[k] = nullptr;
  return g_helper;
}

}  // namespace dmtcp::remote_shell
