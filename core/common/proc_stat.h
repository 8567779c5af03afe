// One numbered field of /proc/<pid>/stat (proc(5): 22 = start time in
// clock ticks since boot, 47 = start_brk).  Counted after the last ')', so
// a program name with spaces or parentheses cannot shift the fields.
// Never allocates: the runtime reads it in the checkpoint thread.
#pragma once

#include <cstdint>

namespace dmtcp {

inline constexpr int kStatParent = 4;
inline constexpr int kStatStartTime = 22;
inline constexpr int kStatStartBrk = 47;

// pid 0 = this process.  0 when the file or the field cannot be read.
uint64_t proc_stat_field(int pid, int field);

// Field 3, the state letter (R, S, D, T stopped, t traced, Z ...); '\0'
// when the file cannot be read.
char proc_stat_state(int pid);

}  // namespace dmtcp
