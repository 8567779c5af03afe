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
// for a TLS symbol.  Allocates nothing, takes no lock but the loader's
// (dl_iterate_phdr's) and leaves dlerror() alone: safe inside malloc and
// free, before main and in a restarted process.
void* find_next(const char* name, const void* caller);

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
