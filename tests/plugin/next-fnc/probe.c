/* libnext_fnc_probe.so: the unit test's view from inside a library.  Its
 * own dlsym(RTLD_NEXT) answers are what the resolver must give a caller in
 * this object.  Unversioned (no version script). */
#define _GNU_SOURCE
#include <dlfcn.h>

/* Defined in libnext_fnc_shadow.so too: the program's next definition is
 * this one, this library's next is the shadow's. */
int next_fnc_twice = 1;

void* probe_dlsym_next(const char* name) {
  return dlsym(RTLD_NEXT, name);
}

void* probe_dlvsym_next(const char* name, const char* version) {
  return dlvsym(RTLD_NEXT, name, version);
}

/* An address inside this object, as NEXT_FNC passes its own. */
const void* probe_anchor(void) {
  static const char anchor = 0;
  return &anchor;
}
