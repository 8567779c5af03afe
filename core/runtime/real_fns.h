// The libc functions the core wraps, declared once (X-macro): the wrapper,
// the pointer to the next definition and its eager resolution at start-up
// all come from one line here.  Resolution never returns our own wrapper:
// dlsym(RTLD_NEXT) from this library looks only further down the chain.
#pragma once

#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#define DMTCP_CORE_WRAPPERS(X)                                                 \
  X(pthread_create, int,                                                       \
    (pthread_t*, const pthread_attr_t*, void* (*)(void*), void*))              \
  X(fork, pid_t, (void))                                                       \
  X(vfork, pid_t, (void))                                                      \
  X(sigaction, int, (int, const struct sigaction*, struct sigaction*))         \
  X(signal, sighandler_t, (int, sighandler_t))                                 \
  X(sigprocmask, int, (int, const sigset_t*, sigset_t*))                       \
  X(pthread_sigmask, int, (int, const sigset_t*, sigset_t*))                   \
  X(sigsuspend, int, (const sigset_t*))                                        \
  X(execve, int, (const char*, char* const*, char* const*))                    \
  X(execvpe, int, (const char*, char* const*, char* const*))                   \
  X(posix_spawn, int,                                                          \
    (pid_t*, const char*, const posix_spawn_file_actions_t*,                   \
     const posix_spawnattr_t*, char* const*, char* const*))                    \
  X(posix_spawnp, int,                                                         \
    (pid_t*, const char*, const posix_spawn_file_actions_t*,                   \
     const posix_spawnattr_t*, char* const*, char* const*))                    \
  X(system, int, (const char*))                                                \
  X(popen, FILE*, (const char*, const char*))                                  \
  X(pthread_exit, void, (void*))                                               \
  X(clock_nanosleep, int,                                                      \
    (clockid_t, int, const struct timespec*, struct timespec*))                \
  X(pause, int, (void))                                                        \
  X(poll, int, (struct pollfd*, nfds_t, int))                                  \
  X(ppoll, int,                                                                \
    (struct pollfd*, nfds_t, const struct timespec*, const sigset_t*))         \
  X(select, int, (int, fd_set*, fd_set*, fd_set*, struct timeval*))            \
  X(pselect, int,                                                              \
    (int, fd_set*, fd_set*, fd_set*, const struct timespec*, const sigset_t*)) \
  X(epoll_wait, int, (int, struct epoll_event*, int, int))                     \
  X(epoll_pwait, int, (int, struct epoll_event*, int, int, const sigset_t*))   \
  X(epoll_pwait2, int,                                                         \
    (int, struct epoll_event*, int, const struct timespec*, const sigset_t*))  \
  X(close_range, int, (unsigned int, unsigned int, int))                       \
  X(closefrom, void, (int))                                                    \
  X(close, int, (int))                                                         \
  X(syscall, long, (long, ...))                                                \
  X(setlocale, char*, (int, const char*))                                      \
  X(textdomain, char*, (const char*))                                          \
  X(bindtextdomain, char*, (const char*, const char*))                         \
  X(bind_textdomain_codeset, char*, (const char*, const char*))                \
  X(newlocale, locale_t, (int, const char*, locale_t))                         \
  X(duplocale, locale_t, (locale_t))                                           \
  X(freelocale, void, (locale_t))                                              \
  X(__newlocale, locale_t, (int, const char*, locale_t))                       \
  X(__duplocale, locale_t, (locale_t))                                         \
  X(__freelocale, void, (locale_t))

namespace dmtcp::real {

struct Fns {
#define DMTCP_REAL_FIELD(name, ret, args) ret(*name) args;
  DMTCP_CORE_WRAPPERS(DMTCP_REAL_FIELD)
#undef DMTCP_REAL_FIELD
};

// Resolves every entry on first use (also before our constructor runs).
const Fns& fns();

}  // namespace dmtcp::real
