// Logging and always-on assertions for every part of DMTCP.
//
// Safe in the preloaded runtime: messages are formatted into a stack buffer
// with vsnprintf (no malloc for the formats we use) and written with one
// write(2) to stderr, so a hook or the checkpoint thread can log while user
// threads hold the malloc or stdio lock.
//
// Levels come from DMTCP_LOG_LEVEL (0 quiet .. 4 trace; default 1 = errors
// and warnings); DMTCP_QUIET=1 (or 2) keeps errors only (as dmtcp_launch
// -q).  DMTCP_LOG_FILE=F: in the runtime (use_log_file_from_env), lines
// are appended to F instead of stderr.
#pragma once

#include <cerrno>
#include <cstdarg>

namespace dmtcp::log {

enum Level : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

// Current threshold; read from the environment on first use.
int level();
void set_level(int level);
// A short tag printed in front of every line ("dmtcp", "coordinator", ...).
void set_tag(const char* tag);
// From now on DMTCP_LOG_FILE, when set, takes the lines instead of stderr
// (the runtime calls it; the coordinator has --coord-logfile).
void use_log_file_from_env();

void write_line(int level, const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
void vwrite_line(int level, const char* file, int line, const char* fmt,
                 va_list ap);

[[noreturn]] void assert_failed(const char* file, int line, const char* expr,
                                int saved_errno, const char* fmt, ...)
    __attribute__((format(printf, 5, 6)));

}  // namespace dmtcp::log

#define DMTCP_LOG(lvl, ...)                                          \
  do {                                                               \
    if ((lvl) <= ::dmtcp::log::level()) {                            \
      ::dmtcp::log::write_line((lvl), __FILE__, __LINE__, __VA_ARGS__); \
    }                                                                \
  } while (0)
#define DMTCP_ERROR(...) DMTCP_LOG(::dmtcp::log::kError, __VA_ARGS__)
#define DMTCP_WARN(...) DMTCP_LOG(::dmtcp::log::kWarn, __VA_ARGS__)
#define DMTCP_INFO(...) DMTCP_LOG(::dmtcp::log::kInfo, __VA_ARGS__)
#define DMTCP_DEBUG(...) DMTCP_LOG(::dmtcp::log::kDebug, __VA_ARGS__)
#define DMTCP_TRACE(...) DMTCP_LOG(::dmtcp::log::kTrace, __VA_ARGS__)

// Stays on in release builds.  Prints file:line, the expression, errno and a
// printf-style message with the values involved, then aborts.
#define DMTCP_ASSERT(expr, ...)                                        \
  do {                                                                 \
    if (__builtin_expect(!(expr), 0)) {                                \
      ::dmtcp::log::assert_failed(__FILE__, __LINE__, #expr, errno,    \
                                  __VA_ARGS__);                        \
    }                                                                  \
  } while (0)
