/* dmtcp/inspect.h -- notes in the checkpoint image, and their decoders.
 *
 * What it is for: dmtcp_inspect shows each plugin's saved objects (fds,
 * pipes, timers ...) as that plugin describes them.  A plugin says what it
 * saved by adding *notes* to its process's image while the image is being
 * made, and teaches dmtcp_inspect to read them with a *decoder*.  Notes
 * are descriptive only: restart never reads them (plugin state comes back
 * with memory), so a note may be summary, and an image without a plugin's
 * notes restarts the same.  See docs/inspect.md.
 *
 * What it refuses: a note added outside DMTCP_EVENT_WRITE_CKPT, an owner
 * that is not 1-15 characters, a payload over 1 MiB or past the notes
 * area (16 MiB a process): -1 with errno EPERM, EINVAL, E2BIG, ENOSPC.
 * Nothing is truncated silently.
 *
 * Threads: dmtcp_add_image_note() runs in the checkpoint thread (the
 * WRITE_CKPT hook); decoders run in dmtcp_inspect, one call at a time.
 *
 * Allocation: dmtcp_add_image_note() never allocates (user threads may
 * hold the malloc lock): the payload is copied into memory the runtime
 * mapped before the round.  Decoders may allocate (they run in a tool).
 *
 * Writing side, in a plugin:
 *
 *   case DMTCP_EVENT_WRITE_CKPT:
 *     struct my_note n = {...};
 *     dmtcp_add_image_note("myplugin", MY_NOTE_THING, &n, sizeof n);
 *     DMTCP_NEXT_EVENT_HOOK(event, data);
 *
 * Reading side, a decoder (in the plugin itself or a small library of its
 * own) given to dmtcp_inspect with --decoder LIB.so:
 *
 *   static int decode(uint32_t type, const void *data, size_t size,
 *                     const DmtcpInspectOut *out) {
 *     struct my_note n;
 *     if (type != MY_NOTE_THING || size != sizeof n) return -1;
 *     memcpy(&n, data, sizeof n);
 *     dmtcp_inspect_object(out, "thing");
 *     dmtcp_inspect_int(out, "id", n.id);
 *     return 0;
 *   }
 *   static const DmtcpInspectDecoder decoders[] = {{"myplugin", decode}};
 *   DMTCP_INSPECT_DECODERS(decoders)
 *
 * The payload given to a decoder is untrusted bytes from a file: check
 * its size before reading, and its strings' lengths (they need not end in
 * NUL).  A decoder that returns nonzero gets the note shown as
 * "undecodable" with its size: never a crash of the tool.
 */
#ifndef DMTCP_INSPECT_H
#define DMTCP_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest payload of one note, and of all of a process's notes. */
#define DMTCP_NOTE_MAX_SIZE (1u << 20)
#define DMTCP_NOTES_MAX_TOTAL (16u << 20)
/* An owner is 1 to DMTCP_NOTE_OWNER_MAX characters. */
#define DMTCP_NOTE_OWNER_MAX 15

/* Adds a note to the image this process is writing.  Only in the
 * DMTCP_EVENT_WRITE_CKPT hook.  0, or -1 with errno set. */
int dmtcp_add_image_note(const char* owner, uint32_t type, const void* data,
                         size_t size) __attribute__((weak));

/* What a decoder writes to: dmtcp_inspect turns the calls into text lines
 * and JSON objects.  Use the helpers below rather than the members. */
typedef struct DmtcpInspectOut {
  void* ctx;
  /* Starts an object of this kind ("fd", "pipe"...); fields follow. */
  void (*object)(void* ctx, const char* kind);
  void (*str)(void* ctx, const char* key, const char* value, size_t len);
  void (*num)(void* ctx, const char* key, long long value);
} DmtcpInspectOut;

static inline void dmtcp_inspect_object(const DmtcpInspectOut* out,
                                        const char* kind) {
  out->object(out->ctx, kind);
}
/* value: len bytes, not necessarily NUL-terminated. */
static inline void dmtcp_inspect_strn(const DmtcpInspectOut* out,
                                      const char* key, const char* value,
                                      size_t len) {
  out->str(out->ctx, key, value, len);
}
static inline void dmtcp_inspect_str(const DmtcpInspectOut* out,
                                     const char* key, const char* value) {
  size_t len = 0;
  while (value[len] != '\0') {
    ++len;
  }
  out->str(out->ctx, key, value, len);
}
static inline void dmtcp_inspect_int(const DmtcpInspectOut* out,
                                     const char* key, long long value) {
  out->num(out->ctx, key, value);
}

/* Decodes one note of its owner: 0, or nonzero when the note is not one it
 * knows (wrong type or size). */
typedef int (*DmtcpInspectDecodeFn)(uint32_t type, const void* data,
                                    size_t size, const DmtcpInspectOut* out);

typedef struct DmtcpInspectDecoder {
  const char* owner; /* the owner its notes carry */
  DmtcpInspectDecodeFn decode;
} DmtcpInspectDecoder;

/* A decoder library exports this function (DMTCP_INSPECT_DECODERS does it):
 * dmtcp_inspect --decoder LIB.so dlopens LIB.so and calls it. */
typedef const DmtcpInspectDecoder* (*DmtcpInspectDecodersFn)(size_t* count);
#define DMTCP_INSPECT_DECODERS_SYMBOL "dmtcp_inspect_decoders"
#ifdef __cplusplus
#define DMTCP_INSPECT_EXTERN_C extern "C"
#else
#define DMTCP_INSPECT_EXTERN_C
#endif
#define DMTCP_INSPECT_DECODERS(array)                           \
  DMTCP_INSPECT_EXTERN_C __attribute__((visibility("default"))) \
  const DmtcpInspectDecoder*                                    \
  dmtcp_inspect_decoders(size_t* count) {                       \
    *count = sizeof(array) / sizeof((array)[0]);                \
    return (array);                                             \
  }

#ifdef __cplusplus
}
#endif

#endif /* DMTCP_INSPECT_H */
