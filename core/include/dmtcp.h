/* dmtcp.h -- the application API.
 *
 * Every function is declared weak: a program built against this header runs
 * unchanged with or without DMTCP.  Test the function pointer first, or use
 * the inline helpers below, which do it for you:
 *
 *   int r = dmtcp_checkpoint_or_not_present();
 *   if (r == DMTCP_AFTER_RESTART) ...
 */
#ifndef DMTCP_H
#define DMTCP_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DMTCP_NOT_PRESENT 0
#define DMTCP_AFTER_CHECKPOINT 1
#define DMTCP_AFTER_RESTART 2

typedef struct DmtcpCoordinatorStatus {
  int num_processes;
  int is_running; /* 1 when no checkpoint is in progress */
} DmtcpCoordinatorStatus;

typedef struct DmtcpLocalStatus {
  int generation;       /* checkpoints of this computation so far */
  int num_restarts;     /* restarts of this process so far */
  const char *ckpt_filename;
  const char *uniquepid;
} DmtcpLocalStatus;

int dmtcp_is_enabled(void) __attribute__((weak));
/* Checkpoints the whole computation and returns DMTCP_AFTER_CHECKPOINT,
 * or DMTCP_AFTER_RESTART when the process comes back from the image. */
int dmtcp_checkpoint(void) __attribute__((weak));
/* Calls nest; a checkpoint waits until the outermost enable. */
int dmtcp_disable_ckpt(void) __attribute__((weak));
int dmtcp_enable_ckpt(void) __attribute__((weak));
int dmtcp_get_coordinator_status(DmtcpCoordinatorStatus *status)
    __attribute__((weak));
int dmtcp_get_local_status(DmtcpLocalStatus *status) __attribute__((weak));

#ifdef __cplusplus
}
#endif

/* The whole plugin API is reachable from here too.  The weak declarations
 * above come first, so these functions stay weak for programs that include
 * this header: the same binary still runs without DMTCP. */
#include "dmtcp/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

static inline int dmtcp_checkpoint_or_not_present(void) {
  return dmtcp_checkpoint ? dmtcp_checkpoint() : DMTCP_NOT_PRESENT;
}
static inline int dmtcp_is_present(void) {
  return dmtcp_is_enabled ? dmtcp_is_enabled() : 0;
}

#ifdef __cplusplus
}
#endif

#endif /* DMTCP_H */
