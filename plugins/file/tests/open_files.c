/* A file changed after the checkpoint, before the crash:
 *   copies   (--ckpt-open-files) restart puts the checkpoint's contents
 *            back, so the file agrees with the program's memory;
 *   changed  (default) restart reopens the file as it is now.
 * Either way the fd keeps its offset. */
#include "dmtcp.h"
#include "file_test.h"

static const char kV1[] = "version one of the state file\n";
static const char kV2[] = "VERSION TWO, written after the checkpoint\n";
static char g_path[4096];

int main(int argc, char** argv) {
  E2E_CHECK(argc == 2, "usage: open_files copies|changed");
  int copies = strcmp(argv[1], "copies") == 0;
  test_path(g_path, sizeof g_path, "state");
  int fd = open(g_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  write_exact(fd, kV1, sizeof kV1 - 1);
  lseek(fd, 8, SEEK_SET);
  /* Changed right after the checkpoint, before the crash (the harness
   * kills us once READY is out). */
  int changed = 0;
  if (dmtcp_checkpoint() == DMTCP_AFTER_CHECKPOINT) {
    int w = open(g_path, O_WRONLY | O_TRUNC);
    write_exact(w, kV2, sizeof kV2 - 1);
    close(w);
    changed = 1;
  }
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  int restarts = 0;
  int restarted =
      dmtcp_get_local_status(NULL, &restarts) == DMTCP_IS_PRESENT &&
      restarts > 0;
  char text[128] = {0};
  E2E_CHECK(pread(fd, text, sizeof text - 1, 0) > 0, "pread: %s",
            strerror(errno));
  const char* want = changed || (restarted && !copies) ? kV2 : kV1;
  E2E_CHECK(strcmp(text, want) == 0, "file holds '%s', wanted '%s'", text,
            want);
  E2E_CHECK(offset_of(fd) == 8, "offset %ld", (long)offset_of(fd));
  e2e_say("PASS");
  return 0;
}
