// When a launched process starts taking part in checkpoints: after every
// library's constructor, before the program's (program_start.cpp).
#pragma once

namespace dmtcp::rt {

// POST_EXEC, INIT and the checkpoint thread.
using MemberStart = void (*)();

// Called by the runtime's constructor: runs `start` from our
// __libc_start_main when the program starts through it, else right away.
void start_member_at_program_start(MemberStart start);
// Runs it now unless it already ran (idempotent).
void start_member_now();

}  // namespace dmtcp::rt
