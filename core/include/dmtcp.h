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

/* A program (not a plugin) that uses these must still run without DMTCP:
 * weak, so an absent runtime leaves them NULL instead of failing to link. */
#pragma weak dmtcp_prepare_wrappers
#pragma weak dmtcp_plugin_disable_ckpt
#pragma weak dmtcp_plugin_enable_ckpt
#pragma weak dmtcp_send_key_val_pair_to_coordinator
#pragma weak dmtcp_send_query_to_coordinator
#pragma weak dmtcp_get_generation
#pragma weak dmtcp_get_ckpt_dir
#pragma weak dmtcp_set_ckpt_dir
#pragma weak dmtcp_get_tmpdir
#pragma weak dmtcp_get_ckpt_filename
#pragma weak dmtcp_get_uniquepid_str
#pragma weak dmtcp_get_computation_id_str
#pragma weak dmtcp_get_ckpt_signal
#pragma weak dmtcp_virtual_to_real_pid
#pragma weak dmtcp_real_to_virtual_pid
#pragma weak dmtcp_get_restart_env
#pragma weak dmtcp_is_protected_fd
#pragma weak dmtcp_get_restored_object_fd
#pragma weak dmtcp_alloc
#pragma weak dmtcp_free
#pragma weak dmtcp_log

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
