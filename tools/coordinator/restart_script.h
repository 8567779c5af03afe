// dmtcp_restart_script.sh: the script the coordinator writes after every
// successful checkpoint so a user can bring the computation back with one
// command (SPEC section 3).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dmtcp::coordinator {

struct ScriptImage {
  std::string host;  // from the process's hello
  std::string path;  // absolute image path, as the process reported it
};

struct ScriptInfo {
  std::string dir;           // where the script goes
  std::string restart_tool;  // absolute path of dmtcp_restart
  std::string local_host;    // the coordinator's hostname
  std::string coord_host;    // default --coord-host written into the script
  int coord_port = 0;
  std::string computation_id;
  uint32_t generation = 0;
  std::vector<ScriptImage> images;
};

// The script text: images grouped by host, this host's run directly and the
// others through ssh.
std::string render_restart_script(const ScriptInfo& info);

// Writes <dir>/dmtcp_restart_script.sh and
// <dir>/dmtcp_restart_script_<computation id>.sh (plain files, mode 0755,
// each through a temporary file and rename).  Returns the main script's
// path, or an empty string with *err set.
std::string write_restart_script(const ScriptInfo& info, std::string* err);

// Quotes s for a POSIX shell: 'it'\''s'.
std::string shell_quote(const std::string& s);

}  // namespace dmtcp::coordinator
