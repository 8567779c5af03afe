// NEXT_FNC's resolver: dlsym(RTLD_NEXT) done by hand, for the library that
// holds `caller`, without calling dlsym (see next_fnc.cpp for why).
#pragma once

#include <link.h>

namespace dmtcp::next_fnc {

// The definition of `name` that dlsym(RTLD_NEXT, name) returns to code in
// the object holding `caller`: the first one in the objects loaded after
// it (load order; for objects loaded at start-up that is the global search
// order), of the default version, an IFUNC already resolved.  nullptr when
// no later object defines `name`, when no loaded object holds `caller`, or
// for a TLS symbol.  Allocates nothing, takes no lock (the loader's,
// through dl_iterate_phdr, only for what the start-up objects lack) and
// leaves dlerror() alone: safe inside malloc and free, before main, in a
// checkpoint round and in a restarted process.
void* find_next(const char* name, const void* caller);

// Copies the list of loaded objects, for searches that must not take the
// loader's lock (a thread frozen by a checkpoint may hold it).  Call once,
// from our constructor, while only start-up objects are loaded: they are
// never unloaded.
void snapshot_startup();

// The same search from the first object on (the main program, then every
// library in load order): what dlsym(RTLD_DEFAULT, name) finds for objects
// loaded at start-up, without leaving a dlerror() message when there is
// none.
void* find_first(const char* name);

// The definition of `name` that find_next would take from this one object
// (in the order dl_iterate_phdr reports them), or nullptr.  For tests: the
// vDSO, whose dynamic section the loader leaves unrelocated, is in no
// search.
void* find_in_object(const dl_phdr_info& info, const char* name);

}  // namespace dmtcp::next_fnc
