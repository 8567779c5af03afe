/* A child runs in a pty the parent made (openpty), as in a terminal
 * emulator: its controlling terminal, foreground group, termios and window
 * size survive, and the lines in flight both ways at the checkpoint arrive
 * once, in order. */
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "file_test.h"

#define OUT_BEFORE 200 /* lines the child writes before the checkpoint */
#define OUT_READ 100   /* ... of which the parent reads these */
#define OUT_TOTAL 300
#define IN_TOTAL 100 /* lines the parent writes before the checkpoint */
#define IN_READ 50   /* ... of which the child reads these */
#define INTR_CHAR 0x07

/* One line from fd (byte by byte: no stdio buffer to lose), \r dropped. */
static void read_line(int fd, char* buf, size_t cap) {
  size_t n = 0;
  for (;;) {
    char c;
    ssize_t r = read(fd, &c, 1);
    E2E_CHECK(r == 1, "read(%d): %s", fd, r == 0 ? "EOF" : strerror(errno));
    if (c == '\n') {
      break;
    }
    if (c != '\r' && n + 1 < cap) {
      buf[n++] = c;
    }
  }
  buf[n] = '\0';
}

static void expect_line(int fd, const char* word, int i) {
  char want[32], got[64];
  snprintf(want, sizeof want, "%s %d", word, i);
  read_line(fd, got, sizeof got);
  E2E_CHECK(strcmp(got, want) == 0, "read '%s', wanted '%s'", got, want);
}

static void say_line(int fd, const char* word, int i) {
  char line[32];
  int n = snprintf(line, sizeof line, "%s %d\n", word, i);
  write_exact(fd, line, (size_t)n);
}

static void child(void) {
  for (int i = 0; i < OUT_BEFORE; ++i) {
    say_line(1, "out", i);
  }
  for (int i = 0; i < IN_READ; ++i) {
    expect_line(0, "in", i);
  }
  e2e_wait_for_go(NULL);
  struct termios t;
  struct winsize ws;
  E2E_CHECK(tcgetattr(0, &t) == 0 && t.c_cc[VINTR] == INTR_CHAR &&
                !(t.c_lflag & ECHO) && (t.c_lflag & ICANON),
            "child: termios lost (VINTR %d, lflag %x)", t.c_cc[VINTR],
            (unsigned)t.c_lflag);
  E2E_CHECK(
      ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 33 && ws.ws_col == 77,
      "child: window %dx%d", ws.ws_row, ws.ws_col);
  E2E_CHECK(getsid(0) == getpid(), "child: no longer a session leader");
  E2E_CHECK(tcgetpgrp(0) == getpgrp(), "child: foreground group %d, ours %d",
            tcgetpgrp(0), getpgrp());
  E2E_CHECK(isatty(0) && ttyname(0) != NULL, "child: stdin is no tty");
  for (int i = IN_READ; i < IN_TOTAL; ++i) {
    expect_line(0, "in", i);
  }
  char half[32];
  read_line(0, half, sizeof half);
  E2E_CHECK(strcmp(half, "half-typed") == 0, "child: read '%s'", half);
  for (int i = OUT_BEFORE; i < OUT_TOTAL; ++i) {
    say_line(1, "out", i);
  }
  write_exact(1, "CHILD-OK\n", 9);
  _exit(0);
}

int main(void) {
  int m, s;
  struct winsize ws = {.ws_row = 33, .ws_col = 77};
  E2E_CHECK(openpty(&m, &s, NULL, NULL, &ws) == 0, "openpty: %s",
            strerror(errno));
  struct termios t;
  tcgetattr(s, &t);
  t.c_cc[VINTR] = INTR_CHAR;
  t.c_lflag &= ~(tcflag_t)ECHO;
  tcsetattr(s, TCSANOW, &t);
  pid_t pid = fork();
  E2E_CHECK(pid >= 0, "fork");
  if (pid == 0) {
    close(m);
    E2E_CHECK(setsid() == getpid() && ioctl(s, TIOCSCTTY, 0) == 0,
              "child: no controlling terminal: %s", strerror(errno));
    dup2(s, 0);
    dup2(s, 1);
    if (s > 1) {
      close(s);
    }
    child();
  }
  close(s);
  for (int i = 0; i < OUT_READ; ++i) {
    expect_line(m, "out", i);
  }
  for (int i = 0; i < IN_TOTAL; ++i) {
    say_line(m, "in", i);
  }
  write_exact(m, "half", 4); /* a line being typed at the checkpoint */
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  write_exact(m, "-typed\n", 7);
  for (int i = OUT_READ; i < OUT_TOTAL; ++i) {
    expect_line(m, "out", i);
  }
  char last[32];
  read_line(m, last, sizeof last);
  E2E_CHECK(strcmp(last, "CHILD-OK") == 0, "child said '%s'", last);
  expect_child_ok(pid);
  e2e_say("PASS");
  return 0;
}
