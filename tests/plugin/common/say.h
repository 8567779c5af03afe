/* say(): one formatted line to stdout with one write(2).  Safe in event
 * hooks (no stdio lock, no malloc for the formats used here) and atomic
 * between processes sharing the output file. */
#ifndef DMTCP_TEST_SAY_H
#define DMTCP_TEST_SAY_H

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((format(printf, 1, 2))) static inline void say(const char *fmt,
                                                              ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) {
    return;
  }
  if (n > (int)sizeof buf - 2) {
    n = (int)sizeof buf - 2;
  }
  buf[n++] = '\n';
  ssize_t off = 0;
  while (off < n) {
    ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));
    if (w <= 0) {
      return;
    }
    off += w;
  }
}

#endif
