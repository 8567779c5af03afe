// What the coordinator tells about its computation beyond upstream's
// status numbers: the computation and the round in progress ('j', for
// dmtcp_command --json and the progress line of --bcheckpoint) and the
// steps of the last round per process ('x', dmtcp_command --stats).
//
// Step times are measured here, from the moments each process reached
// each barrier and each barrier was released: a process's step k is the
// time from the release of barrier k-1 (the round's start for k = 0) to
// its arrival at barrier k.  So "write" is the time that process spent
// writing its image, "suspend" how long its threads took to stop, and a
// slow step of one process shows as a long wait of the others at the
// next barrier (not counted against them).
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>

#include "coordinator.h"
#include "image_files.h"

namespace dmtcp::coordinator {
namespace {

using json = nlohmann::ordered_json;

// Program and host names come from the wire as any bytes: invalid UTF-8
// becomes U+FFFD rather than an exception (the fuzzer found that one).
std::string text_of(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// What a process does before it reaches the barrier, as a user would name
// it.
const char* step_name(proto::Barrier b) {
  switch (b) {
    case proto::Barrier::kThreadsSuspended:
      return "suspend";
    case proto::Barrier::kSuspended:
      return "suspended";
    case proto::Barrier::kLeaderElection:
      return "elect";
    case proto::Barrier::kDrain:
      return "drain";
    case proto::Barrier::kCkptWritten:
      return "write";
    case proto::Barrier::kResumed:
      return "resume";
    case proto::Barrier::kRestarted:
      return "restore";
    case proto::Barrier::kRegisterNameService:
      return "register";
    case proto::Barrier::kSendQueries:
      return "query";
    case proto::Barrier::kRefilled:
      return "refill";
  }
  return "?";
}

// Size of path, or -1 (gone, or not on this host: the caller checks).
int64_t file_bytes(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size
                                                                : -1;
}

// The bytes of the temporary file a process is writing for generation gen,
// found from its image of an earlier generation (images are named
// ..._gen<N>.dmtcp and written to <name>.tmp.<random>): -1 if there is no
// earlier image or no such file.
int64_t tmp_bytes(const std::string& last_image, uint32_t gen) {
  static const std::regex kGen("_gen[0-9]+\\.dmtcp$");
  if (!std::regex_search(last_image, kGen)) {
    return -1;
  }
  std::string image = std::regex_replace(
      last_image, kGen, "_gen" + std::to_string(gen) + ".dmtcp");
  int64_t bytes = -1;
  for (const std::string& tmp : image_temporaries(image)) {
    bytes = std::max(bytes, file_bytes(tmp));
  }
  return bytes;
}

}  // namespace

std::string Coordinator::state_json() const {
  json j;
  j["computation_id"] = computation_id_;
  j["generation"] = generation_;
  j["processes"] = json::array();
  for (const auto& [id, c] : clients_) {
    if (!c.is_process()) {
      continue;
    }
    bool here = c.hostname == hostname_;
    int64_t bytes = here && !c.last_image.empty() ? file_bytes(c.last_image)
                                                  : -1;
    j["processes"].push_back({
        {"id", id},
        {"program", c.progname},
        {"host", c.hostname},
        {"pid", c.pid},
        {"unique_pid", c.unique_pid},
        {"state", state_name(c.state)},
        {"last_image", c.last_image.empty() ? json(nullptr) : json(c.last_image)},
        {"last_image_bytes", bytes < 0 ? json(nullptr) : json(bytes)},
    });
  }
  if (!round_.active()) {
    j["round"] = nullptr;
    return text_of(j);
  }
  // The round in progress: images written, and the bytes of the ones being
  // written that this host can see.
  size_t written = 0;
  int64_t bytes = 0;
  for (const auto& [id, p] : round_.participants) {
    auto found = clients_.find(id);
    const Client* c = found != clients_.end() ? &found->second : nullptr;
    if (!p.image.empty()) {
      ++written;
      int64_t b = c != nullptr && c->hostname == hostname_
                      ? file_bytes(p.image)
                      : -1;
      bytes += b > 0 ? b : 0;
    } else if (c != nullptr && c->hostname == hostname_) {
      int64_t b = tmp_bytes(c->last_image, round_.generation);
      bytes += b > 0 ? b : 0;
    }
  }
  j["round"] = {
      {"kind", round_.kind == RoundKind::kRestart ? "restart" : "checkpoint"},
      {"generation", round_.generation},
      {"step", barrier_name(static_cast<uint32_t>(
                   round_.sequence[std::min(round_.index,
                                            round_.sequence.size() - 1)]))},
      {"processes", round_.participants.size()},
      {"images_written", written},
      {"bytes_written", bytes},
      {"elapsed_ms", now_ms() - round_.start_ms},
      {"failed", round_.failed},
      {"forked", round_.forked},
  };
  if (round_.kind == RoundKind::kRestart) {
    // Who is back: a restarting process joins before it reads its image
    // and reaches the first barrier (RESTARTED) once its memory is in
    // (dmtcp_restart's progress line counts their images' bytes).
    json restored = json::array();
    for (const auto& [id, p] : round_.participants) {
      auto found = clients_.find(id);
      if (found != clients_.end() && !p.reached_ms.empty() &&
          p.reached_ms[0] >= 0) {
        restored.push_back(found->second.unique_pid);
      }
    }
    j["round"]["expected"] = round_.expected;
    j["round"]["restored_unique_pids"] = std::move(restored);
  }
  return text_of(j);
}

void Coordinator::keep_round_stats() {
  json j;
  j["kind"] = round_.kind == RoundKind::kRestart ? "restart" : "checkpoint";
  j["generation"] = round_.generation;
  j["failed"] = round_.failed;
  if (round_.failed) {
    j["failure"] = round_.failure;
  }
  j["forked"] = round_.forked;
  j["total_ms"] = now_ms() - round_.start_ms;
  j["steps"] = json::array();
  for (proto::Barrier b : round_.sequence) {
    j["steps"].push_back(step_name(b));
  }
  std::vector<json> procs;
  for (const auto& [id, p] : round_.participants) {
    json row;
    if (const Client* c = find(id)) {
      row["program"] = c->progname;
      row["host"] = c->hostname;
      row["pid"] = c->pid;
    }
    row["id"] = id;
    json ms = json::array();
    int64_t total = 0;
    for (size_t k = 0; k < p.reached_ms.size(); ++k) {
      int64_t from = k == 0 ? round_.start_ms
                            : (k - 1 < round_.released_ms.size()
                                   ? round_.released_ms[k - 1]
                                   : -1);
      if (p.reached_ms[k] < 0 || from < 0) {
        ms.push_back(nullptr);
        continue;
      }
      int64_t d = std::max<int64_t>(0, p.reached_ms[k] - from);
      ms.push_back(d);
      total += d;
    }
    row["steps_ms"] = ms;
    row["busy_ms"] = total;
    if (!p.image.empty()) {
      row["image"] = p.image;
      int64_t b = file_bytes(p.image);
      row["image_bytes"] = b < 0 ? json(nullptr) : json(b);
    }
    procs.push_back(std::move(row));
  }
  // The slowest first: what the user wants to see.
  std::stable_sort(procs.begin(), procs.end(),
                   [](const json& a, const json& b) {
                     return a["busy_ms"].get<int64_t>() >
                            b["busy_ms"].get<int64_t>();
                   });
  j["processes"] = procs;
  last_round_stats_ = text_of(j);
}

}  // namespace dmtcp::coordinator
