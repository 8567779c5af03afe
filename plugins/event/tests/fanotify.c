/* A fanotify fd at checkpoint time: not supported, said in one line at
 * each checkpoint that meets it (the harness counts the lines), never a
 * silent loss.  The program itself only goes on running. */
#include <sys/fanotify.h>

#include "event_test.h"

int main(void) {
  /* FAN_REPORT_FID: allowed without privilege (Linux 5.13+). */
  int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_CLOEXEC,
                          O_RDONLY);
  if (fan < 0) {
    printf("SKIP: fanotify_init: %s\n", strerror(errno));
    e2e_say("READY");
    e2e_wait_for_go(NULL);
    e2e_say("PASS");
    return 0;
  }
  E2E_CHECK(fanotify_mark(fan, FAN_MARK_ADD, FAN_CREATE | FAN_ONDIR,
                          AT_FDCWD, test_dir()) == 0,
            "fanotify_mark: %s", strerror(errno));
  printf("fanotify fd %d\n", fan);
  e2e_say("READY");
  e2e_wait_for_go(NULL);
  e2e_say("PASS");
  return 0;
}
