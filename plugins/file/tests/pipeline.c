/* Both ends of a shell pipeline, run as
 *   bash -c 'file_pipeline produce | file_pipeline consume'
 * The producer writes numbered lines until the go file appears, then END;
 * the consumer checks every number arrives once and in order across the
 * checkpoint and restart of the whole tree (bash and both children). */
#include "file_test.h"

static int produce(void) {
  char line[32];
  for (long i = 0;; ++i) {
    int n = snprintf(line, sizeof line, "%ld\n", i);
    write_exact(1, line, (size_t)n);
    if (e2e_go_seen()) {
      write_exact(1, "END\n", 4);
      return 0;
    }
    usleep(2000);
  }
}

static int consume(void) {
  FILE* in = stdin;
  char line[64];
  long want = 0;
  while (fgets(line, sizeof line, in) != NULL) {
    if (strcmp(line, "END\n") == 0) {
      E2E_CHECK(want > 100, "only %ld lines", want);
      e2e_say("PASS");
      return 0;
    }
    long got = atol(line);
    E2E_CHECK(got == want, "line %ld where %ld was due", got, want);
    if (++want == 100) {
      e2e_say("READY");
    }
  }
  e2e_fail("end of input after %ld lines, before END", want);
}

int main(int argc, char** argv) {
  E2E_CHECK(argc == 2, "usage: pipeline produce|consume");
  return strcmp(argv[1], "produce") == 0 ? produce() : consume();
}
