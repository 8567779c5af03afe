/* The tutorial's sleep2 plugin (section 3.2.2), in our words: wrap sleep(),
 * print before and after, and call the next definition (sleep2's inner
 * neighbour in --with-plugin order, or libc) through NEXT_FNC.
 *
 * Algorithm:
 *  1. Print "sleep2: before N" with the wall-clock time.
 *  2. Call NEXT_FNC(sleep): nested wrappers run inside this call.
 *  3. Print "sleep2: after, elapsed S s" and return the real result. */
#include <sys/time.h>

#include "dmtcp/plugin.h"
#include "say.h"

static double now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

unsigned int sleep(unsigned int seconds) {
  double start = now();
  say("sleep2: before %u", seconds);
  unsigned int result = NEXT_FNC(sleep)(seconds);
  say("sleep2: after, elapsed %.1f s", now() - start);
  return result;
}
