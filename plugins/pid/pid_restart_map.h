// pid_restart_map.h -- the virtual pids of every process of the
// computation on this host, for pids a process learned outside our
// wrappers (through a pipe, a file, the command line).
//
// Publish/subscribe answers "what is virtual pid v now?", but only for a v
// one knows to ask about; the store cannot be listed.  So at each restart
// every process also appends its virtual pid to one file per computation
// (in dmtcp_get_tmpdir()), and after the barrier reads the file to learn
// which pids to ask about.  The answers still come from the coordinator,
// so a record left behind (say, by a crash mid-restart) only costs a query
// that misses.  REFILL, after the SEND_QUERIES barrier (everyone has read
// it), removes the file.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>

namespace dmtcp::pid::restart_map {

// REGISTER_NAME_SERVICE_DATA after a restart.
void append_self(pid_t virt);
// REFILL after a restart: every process has read the file; any may remove
// it (the others find it gone).
void remove_file();
// SEND_QUERIES: the virtual pids in the file, sorted, duplicates removed,
// in dmtcp_alloc memory (release with dmtcp_free); nullptr when none.
pid_t* read_all(size_t* count);

// Processes of the computation that are not in our table, as of the last
// restart.  Replaced only by the checkpoint thread during a restart (user
// threads are frozen, and wrappers read it under TableAccess).
struct Pair {
  pid_t virt;
  pid_t real;
};
// Takes ownership of `pairs` (dmtcp_alloc'd); sorts it by virtual pid.
void set_extra(Pair* pairs, size_t count);
std::optional<pid_t> extra_to_real(pid_t virt);
std::optional<pid_t> extra_to_virt(pid_t real);

}  // namespace dmtcp::pid::restart_map
