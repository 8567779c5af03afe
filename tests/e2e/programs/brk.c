/* The program break comes back exactly (docs/restore.md, program break).
 * Built twice, PIE and not (a non-PIE program's break lies far below a
 * PIE one's).  Before READY the program moves its break (its own unaligned
 * sbrks, malloc growing it, free trimming it) and records glibc's break
 * (sbrk(0)) and the kernel's (brk(0) by syscall).  After go: both are the
 * recorded value, the memory it sbrk'ed itself is intact, and the break
 * still grows and shrinks (by sbrk, then through malloc and free). */
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#include "e2e.h"

#define NBLOCKS 4000
#define BLOCK 1000

static char* g_blocks[NBLOCKS];

static uintptr_t kernel_brk(void) {
  return (uintptr_t)syscall(SYS_brk, 0);
}

static uintptr_t glibc_brk(void) {
  return (uintptr_t)sbrk(0);
}

static void check_breaks(uintptr_t want, const char* when) {
  E2E_CHECK(glibc_brk() == want, "%s: sbrk(0) %#lx, expected %#lx", when,
            (unsigned long)glibc_brk(), (unsigned long)want);
  E2E_CHECK(kernel_brk() == want, "%s: kernel brk %#lx, expected %#lx", when,
            (unsigned long)kernel_brk(), (unsigned long)want);
}

static void fill(int from, int to, int salt) {
  for (int i = from; i < to; ++i) {
    g_blocks[i] = malloc(BLOCK);
    E2E_CHECK(g_blocks[i] != NULL, "malloc %d", i);
    memset(g_blocks[i], (i + salt) & 0xff, BLOCK);
  }
}

static void check_and_free(int from, int to, int salt) {
  for (int i = from; i < to; ++i) {
    for (int k = 0; k < BLOCK; ++k) {
      E2E_CHECK((unsigned char)g_blocks[i][k] == ((i + salt) & 0xff),
                "block %d byte %d", i, k);
    }
    free(g_blocks[i]);
    g_blocks[i] = NULL;
  }
}

int main(void) {
  e2e_say("START"); /* stdio's buffer is allocated now */
  /* An unaligned break of our own, below malloc's heap. */
  unsigned char* own = sbrk(100);
  E2E_CHECK(own != (void*)-1, "sbrk(100)");
  for (int k = 0; k < 100; ++k) {
    own[k] = (unsigned char)(k * 3 + 1);
  }
  /* malloc grows the break by some megabytes; freeing the upper half
   * trims it again. */
  fill(0, NBLOCKS, 1);
  uintptr_t grown = glibc_brk();
  check_and_free(NBLOCKS / 2, NBLOCKS, 1);
  E2E_CHECK(glibc_brk() < grown, "free did not trim: %#lx",
            (unsigned long)grown);
  /* The break the checkpoint sees is not page aligned. */
  unsigned char* own2 = sbrk(37);
  E2E_CHECK(own2 != (void*)-1, "sbrk(37)");
  memset(own2, 0x3c, 37);
  uintptr_t recorded = glibc_brk();
  check_breaks(recorded, "before checkpoint");
  printf("break %#lx\n", (unsigned long)recorded);
  e2e_say("READY");
  e2e_wait_for_go(NULL);

  check_breaks(recorded, "after go");
  for (int k = 0; k < 100; ++k) {
    E2E_CHECK(own[k] == (unsigned char)(k * 3 + 1), "own sbrk byte %d", k);
  }
  for (int k = 0; k < 37; ++k) {
    E2E_CHECK(own2[k] == 0x3c, "second sbrk byte %d", k);
  }
  /* Grow and shrink by hand. */
  const intptr_t kGrow = 3 << 20;
  char* more = sbrk(kGrow);
  E2E_CHECK(more == (char*)recorded, "sbrk(+3 MiB) returned %p", more);
  check_breaks(recorded + kGrow, "after sbrk(+3 MiB)");
  memset(more, 0x77, kGrow);
  E2E_CHECK(sbrk(-kGrow) != (void*)-1, "sbrk(-3 MiB)");
  check_breaks(recorded, "after sbrk(-3 MiB)");
  /* And through malloc: the heap grows from the recorded break on. */
  fill(NBLOCKS / 2, NBLOCKS, 2);
  E2E_CHECK(glibc_brk() > recorded, "malloc did not grow the break");
  E2E_CHECK(kernel_brk() == glibc_brk(), "kernel brk %#lx, glibc %#lx",
            (unsigned long)kernel_brk(), (unsigned long)glibc_brk());
  check_and_free(NBLOCKS / 2, NBLOCKS, 2);
  check_and_free(0, NBLOCKS / 2, 1);
  malloc_trim(0);
  E2E_CHECK(kernel_brk() == glibc_brk(),
            "after trim: kernel brk %#lx, glibc %#lx",
            (unsigned long)kernel_brk(), (unsigned long)glibc_brk());
  e2e_say("PASS");
  return 0;
}
