// setlocale and the gettext domain calls run under the checkpoint lock
// (held shared, as in every wrapper), so no thread is ever frozen inside
// them.
//
// Why: they take glibc-internal rwlocks for writing (setlocale, newlocale,
// duplocale and freelocale __libc_setlocale_lock; textdomain, bindtextdomain and
// bind_textdomain_codeset _nl_state_lock).  A glibc rwlock remembers its
// writer by tid, and a thread's tid changes across a restart: a writer
// frozen inside, restarted, then unlocks as if it were a reader, and the
// lock stays write-locked for good.  make -j2 restarted hung so (about 1 run
// in 60): a cc1 checkpointed in its start-up setlocale blocked for ever in
// its next gettext().  These locks are not ours to fix up after restart
// (not exported), and the calls are rare and short and never call back
// into the program, so keeping the checkpoint out is the cheap, sure fix.
// (Readers are fine: a read lock records no tid.)
#include <libintl.h>
#include <locale.h>

#include "runtime/ckpt_lock.h"
#include "runtime/real_fns.h"

using dmtcp::real::fns;

extern "C" {

__attribute__((visibility("default"))) char* setlocale(int category,
                                                       const char* locale) {
  dmtcp::ckpt_lock::SharedGuard outside_any_checkpoint;
  return fns().setlocale(category, locale);
}

__attribute__((visibility("default"))) char* textdomain(const char* domain) {
  dmtcp::ckpt_lock::SharedGuard outside_any_checkpoint;
  return fns().textdomain(domain);
}

__attribute__((visibility("default"))) char* bindtextdomain(const char* domain,
                                                           const char* dir) {
  dmtcp::ckpt_lock::SharedGuard outside_any_checkpoint;
  return fns().bindtextdomain(domain, dir);
}

__attribute__((visibility("default"))) char* bind_textdomain_codeset(
    const char* domain, const char* codeset) {
  dmtcp::ckpt_lock::SharedGuard outside_any_checkpoint;
  return fns().bind_textdomain_codeset(domain, codeset);
}

// libstdc++'s std::locale calls the double-underscore names.
#define DMTCP_LOCALE_WRAPPERS(name)                                        \
  __attribute__((visibility("default"))) locale_t name##newlocale(         \
      int mask, const char* locale, locale_t base) {                        \
    dmtcp::ckpt_lock::SharedGuard outside_any_checkpoint;                   \
    return fns().name##newlocale(mask, locale, base);                       \
  }                                                                         \
  __attribute__((visibility("default"))) locale_t name##duplocale(         \
      locale_t l) {                                                         \
    dmtcp::ckpt_lock::SharedGuard outside_any_checkpoint;                   \
    return fns().name##duplocale(l);                                        \
  }                                                                         \
  __attribute__((visibility("default"))) void name##freelocale(locale_t l) { \
    dmtcp::ckpt_lock::SharedGuard outside_any_checkpoint;                   \
    fns().name##freelocale(l);                                              \
  }
DMTCP_LOCALE_WRAPPERS()
DMTCP_LOCALE_WRAPPERS(__)
#undef DMTCP_LOCALE_WRAPPERS

}  // extern "C"
