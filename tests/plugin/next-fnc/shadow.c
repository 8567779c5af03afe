/* libnext_fnc_shadow.so: loaded after libnext_fnc_probe.so, with every
 * kind of definition the resolver has to tell apart (shadow.map gives
 * them the default version V2, or V1 where named below). */
#include <stddef.h>

int next_fnc_twice = 2;

/* next_fnc_versioned@V1 (hidden) and next_fnc_versioned@@V2 (default). */
int next_fnc_versioned_v1(void) {
  return 1;
}
int next_fnc_versioned_v2(void) {
  return 2;
}
__asm__(".symver next_fnc_versioned_v1, next_fnc_versioned@V1");
__asm__(".symver next_fnc_versioned_v2, next_fnc_versioned@@V2");

/* Only a hidden version: dlsym finds nothing. */
int next_fnc_old_only_v1(void) {
  return 1;
}
__asm__(".symver next_fnc_old_only_v1, next_fnc_old_only@V1");

__attribute__((weak)) int next_fnc_weak(void) {
  return 3;
}

__attribute__((visibility("protected"))) int next_fnc_protected(void) {
  return 4;
}

int next_fnc_data = 5;

__thread int next_fnc_tls = 6;

static int ifunc_target(void) {
  return 7;
}
static int (*resolve_ifunc(void))(void) {
  return ifunc_target;
}
int next_fnc_ifunc(void) __attribute__((ifunc("resolve_ifunc")));

/* What next_fnc_ifunc must resolve to. */
void* shadow_ifunc_target(void) {
  return (void*)ifunc_target;
}
