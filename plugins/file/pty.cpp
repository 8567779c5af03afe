// pty.cpp -- pseudo-terminals and the controlling terminal.
//
// A pty made in the computation (posix_openpt/openpty/forkpty) comes back
// as a new pair: its master's leader opens /dev/ptmx again, gives the pty
// its termios, window size, lock and packet mode, and publishes the new
// slave's path under the old pty number ("file:pty:<n>"); every leader of
// a slave description opens that path.  A slave whose master is not in the
// computation is the user's terminal: it becomes the terminal
// dmtcp_restart runs in, with the program's termios put on it.
//
// Bytes in flight: what the slave wrote and the master has not read sits
// in the master's input; what the master wrote and the slave has not read
// sits in the slave's line discipline.  Neither can be copied without
// being read, so DRAIN reads both (the slave side through TIOCGPTPEER,
// briefly non-canonical so a partial line comes out too) and REFILL writes
// them back, on resume as on restart: output through the slave with
// output processing off (it was done already), input through the master
// with echo off (it was echoed already).
//
// The controlling terminal: a session leader whose terminal was a pty of
// the computation takes it again (TIOCSCTTY) and gives the foreground to
// the group that had it.
#include "pty.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "dmtcp/plugin.h"
#include "file_util.h"
#include "pipe_data.h"

namespace dmtcp::file {
namespace {

struct PtyAnswer {
  pid_t vpid;
  char path[64];
};

int pty_index_of(dev_t rdev) {
  unsigned maj = major(rdev);
  if (maj < 136 || maj > 143) {
    return -1;
  }
  return static_cast<int>((maj - 136) * 256 + minor(rdev));
}

// Reads everything readable from fd (made non-blocking for the while).
void read_available(int fd, HookVector<char>* out) {
  out->clear();
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    out->insert(out->end(), buf, buf + n);
  }
  fcntl(fd, F_SETFL, fl);
}

// The slave's unread input: readable all at once in non-canonical mode.
void drain_input(int master, HookVector<char>* out) {
  out->clear();
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    return;
  }
  // Not gated on FIONREAD: in canonical mode it counts whole lines only,
  // and a half-typed line must come out too.
  struct termios saved;
  if (tcgetattr(slave, &saved) == 0) {
    struct termios raw = saved;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(slave, TCSANOW, &raw);
    read_available(slave, out);
    tcsetattr(slave, TCSANOW, &saved);
  }
  close(slave);
}

// Writes bytes into the pty with one termios flag off for the while.
// Input written to the master reaches the line discipline later, from a
// kernel worker: the flag goes back on only once the slave has it all (or
// after a bound), else the bytes are echoed a second time.
void write_with(int fd, int termios_fd, tcflag_t termios::*field, tcflag_t off,
                const HookVector<char>& bytes) {
  struct termios saved;
  if (bytes.empty() || tcgetattr(termios_fd, &saved) != 0) {
    return;
  }
  struct termios t = saved;
  t.*field &= ~off;
  tcsetattr(termios_fd, TCSANOW, &t);
  int before = 0;
  ioctl(termios_fd, FIONREAD, &before);
  if (!write_all(fd, bytes.data(), bytes.size())) {
    dmtcp_log("file plugin: pty: %zu bytes not written back: %s", bytes.size(),
              strerror(errno));
  }
  if (fd != termios_fd) {
    // Canonical input is counted line by line: wait for the whole lines,
    // then a moment for a half-typed tail.
    size_t whole = bytes.size();
    if ((saved.c_lflag & ICANON) != 0) {
      whole = 0;
      for (size_t i = bytes.size(); i > 0; --i) {
        if (bytes[i - 1] == '\n') {
          whole = i;
          break;
        }
      }
    }
    for (int waited = 0; waited < 500; ++waited) {
      int now = 0;
      if (ioctl(termios_fd, FIONREAD, &now) != 0 ||
          static_cast<size_t>(now - before) >= whole) {
        break;
      }
      usleep(1000);
    }
    usleep(2000);
  }
  tcsetattr(termios_fd, TCSANOW, &saved);
}

size_t pty_key(char* buf, size_t cap, int index) {
  return static_cast<size_t>(snprintf(buf, cap, "file:pty:%d", index));
}

// The new pair of the pty that was number `index` at checkpoint time, as
// its master's leader published it in RESTART; false: not made by us.
bool find_new_pty(int index, PtyAnswer* a) {
  char key[32];
  size_t len = sizeof *a;
  return dmtcp_send_query_to_coordinator(key, pty_key(key, sizeof key, index),
                                         a, &len) == 1 &&
         len == sizeof *a && a->path[0] != '\0';
}

void apply_settings(int fd, const Desc& d) {
  if (d.has_termios && tcsetattr(fd, TCSANOW, &d.tio) != 0) {
    dmtcp_log("file plugin: fd %d: termios not restored: %s", d.first_fd,
              strerror(errno));
  }
}

}  // namespace

bool is_pty_slave(const struct stat& st) {
  return S_ISCHR(st.st_mode) && pty_index_of(st.st_rdev) >= 0;
}

void follow_dev_tty(Desc* d, const ControllingTty& c) {
  if (d->kind == Kind::kTerminal && major(d->st.st_rdev) == 5 &&
      minor(d->st.st_rdev) == 0) {
    d->pty_index = pty_index_of(c.dev);
  }
}

void save_tty(Desc* d) {
  d->pty_index = -1;
  d->tty_input.clear();
  d->has_termios = tcgetattr(d->first_fd, &d->tio) == 0;
  ioctl(d->first_fd, TIOCGWINSZ, &d->ws);
  if (d->kind == Kind::kTerminal) {
    d->pty_index = pty_index_of(d->st.st_rdev);
    return;
  }
  unsigned int n = 0;
  if (ioctl(d->first_fd, TIOCGPTN, &n) == 0) {
    d->pty_index = static_cast<int>(n);
  }
  ioctl(d->first_fd, TIOCGPTLCK, &d->pty_locked);
  ioctl(d->first_fd, TIOCGPKT, &d->pty_packet);
  read_available(d->first_fd, &d->data);
  drain_input(d->first_fd, &d->tty_input);
}

void refill_pty(const Desc& d, int master) {
  if (d.data.empty() && d.tty_input.empty()) {
    return;
  }
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    dmtcp_log("file plugin: pty %d: no way to its slave (%s): %zu bytes lost",
              d.pty_index, strerror(errno), d.data.size() + d.tty_input.size());
    return;
  }
  write_with(slave, slave, &termios::c_oflag, OPOST, d.data);
  write_with(master, slave, &termios::c_lflag, ECHO, d.tty_input);
  close(slave);
}

void remake_pty_master(Desc* d, const RestartCtx& ctx) {
  int fd = posix_openpt(open_flags_for(d->flags));
  if (fd < 0 || grantpt(fd) != 0 || unlockpt(fd) != 0) {
    dmtcp_log("file plugin: fd %d: no new pty: %s", d->first_fd,
              strerror(errno));
    if (fd >= 0) {
      close(fd);
    }
    return;
  }
  apply_settings(fd, *d);
  ioctl(fd, TIOCSWINSZ, &d->ws);
  if (d->pty_packet != 0) {
    ioctl(fd, TIOCPKT, &d->pty_packet);
  }
  PtyAnswer a{ctx.me, {}};
  if (ptsname_r(fd, a.path, sizeof a.path) != 0) {
    a.path[0] = '\0';
  }
  // Hold the slave open until every fd is in place: a pty whose slave was
  // never opened, or closed again, reads as hung up.
  d->pipe_peer_fd = park_fd(
      ioctl(fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC), ctx.park_min);
  if (d->pty_locked != 0) {
    ioctl(fd, TIOCSPTLCK, &d->pty_locked);
  }
  d->new_fd = park_fd(fd, ctx.park_min);
  char key[32];
  dmtcp_send_key_val_pair_to_coordinator(
      key, pty_key(key, sizeof key, d->pty_index), &a, sizeof a);
}

void remake_terminal(Desc* d, const RestartCtx& ctx) {
  PtyAnswer a{};
  if (d->pty_index >= 0 && find_new_pty(d->pty_index, &a)) {
    int fd = open(a.path, open_flags_for(d->flags));
    if (fd < 0) {
      dmtcp_log("file plugin: fd %d: %s: %s", d->first_fd, a.path,
                strerror(errno));
      return;
    }
    d->new_fd = park_fd(fd, ctx.park_min);
    return;
  }
  // The user's terminal: now the one dmtcp_restart runs in, set up the way
  // the program had it.
  int fd = inherited_for(*d, ctx);
  d->keep_inherited = fd >= 0;
  if (fd < 0) {
    fd = reopen_outside_terminal(*d, ctx);
  }
  if (fd >= 0 && d->el.leader && isatty(fd)) {
    apply_settings(fd, *d);
  }
  d->new_fd = park_fd(fd, ctx.park_min);
}

void read_ctty(ControllingTty* c) {
  *c = ControllingTty{};
  char buf[1024];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) {
    close(fd);
  }
  if (n <= 0) {
    return;
  }
  buf[n] = '\0';
  const char* p = strrchr(buf, ')');
  char state;
  int ppid, pgrp, session, tty_nr, tpgid;
  if (p == nullptr || sscanf(p + 1, " %c %d %d %d %d %d", &state, &ppid, &pgrp,
                             &session, &tty_nr, &tpgid) != 6) {
    return;
  }
  c->session_leader = session == raw_getpid();
  c->dev = static_cast<dev_t>(tty_nr);
  c->foreground = tpgid > 0 ? dmtcp_real_to_virtual_pid(tpgid) : 0;
}

void restore_ctty(const Table& t) {
  const ControllingTty& c = t.ctty;
  int index = pty_index_of(c.dev);
  if (!c.session_leader || index < 0) {
    return;  // no terminal, or the restarter's (we are in its session)
  }
  PtyAnswer a{};
  if (!find_new_pty(index, &a)) {
    return;  // its master was not ours: the user's terminal stays theirs
  }
  for (const FdSlot& slot : t.fds) {
    const Desc& d = t.descs[slot.desc];
    if (d.kind != Kind::kTerminal || d.pty_index != index || d.keep_inherited) {
      continue;
    }
    if (ioctl(slot.fd, TIOCSCTTY, 0) != 0) {
      dmtcp_log("file plugin: pty %d: not our controlling terminal again: %s",
                index, strerror(errno));
      return;
    }
    if (c.foreground != 0) {
      // From the background this would stop us (SIGTTOU); we are the
      // checkpoint thread and block it.
      sigset_t ttou, old;
      sigemptyset(&ttou);
      sigaddset(&ttou, SIGTTOU);
      pthread_sigmask(SIG_BLOCK, &ttou, &old);
      pid_t real = dmtcp_virtual_to_real_pid(c.foreground);
      if (ioctl(slot.fd, TIOCSPGRP, &real) != 0) {
        dmtcp_log("file plugin: pty %d: foreground group %d not restored: %s",
                  index, c.foreground, strerror(errno));
      }
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
    return;
  }
}

}  // namespace dmtcp::file
