// Checkpoint and restart rounds.
//
// Algorithm (SPEC section 4 table):
//  1. A round starts on a command, the interval timer or a process's
//     request.  Every RUNNING process becomes a participant and gets
//     kDoCheckpoint.  A process that joins before THREADS_SUSPENDED is
//     released becomes one too (a fork child: its parent holds off its own
//     suspension until the child has joined, so the child is never missing
//     from a round that has its parent; an exec'd program: its old self
//     said kExecPending, and THREADS_SUSPENDED waits for the new hello);
//     later ones sit the round out.  A participant that leaves before
//     THREADS_SUSPENDED is released (it exited, or exec'd) simply leaves
//     the round: it was never frozen, so its parent's image records it as
//     a dead child.  Each release carries the participant count, which
//     goes into the image headers.
//  2. Participants walk the barrier sequence in order.  Barrier X is
//     released to all participants only when each one has sent X; sending
//     anything else is a protocol error that drops that process.
//  3. When every participant has sent kCkptWritten every image of the
//     generation is on disk under its own name (ckpt_..._gen<N>.dmtcp):
//     unless the round failed, the restart script is written -- the
//     commit -- and only then are the images of older generations removed
//     (--keep-generations).  Then the barrier is released ('K' then kills
//     everyone).
//  4. After kRefilled the round ends and blocking commands are answered.
//     A participant that leaves after THREADS_SUSPENDED was released (it
//     was killed) is removed (the others are not stuck) and the round
//     marked failed; so is one that makes no progress for --round-timeout
//     (kAbortRound: it finishes alone).  A failed round removes what it
//     wrote, the previous checkpoint stays as it was.
//  Restart: processes restored from images say hello as kRestarting with
//  the image's generation and peer count; their barriers (kRestarted ...
//  kRefilled) are released only once all of them are present.  Missing
//  peers past the deadline, or one leaving early, kill the rest: a partial
//  restart would hang on sockets to peers that never came.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "common/log.h"
#include "common/proc_stat.h"
#include "coordinator.h"
#include "image/image_reader.h"
#include "image_files.h"
#include "restart_script.h"

namespace dmtcp::coordinator {
namespace {

using proto::Barrier;

constexpr Barrier kCheckpointSequence[] = {Barrier::kThreadsSuspended,
                                           Barrier::kSuspended,
                                           Barrier::kLeaderElection,
                                           Barrier::kDrain,
                                           Barrier::kCkptWritten,
                                           Barrier::kResumed,
                                           Barrier::kRegisterNameService,
                                           Barrier::kSendQueries,
                                           Barrier::kRefilled};
// Forked checkpoints (docs/coordinator.md): the program runs again after
// REFILLED while copies write the images; CKPT_WRITTEN, the commit, comes
// last.
constexpr Barrier kForkedCheckpointSequence[] = {
    Barrier::kThreadsSuspended, Barrier::kSuspended,
    Barrier::kLeaderElection,   Barrier::kDrain,
    Barrier::kResumed,          Barrier::kRegisterNameService,
    Barrier::kSendQueries,      Barrier::kRefilled,
    Barrier::kCkptWritten};
constexpr Barrier kRestartSequence[] = {
    Barrier::kRestarted, Barrier::kRegisterNameService, Barrier::kSendQueries,
    Barrier::kRefilled};

// A reason a process sent: printable ASCII only, at most 200 bytes.
std::string printable_reason(std::string_view text) {
  std::string out;
  for (char ch : text.substr(0, 200)) {
    out += ch >= 0x20 && ch < 0x7f ? ch : '?';
  }
  return out;
}

}  // namespace

const char* barrier_name(uint32_t b) {
  switch (static_cast<Barrier>(b)) {
    case Barrier::kThreadsSuspended:
      return "THREADS_SUSPENDED";
    case Barrier::kSuspended:
      return "SUSPENDED";
    case Barrier::kLeaderElection:
      return "LEADER_ELECTION";
    case Barrier::kDrain:
      return "DRAIN";
    case Barrier::kCkptWritten:
      return "CKPT_WRITTEN";
    case Barrier::kResumed:
      return "RESUMED";
    case Barrier::kRestarted:
      return "RESTARTED";
    case Barrier::kRegisterNameService:
      return "REGISTER_NAME_SERVICE";
    case Barrier::kSendQueries:
      return "SEND_QUERIES";
    case Barrier::kRefilled:
      return "REFILLED";
  }
  return "UNKNOWN";
}

void Coordinator::schedule_interval() {
  next_interval_ms_ = interval_ > 0 ? now_ms() + int64_t{interval_} * 1000 : 0;
}

void Coordinator::set_interval(uint32_t seconds, uint32_t from_id) {
  interval_ = seconds;
  std::string_view bytes(reinterpret_cast<const char*>(&seconds),
                         sizeof seconds);
  for (auto& [id, c] : clients_) {
    if (c.is_process() && id != from_id) {
      send(c, proto::MsgType::kSetInterval, {bytes});
    }
  }
  if (!round_.active()) {
    schedule_interval();
  }
}

CommandResult Coordinator::start_checkpoint(const char* why,
                                            const Waiter* waiter) {
  if (round_.active() && waiter != nullptr) {
    // A blocking command waits for the round in progress, then has its
    // own (a script's back-to-back -bc, or one right after a restart).
    queued_waiters_.push_back(*waiter);
    DMTCP_INFO("blocking checkpoint queued behind the %s in progress",
               round_.kind == RoundKind::kRestart ? "restart" : "checkpoint");
    return {0, "", true};
  }
  if (round_.kind == RoundKind::kCheckpoint) {
    return {EBUSY, "checkpoint already in progress (generation " +
                       std::to_string(round_.generation) + ")"};
  }
  if (round_.kind == RoundKind::kRestart) {
    return {EBUSY, "a restart is in progress"};
  }
  std::vector<Client*> procs;
  for (auto& [id, c] : clients_) {
    if (!c.is_process() || c.closing) {
      continue;
    }
    if (c.state == ProcState::kAborting) {
      return {EBUSY, "process " + c.progname + "[" + std::to_string(c.pid) +
                         "] has not come back from an aborted checkpoint "
                         "(stopped?); no checkpoint until it does"};
    }
    if (c.state == ProcState::kRunning) {
      procs.push_back(&c);
    }
  }
  // A stopped process cannot take part (the checkpoint signal waits for
  // SIGCONT): say so now instead of after the round timeout.
  for (Client* c : procs) {
    if (is_local(*c) && proc_stat_state(c->pid) == 'T') {
      return {EAGAIN, "process " + describe(*c) +
                          " is stopped; no checkpoint until it is continued"};
    }
  }
  if (procs.empty()) {
    return {ESRCH, "no processes to checkpoint"};
  }
  if (procs.size() < takeover_expect_ && now_ms() < takeover_until_ms_) {
    return {EBUSY, std::to_string(procs.size()) + " of the " +
                       std::to_string(takeover_expect_) +
                       " processes are back since this coordinator took the "
                       "computation over; no checkpoint until the others "
                       "are (at most " +
                       std::to_string(kTakeoverWaitMs / 1000) + " s)"};
  }
  takeover_expect_ = 0;
  ++generation_;
  round_ = Round{};
  round_.kind = RoundKind::kCheckpoint;
  round_.generation = generation_;
  round_.sequence = kCheckpointSequence;
  for (Client* c : procs) {
    round_.forked = round_.forked || c->forked;
  }
  if (round_.forked) {
    round_.sequence = kForkedCheckpointSequence;
  }
  round_.progress_ms = now_ms();
  round_.start_ms = round_.progress_ms;
  kv_.clear();
  next_interval_ms_ = 0;
  for (Client* c : procs) {
    round_.participants[c->id];
    c->state = ProcState::kCheckpointing;
  }
  for (Client* c : procs) {
    send_do_checkpoint(*c);
  }
  DMTCP_INFO("checkpoint generation %u started (%s): %zu processes%s",
             generation_, why, procs.size(), round_.forked ? ", forked" : "");
  CommandResult r{0,
                  "checkpoint of generation " + std::to_string(generation_) +
                      " started: " + std::to_string(procs.size()) +
                      " processes",
                  false};
  if (waiter != nullptr) {
    round_.waiters.push_back(*waiter);
    r.deferred = true;
  }
  return r;
}

std::string Coordinator::join_restart(Client& c, const proto::HelloPayload& h) {
  std::string comp = std::string(
      h.computation_id, strnlen(h.computation_id, sizeof h.computation_id));
  if (comp.empty()) {
    return "restarting process sent no computation id";
  }
  if (!valid_computation_id(comp)) {
    return "malformed computation id";
  }
  if (round_.kind == RoundKind::kCheckpoint) {
    return "a checkpoint is in progress; cannot restart now";
  }
  if (num_running_processes() > 0 && comp != computation_id_) {
    return "this coordinator runs another computation (" + computation_id_ +
           "); restart with a new coordinator";
  }
  if (h.expected_peers == 0 || h.expected_peers > max_clients_) {
    return "bad peer count " + std::to_string(h.expected_peers);
  }
  if (round_.kind == RoundKind::kRestart) {
    if (comp != round_.computation_id || h.generation != round_.generation ||
        h.expected_peers != round_.expected) {
      return "image does not belong to the restart in progress (computation " +
             round_.computation_id + ", generation " +
             std::to_string(round_.generation) + ")";
    }
    if (round_.participants.size() >= round_.expected) {
      return "the restart already has all " + std::to_string(round_.expected) +
             " processes";
    }
  } else {
    round_ = Round{};
    round_.kind = RoundKind::kRestart;
    round_.generation = h.generation;
    round_.sequence = kRestartSequence;
    round_.expected = h.expected_peers;
    round_.computation_id = comp;
    round_.deadline_ms = now_ms() + int64_t{opts_.restart_timeout_s} * 1000;
    round_.start_ms = now_ms();
    kv_.clear();
    next_interval_ms_ = 0;
    if (num_running_processes() == 0) {
      computation_id_ = comp;
      generation_ = h.generation;
    } else if (h.generation > generation_) {
      generation_ = h.generation;
    }
    DMTCP_INFO(
        "restart of computation %s generation %u: waiting for %u "
        "processes",
        comp.c_str(), h.generation, h.expected_peers);
  }
  c.authed = true;
  c.role = proto::Role::kRestarting;
  c.state = ProcState::kRestarting;
  ever_joined_ = true;
  exit_deadline_ms_ = 0;
  round_.participants[c.id];
  send_welcome(c, round_.generation);
  DMTCP_INFO("restarting process %u joined (%zu of %u): %s[%d]@%s", c.id,
             round_.participants.size(), round_.expected, c.progname.c_str(),
             c.pid, c.hostname.c_str());
  return {};
}

void Coordinator::on_barrier(Client& c, std::string_view payload) {
  proto::BarrierPayload b{};
  memcpy(&b, payload.data(), sizeof b);
  if (payload.size() != sizeof b + b.path_len) {
    protocol_error(c, "barrier: path length does not match the message");
    return;
  }
  if (c.state == ProcState::kAborting) {
    // Sent before it read our kAbortRound: that round is over for it.
    DMTCP_DEBUG("ignoring barrier %s of aborted process %u",
                barrier_name(b.barrier), c.id);
    return;
  }
  c.exec_pending = false;  // it is still here: that exec failed
  auto it = round_.participants.find(c.id);
  if (!round_.active() || it == round_.participants.end()) {
    protocol_error(c, std::string("barrier ") + barrier_name(b.barrier) +
                          " but the process is not in a round");
    return;
  }
  Barrier expected = round_.sequence[round_.index];
  if (it->second.waiting) {
    protocol_error(
        c, std::string("barrier ") + barrier_name(b.barrier) + " sent before " +
               barrier_name(static_cast<uint32_t>(expected)) + " was released");
    return;
  }
  if (b.barrier != static_cast<uint32_t>(expected)) {
    protocol_error(c, std::string("expected barrier ") +
                          barrier_name(static_cast<uint32_t>(expected)) +
                          ", got " + barrier_name(b.barrier) + " (" +
                          std::to_string(b.barrier) + ")");
    return;
  }
  std::string_view path = payload.substr(sizeof b);
  if (expected == Barrier::kCkptWritten &&
      (path.empty() || path.front() == '\0')) {
    // The process could not write its image (disk full, a forked writer
    // that died, ...): it carries on, but this generation cannot be
    // restarted, so the previous checkpoint stays.  A NUL byte followed by
    // text says why (a forked writer's end); empty: see its stderr.
    std::string why = printable_reason(path.empty() ? path : path.substr(1));
    fail_round("process " + c.progname + "[" + std::to_string(c.pid) +
               "] could not write its image (" +
               (why.empty() ? "see its stderr: disk full? directory not "
                              "writable?"
                            : why) +
               ")");
  } else if (expected == Barrier::kCkptWritten) {
    if (path.find('\0') != std::string_view::npos) {
      protocol_error(c, "CKPT_WRITTEN without a valid image path");
      return;
    }
    it->second.image.assign(path);
    c.last_image = it->second.image;
    round_.written.push_back({c.hostname, it->second.image, c.unique_pid});
    if (round_.first_image_dir.empty()) {
      round_.first_image_dir = dir_of(it->second.image);
    }
  } else if (!path.empty()) {
    protocol_error(c, std::string("barrier ") + barrier_name(b.barrier) +
                          " carries an unexpected path");
    return;
  }
  it->second.waiting = true;
  round_.progress_ms = now_ms();
  it->second.reached_ms.resize(round_.index + 1, -1);
  it->second.reached_ms[round_.index] = round_.progress_ms;
  maybe_release();
}

// A plugin's own barrier (dmtcp_global_barrier) inside the current step:
// it waits for every participant, like the step's barriers, but the step
// goes on after it.  The names are the plugins' business: processes that
// call different ones wait until the round timeout aborts them.
void Coordinator::on_named_barrier(Client& c, std::string_view name) {
  if (c.state == ProcState::kAborting) {
    DMTCP_DEBUG("ignoring named barrier of aborted process %u", c.id);
    return;
  }
  auto it = round_.participants.find(c.id);
  if (!round_.active() || it == round_.participants.end()) {
    protocol_error(c, "named barrier but the process is not in a round");
    return;
  }
  if (it->second.waiting) {
    protocol_error(c, "named barrier sent while waiting at barrier " +
                          std::string(barrier_name(static_cast<uint32_t>(
                              round_.sequence[round_.index]))));
    return;
  }
  if (name.find('\0') != std::string_view::npos) {
    protocol_error(c, "named barrier with a NUL in its name");
    return;
  }
  auto& who = round_.named[std::string(name)];
  if (!who.insert(c.id).second) {
    protocol_error(c, "named barrier reached twice: " + std::string(name));
    return;
  }
  round_.progress_ms = now_ms();
  maybe_release_named();
}

void Coordinator::maybe_release_named() {
  if (!round_.active() || round_.participants.empty() ||
      (round_.kind == RoundKind::kRestart &&
       round_.participants.size() < round_.expected)) {
    return;
  }
  for (auto n = round_.named.begin(); n != round_.named.end();) {
    bool all = true;
    for (const auto& [id, p] : round_.participants) {
      if (n->second.count(id) == 0) {
        all = false;
        break;
      }
    }
    if (!all) {
      ++n;
      continue;
    }
    for (const auto& [id, p] : round_.participants) {
      if (Client* c = find(id)) {
        send(*c, proto::MsgType::kNamedBarrierRelease, {n->first});
      }
    }
    DMTCP_DEBUG("generation %u: released named barrier %s", round_.generation,
                n->first.c_str());
    round_.progress_ms = now_ms();
    n = round_.named.erase(n);
  }
}

void Coordinator::maybe_release() {
  if (!round_.active()) {
    return;
  }
  maybe_release_named();  // a participant that left may have held one
  if (round_.participants.empty()) {
    end_round();
    return;
  }
  if (round_.kind == RoundKind::kRestart &&
      round_.participants.size() < round_.expected) {
    return;
  }
  for (const auto& [id, p] : round_.participants) {
    if (!p.waiting) {
      return;
    }
  }
  Barrier b = round_.sequence[round_.index];
  if (b == Barrier::kThreadsSuspended && !execs_pending_.empty()) {
    return;  // an exec'ing participant's new program has not joined yet
  }
  if (b == Barrier::kThreadsSuspended && round_.kind == RoundKind::kCheckpoint &&
      !leavers_.empty()) {
    return;  // a child that left is not a zombie yet: its parent would miss it
  }
  // The restart script is on disk before any process hears that the images
  // are: one that dies right after the release still leaves a complete
  // restart behind (and a test reading the script after its release finds
  // it).
  std::string script;
  if (b == Barrier::kCkptWritten) {
    script = write_script();
  }
  proto::BarrierPayload rel{};
  rel.barrier = static_cast<uint32_t>(b);
  if (round_.kind == RoundKind::kCheckpoint) {
    rel.num_peers = static_cast<uint32_t>(round_.participants.size());
  }
  std::string_view bytes(reinterpret_cast<const char*>(&rel), sizeof rel);
  for (auto& [id, p] : round_.participants) {
    p.waiting = false;
    if (Client* c = find(id)) {
      send(*c, proto::MsgType::kBarrierRelease, {bytes});
    }
  }
  ++round_.index;
  round_.progress_ms = now_ms();
  round_.released_ms.push_back(round_.progress_ms);
  DMTCP_DEBUG("generation %u: released barrier %s", round_.generation,
              barrier_name(static_cast<uint32_t>(b)));
  if (b == Barrier::kCkptWritten && !script.empty()) {
    report_images(script);
  }
  if (round_.active() && round_.index == round_.sequence.size()) {
    end_round();
  }
}

void Coordinator::send_do_checkpoint(Client& c) {
  proto::DoCheckpointPayload p{};
  p.generation = round_.generation;
  p.num_peers = static_cast<uint32_t>(round_.participants.size());
  proto::copy_field(p.ckpt_dir, sizeof p.ckpt_dir, opts_.ckpt_dir);
  p.flags = round_.forked ? proto::kCheckpointForked : 0;
  // Incremental images build only on a committed generation's images.
  p.last_committed = committed_.empty() ? 0 : committed_.back();
  send(c, proto::MsgType::kDoCheckpoint,
       {std::string_view(reinterpret_cast<const char*>(&p), sizeof p)});
}

void Coordinator::join_round_if_suspending(Client& c) {
  if (round_.kind != RoundKind::kCheckpoint || round_.index != 0 ||
      round_.failed) {
    return;
  }
  round_.participants[c.id];
  c.state = ProcState::kCheckpointing;
  round_.progress_ms = now_ms();
  send_do_checkpoint(c);
  DMTCP_INFO("process %u joined generation %u while it suspended", c.id,
             round_.generation);
}

std::string Coordinator::write_script() {
  round_.images_done = true;
  if (round_.failed) {
    return "";  // waiters were answered when it failed
  }
  ScriptInfo info;
  info.dir = opts_.ckpt_dir.empty() ? round_.first_image_dir : opts_.ckpt_dir;
  info.restart_tool = opts_.restart_tool;
  info.local_host = hostname_;
  info.coord_host = coord_host();
  info.coord_port = port_;
  info.computation_id = computation_id_;
  info.generation = round_.generation;
  for (const auto& [id, p] : round_.participants) {
    Client* c = find(id);
    info.images.push_back({c != nullptr ? c->hostname : hostname_, p.image});
  }
  std::string err;
  std::string path = write_restart_script(info, &err);
  if (path.empty()) {
    had_errors_ = true;
    DMTCP_ERROR(
        "checkpoint generation %u: images written but no restart "
        "script: %s",
        round_.generation, err.c_str());
    fail_round("images written but the restart script failed: " + err);
    return path;
  }
  // The commit: the restart script names generation N; only now do the
  // images of older ones go.
  round_.committed = true;
  round_.script = path;
  prune_old_generations();
  return path;
}

void Coordinator::report_images(const std::string& script) {
  size_t images = round_.participants.size();
  DMTCP_INFO("checkpoint generation %u: %zu images written; restart script %s",
             round_.generation, images, script.c_str());
  bool kill = opts_.kill_after_ckpt;
  for (const Waiter& w : round_.waiters) {
    kill = kill || w.kill_after;
  }
  if (kill) {
    // Blocking commands are answered when the round ends: here, once the
    // killed processes are gone.
    kill_all();
  }
}

void Coordinator::answer_waiters(int status, const std::string& text) {
  std::vector<Waiter> waiters;
  waiters.swap(round_.waiters);
  for (const Waiter& w : waiters) {
    reply(w.client_id, CommandResult{status, text, false});
  }
}

void Coordinator::drop_participant(Client& c) {
  auto it = round_.participants.find(c.id);
  if (!round_.active() || it == round_.participants.end()) {
    return;
  }
  if (round_.kind == RoundKind::kCheckpoint && round_.index == 0) {
    // Never frozen: it exited (or exec'd) before it was suspended.  Its
    // parent sees a dead child, as it would without us; the round goes on.
    round_.participants.erase(it);
    DMTCP_INFO("process %u (%s[%d]) left before it was suspended; "
               "generation %u goes on without it",
               c.id, c.progname.c_str(), c.pid, round_.generation);
    maybe_release();
    return;
  }
  if (round_.kind == RoundKind::kCheckpoint && it->second.image.empty()) {
    char name[256];
    proto::format_image_name(name, sizeof name, c.progname.c_str(),
                             c.unique_pid.c_str(), round_.generation);
    round_.lost.push_back({c.hostname, name, c.last_image});
  }
  round_.participants.erase(it);
  if (round_.kind == RoundKind::kRestart) {
    fail_restart("process " + std::to_string(c.id) + " (" + c.progname +
                 ") left before the restart finished");
    return;
  }
  if (!round_.images_done && round_.forked &&
      round_.sequence[round_.index] == Barrier::kCkptWritten) {
    // Past DRAIN a forked round's programs run again.
    fail_round("process " + c.progname + "[" + std::to_string(c.pid) +
               "] died before its image was written (killed?)");
  } else if (!round_.images_done) {
    fail_round("process " + c.progname + "[" + std::to_string(c.pid) +
               "] died while it was frozen for the checkpoint (killed?)");
  }
  maybe_release();
}

void Coordinator::fail_round(const std::string& why) {
  if (round_.failed || round_.committed) {
    return;
  }
  round_.failed = true;
  round_.failure = "checkpoint of generation " +
                   std::to_string(round_.generation) + " failed: " + why +
                   "; the previous checkpoint is intact";
  DMTCP_WARN("%s", round_.failure.c_str());
}

void Coordinator::abort_stuck_participants() {
  std::string names;
  Barrier at = round_.sequence[round_.index];
  for (auto it = round_.participants.begin();
       it != round_.participants.end();) {
    Client* c = find(it->first);
    if (it->second.waiting || c == nullptr) {
      ++it;
      continue;
    }
    send(*c, proto::MsgType::kAbortRound, {});
    c->state = ProcState::kAborting;
    if (!names.empty()) {
      names += ", ";
    }
    names += describe(*c);
    if (it->second.image.empty() && !round_.images_done) {
      char name[256];
      proto::format_image_name(name, sizeof name, c->progname.c_str(),
                               c->unique_pid.c_str(), round_.generation);
      round_.lost.push_back({c->hostname, name, c->last_image});
    }
    it = round_.participants.erase(it);
  }
  round_.progress_ms = now_ms();
  if (names.empty()) {
    return;
  }
  DMTCP_WARN("generation %u: %s did not reach %s within %d s; the round goes "
             "on without them (they finish it alone)",
             round_.generation, names.c_str(),
             barrier_name(static_cast<uint32_t>(at)), opts_.round_timeout_s);
  fail_round(names + " did not reach " +
             barrier_name(static_cast<uint32_t>(at)) + " within " +
             std::to_string(opts_.round_timeout_s) +
             " s (stopped or stuck?)");
  maybe_release();
}

void Coordinator::on_round_left(Client& c) {
  if (c.state != ProcState::kAborting) {
    return;
  }
  c.state = ProcState::kRunning;
  if (!round_.active() && next_interval_ms_ == 0) {
    schedule_interval();
  }
  DMTCP_INFO("process %u (%s[%d]) is back from its aborted checkpoint", c.id,
             c.progname.c_str(), c.pid);
}

void Coordinator::expire_execs(int64_t now) {
  bool expired = false;
  for (auto it = execs_pending_.begin(); it != execs_pending_.end();) {
    if (now < it->second) {
      ++it;
      continue;
    }
    DMTCP_INFO("process %s exec'd a program that did not join within %lld "
               "ms (not dynamically linked, or setuid?); rounds go on "
               "without it",
               it->first.c_str(), static_cast<long long>(kExecRejoinMs));
    it = execs_pending_.erase(it);
    expired = true;
  }
  if (expired) {
    maybe_release();
    end_computation_if_empty();
  }
}

void Coordinator::fail_restart(const std::string& why) {
  had_errors_ = true;
  DMTCP_ERROR(
      "restart of generation %u failed: %s; killing the %zu "
      "processes that came",
      round_.generation, why.c_str(), round_.participants.size());
  for (const auto& [id, p] : round_.participants) {
    if (Client* c = find(id)) {
      send(*c, proto::MsgType::kKill, {});
    }
  }
  round_ = Round{};
  schedule_interval();
  start_queued_checkpoint();
}

// A process killed while writing its image leaves "<image>.tmp.<random>"
// behind, and nobody else will ever finish or remove it.  Its image name is
// known (ckpt_<prog>_<unique pid>_gen<N>.dmtcp); its directory is
// --ckptdir, the one of its image from an earlier round, or one where the
// other processes of this round wrote theirs.  Only files of this host.
void Coordinator::remove_stale_images() {
  std::set<std::string> dirs;
  if (!opts_.ckpt_dir.empty()) {
    dirs.insert(opts_.ckpt_dir);
  }
  for (const auto& [id, p] : round_.participants) {
    if (!p.image.empty()) {
      dirs.insert(dir_of(p.image));
    }
  }
  for (const Round::Lost& l : round_.lost) {
    if (l.host != hostname_) {
      continue;
    }
    std::set<std::string> images;
    if (!l.last_image.empty()) {
      images.insert(dir_of(l.last_image) + "/" + l.name);
    }
    for (const std::string& d : dirs) {
      images.insert(d + "/" + l.name);
    }
    for (const std::string& image : images) {
      // Killed after its image got its name but before it said so (a
      // forked writer's parent renames it while the program runs): the
      // image of a generation that failed is nobody's checkpoint.
      if (round_.failed && is_our_image_file(image) &&
          ::unlink(image.c_str()) == 0) {
        DMTCP_INFO("removed %s of the failed generation %u, left by a "
                   "process that died before reporting it",
                   image.c_str(), round_.generation);
      }
      for (const std::string& p : image_temporaries(image)) {
        if (::unlink(p.c_str()) == 0) {
          DMTCP_INFO("removed %s, left by a process that died writing it",
                     p.c_str());
        }
      }
    }
  }
}

void Coordinator::remove_failed_images() {
  for (const Round::Written& w : round_.written) {
    if (w.host == hostname_ && is_our_image_file(w.path) &&
        ::unlink(w.path.c_str()) == 0) {
      DMTCP_DEBUG("removed %s of the failed generation %u", w.path.c_str(),
                  round_.generation);
    }
  }
}

void Coordinator::prune_old_generations() {
  committed_.push_back(round_.generation);
  if (opts_.keep_generations == 0) {
    return;
  }
  // The oldest generation kept: the K-th last committed one (a failed
  // generation in between does not count); before this coordinator
  // committed K, the K-th last generation number.
  uint32_t oldest_kept = 0;
  if (committed_.size() >= opts_.keep_generations) {
    oldest_kept = committed_[committed_.size() - opts_.keep_generations];
  } else if (round_.generation > opts_.keep_generations) {
    oldest_kept = round_.generation - opts_.keep_generations + 1;
  }
  if (oldest_kept == 0) {
    return;
  }
  std::set<std::string> in_this;  // processes of the committed checkpoint
  for (const Round::Written& w : round_.written) {
    in_this.insert(w.unique_pid);
  }
  std::set<std::string> dirs;
  if (!opts_.ckpt_dir.empty()) {
    dirs.insert(opts_.ckpt_dir);
  }
  for (const Round::Written& w : round_.written) {
    if (w.host == hostname_) {
      dirs.insert(dir_of(w.path));
    }
  }
  // Two passes: first what each kept image needs.  An incremental image
  // (docs/incremental.md) needs its predecessors back to the full image of
  // its chain (chain_base_generation), so no image of that process from
  // that generation on is removed while it is kept.
  struct Found {
    std::string path;
    std::string upid;
    uint32_t generation;
  };
  std::vector<Found> candidates;
  std::map<std::string, uint32_t> needed_from;  // upid -> oldest needed
  for (const std::string& d : dirs) {
    DIR* dir = ::opendir(d.c_str());
    if (dir == nullptr) {
      continue;
    }
    while (dirent* e = ::readdir(dir)) {
      std::string path = d + "/" + e->d_name;
      if (!is_our_image_file(path)) {
        continue;
      }
      // The header says whose and which; a damaged one is left alone.
      image::ImageReader r;
      std::string err;
      if (!r.open(path, &err)) {
        continue;
      }
      const image::FileHeader& h = r.header();
      std::string comp(h.computation_id,
                       strnlen(h.computation_id, sizeof h.computation_id));
      std::string upid(h.unique_pid,
                       strnlen(h.unique_pid, sizeof h.unique_pid));
      if (comp != computation_id_) {
        continue;
      }
      bool gone_or_newer = in_this.count(upid) != 0 || ended_.count(upid) != 0;
      if (h.generation < oldest_kept && gone_or_newer) {
        candidates.push_back({path, upid, h.generation});
      } else if ((h.flags & image::kHeaderIncremental) != 0) {
        auto [it, fresh] =
            needed_from.try_emplace(upid, h.chain_base_generation);
        if (!fresh) {
          it->second = std::min(it->second, h.chain_base_generation);
        }
      }
    }
    ::closedir(dir);
  }
  size_t removed = 0;
  for (const Found& f : candidates) {
    auto it = needed_from.find(f.upid);
    if (it != needed_from.end() && f.generation >= it->second) {
      continue;  // a link of a kept image's chain
    }
    if (::unlink(f.path.c_str()) == 0) {
      ++removed;
    }
  }
  if (removed > 0) {
    DMTCP_INFO("generation %u committed; removed %zu images of generations "
               "before %u",
               round_.generation, removed, oldest_kept);
  }
}

void Coordinator::end_round() {
  if (round_.kind == RoundKind::kCheckpoint && round_.failed) {
    remove_failed_images();
  }
  if (round_.kind == RoundKind::kCheckpoint && !round_.lost.empty()) {
    remove_stale_images();
  }
  for (const auto& [id, p] : round_.participants) {
    if (Client* c = find(id)) {
      c->state = ProcState::kRunning;
    }
  }
  if (round_.committed) {
    answer_waiters(0, "checkpoint of generation " +
                          std::to_string(round_.generation) + " done: " +
                          std::to_string(round_.written.size()) +
                          " images; restart script " + round_.script);
  } else if (!round_.waiters.empty()) {
    answer_waiters(EIO, round_.failed
                            ? round_.failure
                            : "checkpoint ended before the images were "
                              "written (every process left)");
  }
  keep_round_stats();
  if (round_.kind == RoundKind::kRestart) {
    DMTCP_INFO("restart of generation %u complete: %zu processes running",
               round_.generation, round_.participants.size());
    // The images restarted from are committed (they are a whole
    // generation's): the next incremental images may build on them
    // (docs/incremental.md, "Across a restart").
    if (!round_.failed &&
        (committed_.empty() || committed_.back() != round_.generation)) {
      committed_.push_back(round_.generation);
    }
  } else if (round_.failed) {
    DMTCP_WARN("checkpoint generation %u ended after a failure",
               round_.generation);
  } else {
    DMTCP_INFO("checkpoint generation %u complete", round_.generation);
  }
  round_ = Round{};
  schedule_interval();
  start_queued_checkpoint();
}

void Coordinator::start_queued_checkpoint() {
  std::vector<Waiter> queued;
  queued.swap(queued_waiters_);
  if (queued.empty()) {
    return;
  }
  CommandResult r = start_checkpoint("queued command", nullptr);
  if (r.status != 0) {
    for (const Waiter& w : queued) {
      reply(w.client_id, r);
    }
    return;
  }
  round_.waiters = std::move(queued);
}

}  // namespace dmtcp::coordinator
