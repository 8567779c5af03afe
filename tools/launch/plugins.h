// dmtcp_launch's plugin list: finding the plugins a user names
// (--with-plugin, DMTCP_PLUGIN) and loading each once in a throw-away child
// so a missing or broken one is reported before the program starts.
#pragma once

#include <string>

namespace dmtcp::launch {

// The internal plugins (--disable-<name>-plugin, DMTCP_<NAME>_PLUGIN=0).
bool is_internal_plugin(const std::string& name);
// "pid file socket ..." for messages.
std::string internal_plugin_names();

// Where a plugin named by the user is: a name with a '/' as given (made
// absolute), a bare name ("libfoo.so") in the current directory, then in
// each $LD_LIBRARY_PATH directory (tutorial section 3.1).  The result has
// its symlinks resolved, so one library named two ways is found once.
// false with a one-line *error.
bool find_plugin(const std::string& name, std::string* path,
                 std::string* error);

// Loads the runtime `core`, then the plugin, in a child: its constructors
// cannot touch us, and one that fails, crashes or hangs is reported in one
// line naming the plugin.  false with *error.
bool check_plugin(const std::string& path, const std::string& core,
                  std::string* error);

}  // namespace dmtcp::launch
