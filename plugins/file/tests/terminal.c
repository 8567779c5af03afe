/* A program run in a terminal (the harness runs it under script(1)) comes
 * back in the terminal dmtcp_restart runs in: its standard streams are that
 * terminal, it is in the foreground, and the terminal has the settings the
 * program gave its own. */
#include <termios.h>

#include "file_test.h"

#define INTR_CHAR 0x07

static void check_terminal(const char* when) {
  E2E_CHECK(isatty(0) && isatty(1) && isatty(2), "%s: stdio is no terminal",
            when);
  errno = 0;
  pid_t fg = tcgetpgrp(0);
  E2E_CHECK(fg == getpgrp(), "%s: foreground group %d (%s), ours %d, sid %d",
            when, fg, strerror(errno), getpgrp(), getsid(0));
}

int main(void) {
  check_terminal("before");
  struct termios t;
  E2E_CHECK(tcgetattr(0, &t) == 0, "tcgetattr: %s", strerror(errno));
  t.c_cc[VINTR] = INTR_CHAR;
  t.c_lflag &= ~(tcflag_t)ECHO;
  E2E_CHECK(tcsetattr(0, TCSANOW, &t) == 0, "tcsetattr: %s", strerror(errno));
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  check_terminal("after");
  E2E_CHECK(tcgetattr(0, &t) == 0 && t.c_cc[VINTR] == INTR_CHAR &&
                !(t.c_lflag & ECHO),
            "terminal settings lost (VINTR %d, lflag %x)", t.c_cc[VINTR],
            (unsigned)t.c_lflag);
  e2e_say("PASS");
  return 0;
}
