/* dmtcp.h -- the application API, as upstream DMTCP's dmtcp.h has it.
 *
 * Every function is declared weak and the application calls are wrapped in
 * macros of the same name that test the function first, so a program built
 * against this header runs unchanged with or without DMTCP:
 *
 *   int r = dmtcp_checkpoint();  // DMTCP_NOT_PRESENT when run natively
 *   if (r == DMTCP_AFTER_RESTART) ...
 *
 * A program that takes a function's address, or a runtime that defines one,
 * writes its name in parentheses, e.g. (dmtcp_checkpoint)(), which the
 * function-like macro leaves alone.
 */
#ifndef DMTCP_H
#define DMTCP_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return values, with upstream's numbers. */
#define DMTCP_AFTER_CHECKPOINT 1
#define DMTCP_AFTER_RESTART 2
#define DMTCP_NOT_PRESENT 3
#define DMTCP_IS_PRESENT 4

/* 1 when the process runs under DMTCP, 0 otherwise. */
int dmtcp_is_enabled(void) __attribute__((weak));
/* Checkpoints the whole computation and returns DMTCP_AFTER_CHECKPOINT,
 * or DMTCP_AFTER_RESTART when the process comes back from the image; -1 on
 * error (errno set). */
int dmtcp_checkpoint(void) __attribute__((weak));
/* Calls nest; a checkpoint waits until the outermost enable.  1 on
 * success. */
int dmtcp_disable_ckpt(void) __attribute__((weak));
int dmtcp_enable_ckpt(void) __attribute__((weak));
/* DMTCP_IS_PRESENT, with the number of processes connected to the
 * coordinator and whether they all run (no checkpoint in progress); -1 if
 * the coordinator cannot be asked. */
int dmtcp_get_coordinator_status(int *num_peers, int *is_running)
    __attribute__((weak));
/* DMTCP_IS_PRESENT, with the checkpoints of this computation so far and
 * the restarts of this process so far. */
int dmtcp_get_local_status(int *num_checkpoints, int *num_restarts)
    __attribute__((weak));

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
#pragma weak dmtcp_next_fnc_address
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
#pragma weak dmtcp_get_coordinator_local_addr
#pragma weak dmtcp_alloc
#pragma weak dmtcp_free
#pragma weak dmtcp_log
#pragma weak dmtcp_kvdb_request

/* The calls an application makes, safe without DMTCP (after plugin.h,
 * whose declarations must not meet these macros). */
#define dmtcp_is_enabled() (dmtcp_is_enabled ? dmtcp_is_enabled() : 0)
#define dmtcp_checkpoint() \
  (dmtcp_checkpoint ? dmtcp_checkpoint() : DMTCP_NOT_PRESENT)
#define dmtcp_disable_ckpt() \
  (dmtcp_disable_ckpt ? dmtcp_disable_ckpt() : DMTCP_NOT_PRESENT)
#define dmtcp_enable_ckpt() \
  (dmtcp_enable_ckpt ? dmtcp_enable_ckpt() : DMTCP_NOT_PRESENT)
#define dmtcp_get_coordinator_status(peers, running)                  \
  (dmtcp_get_coordinator_status ? dmtcp_get_coordinator_status(peers, \
                                                               running) \
                                : DMTCP_NOT_PRESENT)
#define dmtcp_get_local_status(ckpts, restarts)                           \
  (dmtcp_get_local_status ? dmtcp_get_local_status(ckpts, restarts)       \
                          : DMTCP_NOT_PRESENT)
#define dmtcp_get_ckpt_dir() (dmtcp_get_ckpt_dir ? dmtcp_get_ckpt_dir() : NULL)
#define dmtcp_set_ckpt_dir(dir) \
  (dmtcp_set_ckpt_dir ? dmtcp_set_ckpt_dir(dir) : DMTCP_NOT_PRESENT)
#define dmtcp_get_ckpt_filename() \
  (dmtcp_get_ckpt_filename ? dmtcp_get_ckpt_filename() : NULL)
#define dmtcp_get_uniquepid_str() \
  (dmtcp_get_uniquepid_str ? dmtcp_get_uniquepid_str() : NULL)

#endif /* DMTCP_H */
