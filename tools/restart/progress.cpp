#include "tools/restart/progress.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "common/log.h"

namespace dmtcp::restart {
namespace {

using json = nlohmann::json;

// The first line shows after this long: a quick restart shows none.
constexpr int kAfterMs = 1000;
constexpr int kPollMs = 500;
// A monitor never outlives a restart by much: it gives up after this long.
constexpr int kGiveUpMs = 30 * 60 * 1000;

int64_t now_ms() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t{t.tv_sec} * 1000 + t.tv_nsec / 1000000;
}

void sleep_ms(int ms) {
  timespec t{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

// One state of the restart round: the line to show, or "" when the round
// is over (or not ours any more).  *seen: the round was seen at all.
std::string line_for(const json& state, uint32_t generation,
                     const std::vector<ImageSize>& images, int64_t elapsed_ms,
                     bool* seen) {
  const json& r = state.value("round", json());
  if (!r.is_object() || r.value("kind", std::string()) != "restart" ||
      r.value("generation", 0u) != generation) {
    return "";
  }
  *seen = true;
  std::set<std::string> back;
  for (const json& u : r.value("restored_unique_pids", json::array())) {
    if (u.is_string()) {
      back.insert(u.get<std::string>());
    }
  }
  int64_t bytes = 0;
  int64_t total = 0;
  size_t done = 0;
  for (const ImageSize& i : images) {
    total += i.bytes;
    if (back.count(i.unique_pid) != 0) {
      bytes += i.bytes;
      ++done;
    }
  }
  double s = static_cast<double>(elapsed_ms) / 1000.0;
  char line[256];
  snprintf(line, sizeof line,
           "restart %u: %zu/%zu processes back, %.1f of %.1f MB, %.0f MB/s, "
           "%.1f s (%s)",
           generation, done, images.size(), static_cast<double>(bytes) / 1e6,
           static_cast<double>(total) / 1e6,
           s > 0 ? static_cast<double>(bytes) / 1e6 / s : 0.0, s,
           r.value("step", std::string("?")).c_str());
  return line;
}

// Whether every image's process runs again (a restart quicker than our
// first look).
bool all_running(const json& state, const std::vector<ImageSize>& images) {
  std::set<std::string> running;
  for (const json& p : state.value("processes", json::array())) {
    if (p.is_object() && p.value("state", std::string()) == "RUNNING") {
      running.insert(p.value("unique_pid", std::string()));
    }
  }
  for (const ImageSize& i : images) {
    if (running.count(i.unique_pid) == 0) {
      return false;
    }
  }
  return true;
}

[[noreturn]] void monitor(const tools::CoordinatorOptions& coord,
                          uint32_t generation,
                          const std::vector<ImageSize>& images,
                          int64_t start_ms, pid_t restart_pid) {
  int64_t first = start_ms + kAfterMs;
  bool seen = false;
  bool shown = false;
  int fd = -1;
  while (now_ms() - start_ms < kGiveUpMs) {
    int64_t wait = first - now_ms();
    sleep_ms(wait > 0 ? static_cast<int>(wait) : kPollMs);
    std::string error;
    if (fd < 0) {
      fd = tools::tool_connection(coord, &error, "dmtcp_restart");
      if (fd < 0) {
        break;  // no coordinator to ask: the restart says why, not us
      }
    }
    std::string text;
    if (!tools::tool_command(fd, 'j', 0, &text)) {
      break;
    }
    json state = json::parse(text, nullptr, false);
    bool was_seen = seen;
    std::string line = line_for(state, generation, images,
                                now_ms() - start_ms, &seen);
    if (line.empty()) {
      // The round is over, or never came to be seen: over when every image
      // runs again, never when dmtcp_restart itself is gone (it failed).
      if (was_seen || all_running(state, images) ||
          kill(restart_pid, 0) != 0 || now_ms() - start_ms > 60 * 1000) {
        break;
      }
      continue;
    }
    fprintf(stderr, "\r\033[K%s", line.c_str());
    shown = true;
  }
  if (shown) {
    fputs("\r\033[K", stderr);
  }
  _exit(0);
}

}  // namespace

void start_progress_monitor(const tools::CoordinatorOptions& coord,
                            uint32_t generation,
                            const std::vector<ImageSize>& images) {
  if (!isatty(STDERR_FILENO) || log::level() <= log::kError) {  // -q
    return;
  }
  int64_t start = now_ms();
  pid_t restart_pid = getpid();
  pid_t child = fork();
  if (child < 0) {
    return;  // no progress line: nothing else changes
  }
  if (child == 0) {
    // The monitor is a grandchild: this child exits at once, so the
    // monitor is nobody's child that the restored program could see.
    if (fork() != 0) {
      _exit(0);
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, STDIN_FILENO);
      dup2(null, STDOUT_FILENO);
    }
    close_range(3, ~0U, 0);  // images, pipes: nothing of the computation
    monitor(coord, generation, images, start, restart_pid);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace dmtcp::restart
