// Requests answered at once: publish/query, status, and dmtcp_command's
// letters (shared with the interactive stdin commands).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/log.h"
#include "common/proc_stat.h"
#include "coordinator.h"
#include "key_file.h"

namespace dmtcp::coordinator {
namespace {

template <typename T>
std::string_view bytes_of(const T& v) {
  return {reinterpret_cast<const char*>(&v), sizeof v};
}

const char kStdinHelp[] =
    "Commands:\n"
    "  l : list the processes of the computation\n"
    "  s : print the status\n"
    "  c : checkpoint all processes\n"
    "  i : print the checkpoint interval ('i N' sets it, 0 = off)\n"
    "  k : kill all processes\n"
    "  q : kill all processes and quit\n"
    "  ? : this help";

}  // namespace

const char* state_name(ProcState s) {
  switch (s) {
    case ProcState::kRunning:
      return "RUNNING";
    case ProcState::kCheckpointing:
      return "CHECKPOINTING";
    case ProcState::kRestarting:
      return "RESTARTING";
    case ProcState::kAborting:
      return "STUCK";
  }
  return "UNKNOWN";
}

void Coordinator::on_publish(Client& c, std::string_view payload) {
  proto::KvHeader kv{};
  memcpy(&kv, payload.data(), sizeof kv);
  if (uint64_t{sizeof kv} + kv.key_len + kv.value_len != payload.size()) {
    protocol_error(c,
                   "publish: key and value lengths do not match the "
                   "message size");
    return;
  }
  int32_t result = kv_.publish(payload.substr(sizeof kv, kv.key_len),
                               payload.substr(sizeof kv + kv.key_len));
  send(c, proto::MsgType::kPublishReply, {bytes_of(result)});
}

void Coordinator::on_query(Client& c, std::string_view payload) {
  proto::KvHeader kv{};
  memcpy(&kv, payload.data(), sizeof kv);
  if (uint64_t{sizeof kv} + kv.key_len != payload.size()) {
    protocol_error(c, "query: key length does not match the message size");
    return;
  }
  proto::QueryReplyPayload r{};
  if (kv.key_len == 0 || kv.key_len > proto::kMaxKeyLen) {
    r.result = -EINVAL;
    send(c, proto::MsgType::kQueryReply, {bytes_of(r)});
    return;
  }
  const std::string* value = kv_.find(payload.substr(sizeof kv));
  if (value == nullptr) {
    send(c, proto::MsgType::kQueryReply, {bytes_of(r)});
    return;
  }
  r.result = 1;
  r.value_len = static_cast<uint32_t>(value->size());
  size_t n = value->size() < kv.value_len ? value->size() : kv.value_len;
  send(c, proto::MsgType::kQueryReply,
       {bytes_of(r), std::string_view(*value).substr(0, n)});
}

void Coordinator::on_kvdb(Client& c, std::string_view payload) {
  proto::KvdbRequestHeader rq{};
  memcpy(&rq, payload.data(), sizeof rq);
  if (uint64_t{sizeof rq} + rq.id_len + rq.key_len + rq.value_len !=
      payload.size()) {
    protocol_error(c, "kvdb: lengths do not match the message size");
    return;
  }
  proto::KvdbReplyHeader r{};
  if (rq.id_len > proto::kMaxKvdbIdLen || rq.key_len > proto::kMaxKeyLen ||
      rq.value_len > proto::kMaxValueLen) {
    r.result = -EMSGSIZE;
    send(c, proto::MsgType::kKvdbReply, {bytes_of(r)});
    return;
  }
  std::string_view rest = payload.substr(sizeof rq);
  KvdbStore::Result res =
      kvdb_.apply(rq.op, rest.substr(0, rq.id_len),
                  rest.substr(rq.id_len, rq.key_len),
                  rest.substr(rq.id_len + rq.key_len));
  r.result = res.code;
  if (res.value.size() > proto::kMaxValueLen) {
    res.value.resize(proto::kMaxValueLen);  // cannot happen: values are bound
  }
  r.value_len = static_cast<uint32_t>(res.value.size());
  send(c, proto::MsgType::kKvdbReply, {bytes_of(r), res.value});
}

void Coordinator::on_status_request(Client& c) {
  proto::StatusPayload st{};
  st.num_processes = static_cast<uint32_t>(num_processes());
  st.is_running = round_.active() ? 0 : 1;
  st.generation = generation_;
  st.interval = interval_;
  send(c, proto::MsgType::kStatusReply, {bytes_of(st)});
}

void Coordinator::on_command(Client& c, std::string_view payload) {
  proto::CommandPayload cmd{};
  memcpy(&cmd, payload.data(), sizeof cmd);
  CommandResult r = run_command(cmd.command, cmd.arg, c.id);
  if (!r.deferred) {
    reply(c.id, r);
  }
}

std::string Coordinator::coord_host() const {
  const std::string& b = opts_.bind_addr;
  if (b.empty() || b == "0.0.0.0" || b == "::") {
    return hostname_;
  }
  return b;
}

CommandResult Coordinator::run_command(char cmd, int32_t arg,
                                       uint32_t requester) {
  switch (cmd) {
    case 's':
      return {0, status_text(), false};
    case 'l':
      return {0, list_text(), false};
    case 'j':  // not a letter of upstream's: dmtcp_command --json, progress
      return {0, state_json(), false};
    case 'x':  // not a letter of upstream's: dmtcp_command --stats
      return {0, last_round_stats_.empty() ? "{}" : last_round_stats_, false};
    case 'c':
      return start_checkpoint("command", nullptr);
    case 'b':
    case 'K': {
      Waiter w{requester, cmd == 'K'};
      return start_checkpoint(cmd == 'K' ? "command, then kill" : "command",
                              &w);
    }
    case 'k': {
      size_t n = kill_all();
      return {0, "killed " + std::to_string(n) + " processes", false};
    }
    case 'q': {
      size_t n = kill_all();
      DMTCP_INFO("quit requested; exiting");
      quit_ = true;
      return {0,
              "killed " + std::to_string(n) + " processes; coordinator exiting",
              false};
    }
    case 'Q':
      // Not a dmtcp_command letter: a dmtcp_launch or dmtcp_restart that
      // started this coordinator and failed before its program could join
      // takes it down again, unless someone else's process joined meanwhile.
      if (num_processes() > 0 || round_.active()) {
        return {EBUSY,
                std::to_string(num_processes()) +
                    " processes joined; the coordinator stays",
                false};
      }
      DMTCP_INFO("the tool that started this coordinator failed; exiting");
      quit_ = true;
      return {0, "coordinator exiting", false};
    case 'i':
      if (arg < 0) {
        return {EINVAL, "bad interval " + std::to_string(arg), false};
      }
      set_interval(static_cast<uint32_t>(arg));
      write_status_file();
      DMTCP_INFO("checkpoint interval set to %u s", interval_);
      return {0,
              interval_ == 0 ? std::string("periodic checkpoints disabled")
                             : "checkpoint interval set to " +
                                   std::to_string(interval_) + " s",
              false};
    default:
      return {EINVAL, std::string("unknown command '") + cmd + "'", false};
  }
}

void Coordinator::reply(uint32_t requester, const CommandResult& r) {
  if (requester == 0) {
    // The interactive console.
    std::string line = r.text + "\n";
    if (r.status != 0) {
      line = "error: " + line;
    }
    (void)proto::write_all(STDOUT_FILENO, line.data(), line.size());
    return;
  }
  Client* c = find(requester);
  if (c == nullptr) {
    return;
  }
  proto::CommandReplyPayload p{r.status, static_cast<uint32_t>(r.text.size())};
  send(*c, proto::MsgType::kCommandReply,
       {std::string_view(reinterpret_cast<const char*>(&p), sizeof p), r.text});
}

std::string Coordinator::status_text() const {
  size_t n = num_processes();
  const char* status = "RUNNING";
  if (round_.kind == RoundKind::kCheckpoint) {
    status = "CHECKPOINTING";
  } else if (round_.kind == RoundKind::kRestart) {
    status = "RESTARTING";
  }
  std::string s;
  s += "Coordinator: " + coord_host() + ":" + std::to_string(port_) + "\n";
  s += "Number of processes: " + std::to_string(n) + "\n";
  s += "Checkpoint interval: " +
       (interval_ == 0 ? std::string("disabled (checkpoint manually)")
                       : std::to_string(interval_) + " s") +
       "\n";
  s += "Checkpoint directory: " +
       (opts_.ckpt_dir.empty() ? std::string("(each process's own)")
                               : opts_.ckpt_dir) +
       "\n";
  s += "Computation: " +
       (computation_id_.empty() ? std::string("(none)") : computation_id_) +
       "\n";
  s += "Generation: " + std::to_string(generation_) + "\n";
  s += std::string("Status: ") + status + "\n";
  // Who a round waits for, while it waits: a stuck or stopped process is
  // named here long before the round timeout names it.
  if (round_.kind == RoundKind::kCheckpoint &&
      round_.index < round_.sequence.size()) {
    const char* at =
        barrier_name(static_cast<uint32_t>(round_.sequence[round_.index]));
    for (const auto& [id, p] : round_.participants) {
      auto c = clients_.find(id);
      if (!p.waiting && c != clients_.end()) {
        s += "Waiting for: " + describe(c->second) + " to reach " + at + " (" +
             std::to_string((now_ms() - round_.progress_ms) / 1000) + " s)\n";
      }
    }
  }
  // Upstream's machine-readable lines; scripts grep for them.
  s += "NUM_PEERS=" + std::to_string(n) + "\n";
  // As upstream: running means there are processes and all of them run
  // (no checkpoint or restart in progress).
  s += std::string("RUNNING=") + (n > 0 && !round_.active() ? "yes" : "no");
  return s;
}

namespace {
std::string wall_clock_now() {
  time_t t = time(nullptr);
  char when[64] = "";
  tm local{};
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &local));
  return when;
}
}  // namespace

void Coordinator::write_status_file(bool exited) const {
  if (opts_.status_file.empty()) {
    return;
  }
  // Upstream's field names, which scripts read.
  std::string s = "Coordinator started: " + started_at_ + "\n";
  s += "Status...\n";
  s += "Host: " + coord_host() + " (" + opts_.bind_addr + ")\n";
  s += "Port: " + std::to_string(port_) + "\n";
  s += "Pid: " + std::to_string(getpid()) + "\n";
  s += "Checkpoint Interval: " +
       (interval_ == 0 ? std::string("disabled (checkpoint manually instead)")
                       : std::to_string(interval_)) +
       "\n";
  s += "Checkpoint Dir: " +
       (opts_.ckpt_dir.empty() ? std::string("(each process's own)")
                               : opts_.ckpt_dir) +
       "\n";
  if (exited) {
    s += "Coordinator exited: " + wall_clock_now() + "\n";
  }
  std::string err;
  if (!write_file_atomic(opts_.status_file, s, 0644, &err)) {
    DMTCP_WARN("--status-file: %s", err.c_str());
  }
}

namespace {

// Keys and values are bytes (a plugin's binary blobs, not text): each byte
// becomes the code point of its value, so the JSON is valid and keeps
// every byte (dump's ensure_ascii writes those past 0x7f as \u00XX).
std::string bytes_as_code_points(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

}  // namespace

void Coordinator::write_kv_snapshot() const {
  if (!opts_.write_kv_data) {
    return;
  }
  // Upstream nests databases by name; ours is one flat store, so it is
  // one object under "kvdb".
  nlohmann::ordered_json db = nlohmann::ordered_json::object();
  for (const auto& [key, value] : kv_.entries()) {
    db[bytes_as_code_points(key)] = bytes_as_code_points(value);
  }
  std::string id = computation_id_.empty() ? "none" : computation_id_;
  time_t t = time(nullptr);
  char stamp[32] = "";
  tm local{};
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime_r(&t, &local));
  std::string path = "dmtcp_coordinator_db-" + id + "-" + stamp + ".json";
  std::string json =
      nlohmann::ordered_json{{"kvdb", db}}.dump(-1, ' ', true) + "\n";
  std::string err;
  if (!write_file_atomic(path, json, 0600, &err)) {
    DMTCP_WARN("--write-kv-data: %s", err.c_str());
    return;
  }
  DMTCP_INFO("wrote the key-value database to %s", path.c_str());
}

std::string Coordinator::list_text() const {
  std::string s;
  for (const auto& [id, c] : clients_) {
    if (!c.is_process()) {
      continue;
    }
    if (!s.empty()) {
      s += "\n";
    }
    s += std::to_string(id) + ", " + c.progname + "[" + std::to_string(c.pid) +
         "]@" + c.hostname + ", " + c.unique_pid + ", " + state_name(c.state);
  }
  return s;  // "" with no processes: dmtcp_command and stdin say so
}

bool Coordinator::is_local(const Client& c) const {
  struct stat st{};
  std::string proc = "/proc/" + std::to_string(c.pid);
  return c.hostname == hostname_ && c.pid > 0 && c.start_time != 0 &&
         proc_stat_field(c.pid, kStatStartTime) == c.start_time &&
         ::stat(proc.c_str(), &st) == 0 && st.st_uid == ::getuid();
}

std::string Coordinator::describe(const Client& c) const {
  std::string s = c.progname + "[" + std::to_string(c.pid) + "]@" + c.hostname;
  if (!is_local(c)) {
    return s;
  }
  switch (proc_stat_state(c.pid)) {
    case 'T':
      return s + " (stopped: /proc state T; kill -CONT " +
             std::to_string(c.pid) + " continues it)";
    case 't':
      return s + " (stopped by a tracer: /proc state t)";
    default:
      return s;
  }
}

// A computation must die at once, as a crash would take it: a process that
// outlives another by a moment acts on that death (gcc sees its assembler
// killed and deletes the temporary files the checkpoint's assembler will
// read after a restart).  So on this host (processes named beyond doubt by
// pid, start time and owner) every process whose parent is in the
// computation too is stopped first; then the others -- the roots, whose
// parents (a shell, script(1), dmtcp_restart's caller) are outside and
// must not see a stopped child, only a dead one -- are killed, then the
// stopped ones.  Processes of other hosts kill themselves on kKill.
void Coordinator::stop_then_kill_local() {
  std::vector<pid_t> local;
  for (auto& [id, c] : clients_) {
    if (c.is_process() && !c.closing && is_local(c)) {
      local.push_back(c.pid);
    }
  }
  std::set<pid_t> ours(local.begin(), local.end());
  std::vector<pid_t> roots;
  std::vector<pid_t> inner;
  for (pid_t p : local) {
    auto parent = static_cast<pid_t>(proc_stat_field(p, kStatParent));
    (ours.count(parent) != 0 ? inner : roots).push_back(p);
  }
  for (pid_t p : inner) {
    ::kill(p, SIGSTOP);
  }
  for (pid_t p : roots) {
    ::kill(p, SIGKILL);
  }
  for (pid_t p : inner) {
    ::kill(p, SIGKILL);
  }
}

size_t Coordinator::kill_all() {
  size_t n = 0;
  killed_.clear();
  stop_then_kill_local();
  for (auto& [id, c] : clients_) {
    if (c.is_process() && !c.closing) {
      send(c, proto::MsgType::kKill, {});
      killed_.insert(c.unique_pid);
      ++n;
    }
  }
  killed_until_ms_ = now_ms() + kKilledChildWindowMs;
  if (n > 0) {
    DMTCP_INFO("killing %zu processes", n);
  }
  return n;
}

void Coordinator::on_stdin() {
  char buf[4096];
  ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
    return;
  }
  if (n <= 0) {
    read_stdin_ = false;  // EOF: keep serving the network
    return;
  }
  stdin_buf_.append(buf, static_cast<size_t>(n));
  size_t nl;
  while ((nl = stdin_buf_.find('\n')) != std::string::npos) {
    std::string line = stdin_buf_.substr(0, nl);
    stdin_buf_.erase(0, nl + 1);
    size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos) {
      continue;
    }
    char cmd = line[start];
    std::string rest = line.substr(start + 1);
    CommandResult r;
    switch (cmd) {
      case 'l':
      case 's':
      case 'c':
      case 'k':
      case 'q':
        r = run_command(cmd, 0, 0);
        break;
      case 'i': {
        char* end = nullptr;
        long v = strtol(rest.c_str(), &end, 10);
        bool has_arg = rest.find_first_not_of(" \t\r") != std::string::npos;
        if (!has_arg) {
          r = {0,
               interval_ == 0
                   ? std::string("Checkpoint interval: disabled")
                   : "Checkpoint interval: " + std::to_string(interval_) + " s",
               false};
        } else if (*end != '\0' && strspn(end, " \t\r") != strlen(end)) {
          r = {EINVAL, "usage: i [SECONDS]", false};
        } else {
          r = run_command('i', v > INT32_MAX ? -1 : static_cast<int32_t>(v), 0);
        }
        break;
      }
      case '?':
      case 'h':
        r = {0, kStdinHelp, false};
        break;
      default:
        r = {EINVAL, std::string("unknown command '") + cmd + "' (? for help)",
             false};
    }
    if (cmd == 'l' && r.status == 0 && r.text.empty()) {
      r.text = "no processes";
    }
    if (!r.deferred) {
      reply(0, r);
    }
  }
  if (stdin_buf_.size() > 4096) {
    stdin_buf_.clear();  // no newline in sight: not a command
  }
}

}  // namespace dmtcp::coordinator
