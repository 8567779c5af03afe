#include "runtime/preload_env.h"

#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/runtime.h"

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

}  // namespace

void hide() {
  const char* mine = getenv("DMTCP_PRELOAD");
  const char* all = getenv("LD_PRELOAD");
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
    const char* current = getenv("LD_PRELOAD");
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
