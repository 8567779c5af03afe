// pty.h -- pseudo-terminals and the controlling terminal (pty.cpp).
#pragma once

#include <sys/stat.h>

#include "fd_table.h"
#include "reopen.h"

namespace dmtcp::file {

bool is_pty_slave(const struct stat& st);

// DRAIN (leader of a terminal or pty master): termios, window size, and
// for a master its lock, packet mode and the bytes in flight both ways.
void save_tty(Desc* d);
// DRAIN, after save_tty: /dev/tty stands for our controlling terminal, so
// it comes back as that terminal's new self (its pty number from tty_nr).
void follow_dev_tty(Desc* d, const ControllingTty& c);
// REFILL (leader of a master), on resume and restart: the bytes go back.
void refill_pty(const Desc& d, int master);

// RESTART (leader of a master): a new pty pair, published under the old
// pty number.
void remake_pty_master(Desc* d, const RestartCtx& ctx);
// REGISTER_NAME_SERVICE_DATA (leader of a terminal): the new slave of our
// pty, or the terminal dmtcp_restart runs in.
void remake_terminal(Desc* d, const RestartCtx& ctx);

// THREADS_SUSPEND: our controlling terminal and its foreground group.
void read_ctty(ControllingTty* c);
// SEND_QUERIES, after install: a session leader takes its pty back.
void restore_ctty(const Table& t);

}  // namespace dmtcp::file
