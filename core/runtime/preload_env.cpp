#include "runtime/preload_env.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/env.h"
#include "common/log.h"
#include "runtime/restart_info.h"
#include "runtime/runtime.h"

extern char** environ;

namespace dmtcp::preload_env {
namespace {

pthread_mutex_t g_shown_lock = PTHREAD_MUTEX_INITIALIZER;
int g_shown = 0;
char g_saved[4096];  // the program's LD_PRELOAD while shown
bool g_had_saved = false;

const char* ours() {
  return rt::g_config.preload;
}

bool starts_with_ours(const char* value) {
  size_t n = strlen(ours());
  return value != nullptr && strncmp(value, ours(), n) == 0 &&
         (value[n] == '\0' || value[n] == ':');
}

// What the environment must say after a restart (tell_truth_after_restart).
// Environ entries point at `entry`: changed in place by a later restart.
struct Truth {
  const char* name;
  char entry[1300];  // "NAME=value"
  bool set;
};
Truth g_truth[] = {{"DMTCP_COORD_HOST", {}, false},
                   {"DMTCP_COORD_PORT", {}, false},
                   {"DMTCP_TMPDIR", {}, false},
                   {"DMTCP_CHECKPOINT_DIR", {}, false}};
constexpr size_t kTruths = sizeof g_truth / sizeof g_truth[0];


const char* nonempty(const char* v) {
  return v != nullptr && v[0] != '\0' ? v : nullptr;
}

// Where a process looks for the coordinator's key (protocol.h
// key_dir_path): $DMTCP_TMPDIR, else $TMPDIR, else /tmp.
const char* key_base(const char* dmtcp_tmpdir, const char* tmpdir) {
  if (nonempty(dmtcp_tmpdir) != nullptr) {
    return dmtcp_tmpdir;
  }
  return nonempty(tmpdir) != nullptr ? tmpdir : "/tmp";
}

// The environ slot holding NAME=..., or null.
char** find_slot(const char* name) {
  size_t n = strlen(name);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
      return e;
    }
  }
  return nullptr;
}

// environ with room for `extra` more entries, in fresh pages (glibc's
// setenv copies an array it did not allocate, and never frees it).
bool grow_environ(size_t extra) {
  size_t n = 0;
  while (environ != nullptr && environ[n] != nullptr) {
    ++n;
  }
  size_t bytes = (n + extra + 1) * sizeof(char*);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return false;
  }
  auto** copy = static_cast<char**>(p);
  for (size_t i = 0; i < n; ++i) {
    copy[i] = environ[i];
  }
  copy[n] = nullptr;
  environ = copy;
  return true;
}

void append_entry(char* entry) {
  size_t n = 0;
  while (environ[n] != nullptr) {
    ++n;
  }
  environ[n] = entry;
  environ[n + 1] = nullptr;
}

}  // namespace

const char* restart_env(const RestartInfo& info, const char* name) {
  size_t name_len = strlen(name);
  uint32_t end =
      info.env_len < sizeof info.env ? info.env_len : sizeof info.env;
  for (uint32_t i = 0; i < end;) {
    const char* entry = info.env + i;
    size_t len = strnlen(entry, end - i);
    if (len > name_len && strncmp(entry, name, name_len) == 0 &&
        entry[name_len] == '=') {
      return entry + name_len + 1;
    }
    i += static_cast<uint32_t>(len) + 1;
  }
  return nullptr;
}

namespace {

// dmtcp_launch --modify-env (DMTCP_MODIFY_ENV=1): after a restart the
// lines of <ckpt_dir>/dmtcp_env.txt change the environment, as upstream's
// modify-env plugin does: "NAME=VALUE" sets (VALUE may name $VAR or ${VAR}
// of dmtcp_restart's environment, and may be in double quotes), "NAME"
// alone unsets, '#' starts a comment.  In the checkpoint thread before any
// user thread runs: raw syscalls and static storage only, no malloc.
char g_modify_file[8192];
char g_modify_entries[8192];

void unset_entry(const char* name) {
  char** slot = find_slot(name);
  if (slot == nullptr) {
    return;
  }
  for (char** e = slot; *e != nullptr; ++e) {
    e[0] = e[1];
  }
}

// NAME=VALUE with $VAR expanded into out; false when it does not fit.
bool expand(const RestartInfo& info, const char* name, const char* value,
            char* out, size_t cap) {
  size_t n = static_cast<size_t>(snprintf(out, cap, "%s=", name));
  size_t len = strlen(value);
  if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
    ++value;
    len -= 2;
  }
  for (size_t i = 0; i < len && n + 1 < cap;) {
    if (value[i] != '$') {
      out[n++] = value[i++];
      continue;
    }
    bool braced = i + 1 < len && value[i + 1] == '{';
    size_t start = i + (braced ? 2 : 1);
    size_t end = start;
    while (end < len && (isalnum(static_cast<unsigned char>(value[end])) ||
                         value[end] == '_')) {
      ++end;
    }
    char var[256];
    snprintf(var, sizeof var, "%.*s", static_cast<int>(end - start),
             value + start);
    const char* v = restart_env(info, var);
    for (; v != nullptr && *v != '\0' && n + 1 < cap; ++v) {
      out[n++] = *v;
    }
    i = braced && end < len && value[end] == '}' ? end + 1 : end;
  }
  out[n] = '\0';
  return n + 1 < cap;
}

void apply_modify_env(const RestartInfo& info) {
  const char* on = env_value("DMTCP_MODIFY_ENV");
  if (on == nullptr || strcmp(on, "1") != 0) {
    return;
  }
  char path[sizeof rt::g_config.ckpt_dir + 32];
  snprintf(path, sizeof path, "%s/dmtcp_env.txt", rt::g_config.ckpt_dir);
  int fd = static_cast<int>(
      syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC));
  if (fd < 0) {
    return;  // no file: nothing to change (as upstream)
  }
  ssize_t got = syscall(SYS_read, fd, g_modify_file, sizeof g_modify_file - 1);
  syscall(SYS_close, fd);
  if (got <= 0) {
    return;
  }
  g_modify_file[got] = '\0';
  size_t used = 0;
  char* save = nullptr;
  for (char* line = strtok_r(g_modify_file, "\n", &save); line != nullptr;
       line = strtok_r(nullptr, "\n", &save)) {
    while (*line == ' ' || *line == '\t') {
      ++line;
    }
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
                       line[len - 1] == '\r')) {
      line[--len] = '\0';
    }
    if (len == 0 || line[0] == '#') {
      continue;
    }
    char* eq = strchr(line, '=');
    if (eq == nullptr) {
      unset_entry(line);
      continue;
    }
    *eq = '\0';
    char* entry = g_modify_entries + used;
    if (!expand(info, line, eq + 1, entry, sizeof g_modify_entries - used)) {
      DMTCP_WARN("--modify-env: %s: no room for %s", path, line);
      break;
    }
    used += strlen(entry) + 1;
    char** slot = find_slot(line);
    if (slot != nullptr) {
      *slot = entry;
    } else if (grow_environ(1)) {
      append_entry(entry);
    }
  }
}

}  // namespace

void tell_truth_after_restart(const RestartInfo& info) {
  const char* base = key_base(restart_env(info, "DMTCP_TMPDIR"),
                              restart_env(info, "TMPDIR"));
  snprintf(rt::g_config.tmpdir, sizeof rt::g_config.tmpdir, "%s", base);
  char port[16];
  snprintf(port, sizeof port, "%d", rt::g_config.coord_port);
  const char* values[kTruths] = {rt::g_config.coord_host, port,
                                 rt::g_config.tmpdir, rt::g_config.ckpt_dir};
  // All four go to children after a restart, whatever their copies of the
  // environment say: a copy may be older than any restart so far.
  size_t missing = 0;
  for (size_t i = 0; i < kTruths; ++i) {
    Truth& t = g_truth[i];
    snprintf(t.entry, sizeof t.entry, "%s=%s", t.name, values[i]);
    t.set = true;
    char** slot = find_slot(t.name);
    if (slot == nullptr) {
      ++missing;
    } else if (strcmp(*slot, t.entry) != 0) {
      *slot = t.entry;
    }
  }
  if (missing != 0 && grow_environ(missing)) {
    for (size_t i = 0; i < kTruths; ++i) {
      if (find_slot(g_truth[i].name) == nullptr) {
        append_entry(g_truth[i].entry);
      }
    }
  }
  apply_modify_env(info);
}

size_t truth_entries(char** out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < kTruths && k < cap; ++i) {
    if (g_truth[i].set) {
      out[k++] = g_truth[i].entry;
    }
  }
  return k;
}

void hide() {
  // Before any restart the truth is what we were started with: a program
  // exec'd with an environment of its own (execve(path, argv, envp) with
  // no DMTCP_COORD_PORT in envp) still finds our coordinator and
  // directories (upstream's forkexec).  DMTCP_TMPDIR only when it was set:
  // without it the key's directory is $TMPDIR's, in the child too.
  char port[16];
  snprintf(port, sizeof port, "%d", rt::g_config.coord_port);
  const char* values[kTruths] = {
      rt::g_config.coord_host, port,
      nonempty(env_value("DMTCP_TMPDIR")) != nullptr ? rt::g_config.tmpdir
                                                  : nullptr,
      rt::g_config.ckpt_dir};
  for (size_t i = 0; i < kTruths; ++i) {
    if (values[i] != nullptr) {
      snprintf(g_truth[i].entry, sizeof g_truth[i].entry, "%s=%s",
               g_truth[i].name, values[i]);
      g_truth[i].set = true;
    }
  }
  const char* mine = env_value("DMTCP_PRELOAD");
  const char* all = env_value("LD_PRELOAD");
  rt::g_config.preload[0] = '\0';
  if (mine == nullptr || mine[0] == '\0' ||
      strlen(mine) >= sizeof rt::g_config.preload) {
    return;
  }
  snprintf(rt::g_config.preload, sizeof rt::g_config.preload, "%s", mine);
  if (!starts_with_ours(all)) {
    return;  // changed by someone since dmtcp_launch: leave it alone
  }
  const char* rest = all + strlen(mine);
  if (*rest == ':') {
    ++rest;
  }
  if (*rest != '\0') {
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", rest);
    setenv("LD_PRELOAD", copy, 1);
  } else {
    unsetenv("LD_PRELOAD");
  }
}

bool entry_for(const char* current, char* buf, size_t cap) {
  if (ours()[0] == '\0' || starts_with_ours(current)) {
    return false;
  }
  int n = current != nullptr && current[0] != '\0'
              ? snprintf(buf, cap, "LD_PRELOAD=%s:%s", ours(), current)
              : snprintf(buf, cap, "LD_PRELOAD=%s", ours());
  return n > 0 && static_cast<size_t>(n) < cap;
}

Shown::Shown() {
  pthread_mutex_lock(&g_shown_lock);
  if (g_shown++ == 0) {
    const char* current = env_value("LD_PRELOAD");
    g_had_saved = current != nullptr;
    snprintf(g_saved, sizeof g_saved, "%s", current != nullptr ? current : "");
    char entry[sizeof g_saved + sizeof rt::g_config.preload + 16];
    if (entry_for(current, entry, sizeof entry)) {
      setenv("LD_PRELOAD", entry + strlen("LD_PRELOAD="), 1);
    }
  }
  pthread_mutex_unlock(&g_shown_lock);
}

Shown::~Shown() {
  pthread_mutex_lock(&g_shown_lock);
  if (--g_shown == 0) {
    if (g_had_saved) {
      setenv("LD_PRELOAD", g_saved, 1);
    } else {
      unsetenv("LD_PRELOAD");
    }
  }
  pthread_mutex_unlock(&g_shown_lock);
}

}  // namespace dmtcp::preload_env
