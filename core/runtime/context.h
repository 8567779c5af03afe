#pragma once

#include "restore_raw/saved_context.h"

extern "C" {
// Returns 0 when saving, 1 when the context is resumed.
int dmtcp_context_save(dmtcp::SavedContext* ctx) __attribute__((returns_twice));
[[noreturn]] void dmtcp_context_restore(const dmtcp::SavedContext* ctx,
                                        int value);
}
