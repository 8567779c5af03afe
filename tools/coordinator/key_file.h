// Files the coordinator leaves for its clients: the secret key file that
// lets only this user's processes in, and small files written atomically
// (port file, restart script) so a reader never sees half of one.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace dmtcp::coordinator {

// 32 bytes from getrandom(2), as 64 lowercase hex digits.
bool make_secret(std::string* hex, std::string* err);

// Creates dir with mode 0700 if missing; refuses one that is not a real
// directory, is owned by another user, or is writable by group or others.
bool ensure_private_dir(const std::string& dir, std::string* err);

// Writes data to path through a temporary file in the same directory and
// rename(2), with the given mode.
bool write_file_atomic(const std::string& path, std::string_view data,
                       mode_t mode, std::string* err);

// A new, empty file of ours at path, open for writing (O_APPEND): made
// under an unguessable name beside it and renamed over whatever was there,
// so nothing planted at path is ever opened.  -1 with *err on failure.
int create_replacing(const std::string& path, mode_t mode, std::string* err);

// Writes the key file for the coordinator on `port` (proto::key_file_path),
// and a copy in proto::shared_key_dir_path() when that is another
// directory (so --tmpdir elsewhere still finds it).
bool write_key_file(int port, const std::string& secret, std::string* err);
// The shared copy's path.
std::string shared_key_file(int port);
// Removes both (the shared copy only if it still holds `secret`).
void remove_key_file(int port, const std::string& secret);

}  // namespace dmtcp::coordinator
