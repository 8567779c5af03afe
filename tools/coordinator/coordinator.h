// dmtcp_coordinator: one single-threaded poll(2) loop that admits the
// processes of a computation, runs checkpoint and restart rounds (the
// barriers of SPEC section 4), keeps the publish/subscribe database and
// answers dmtcp_command.  Design notes: docs/coordinator.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "connection.h"
#include "kv_store.h"
#include "kvdb_store.h"
#include "leavers.h"
#include "protocol/protocol.h"

namespace dmtcp::coordinator {

struct Options {
  int port = proto::kDefaultPort;
  std::string port_file;
  std::string ckpt_dir;  // absolute, or empty: each process's own
  std::string bind_addr = "127.0.0.1";
  bool exit_on_last = false;
  bool daemon = false;
  bool quiet = false;
  uint32_t interval = 0;       // seconds between checkpoints, 0 = off
  int restart_timeout_s = 60;  // all restarting peers must join by then
  // A checkpoint round in which no participant makes progress (reaches a
  // barrier) for this long gives up on the ones that did not: they are
  // told to finish on their own and the round fails.
  int round_timeout_s = 120;
  // Complete checkpoints whose images stay on disk (this host's).
  uint32_t keep_generations = 1;
  std::string restart_tool;  // absolute path of dmtcp_restart
  // Upstream DMTCP's options (docs/compatibility.md).
  // --timeout: exit with status 1 this long after starting, processes or
  // not (0 = never).
  int64_t timeout_s = 0;
  // --stale-timeout: exit with status 1 once nobody has been connected for
  // this long (upstream's default, 8 hours; < 0 = never).
  int64_t stale_timeout_s = kDefaultStaleTimeoutS;
  static constexpr int64_t kDefaultStaleTimeoutS = 8 * 60 * 60;
  std::string status_file;       // --status-file: host, port, interval
  bool write_kv_data = false;    // --write-kv-data: database as JSON at quit
  bool kill_after_ckpt = false;  // --kill-after-ckpt: every checkpoint
  std::string log_file;          // --coord-logfile: log appended there
};

// kAborting: the round timed out on this process and sent it kAbortRound;
// it takes part in no round until it answers kRoundLeft.
enum class ProcState { kRunning, kCheckpointing, kRestarting, kAborting };

// A connected peer.  Before its hello it is a stranger (authed_ false) and
// may send nothing but a hello of the exact size.
struct Client {
  uint32_t id = 0;
  std::unique_ptr<Connection> conn;
  std::string peer;  // "addr:port", for log lines
  bool authed = false;
  proto::Role role = proto::Role::kTool;
  int64_t hello_deadline_ms = 0;
  // Processes only.
  int32_t pid = 0;  // real
  int32_t ppid = 0;
  uint64_t start_time = 0;  // HelloPayload::start_time
  std::string unique_pid;
  std::string hostname;
  std::string progname;
  ProcState state = ProcState::kRunning;
  std::string last_image;  // reported at its last CKPT_WRITTEN
  bool exec_pending = false;  // sent kExecPending: its close is an exec
  // Its hello asked for forked checkpoints (proto::kHelloForkedCheckpoint).
  bool forked = false;
  // Set when the connection is to be closed at the end of this loop pass.
  bool closing = false;

  bool is_process() const { return authed && role != proto::Role::kTool; }
};

// A computation id from the wire names files (the restart script's
// copy, dmtcp_restart_script_<id>.sh): letters, digits, '.', '_' and '-'
// only, not starting with '.'.  Ours are "<host>-<pid>-<time>-<n>".
bool valid_computation_id(std::string_view id);

// "THREADS_SUSPENDED", ...: a barrier of a round, for messages.
const char* barrier_name(uint32_t b);
// "RUNNING", "CHECKPOINTING", "RESTARTING", "STUCK": for -l and --json.
const char* state_name(ProcState s);

enum class RoundKind { kNone, kCheckpoint, kRestart };

struct Participant {
  bool waiting = false;  // sent the current barrier, awaits its release
  std::string image;     // kCkptWritten: the image path it reported
  // When it reached each barrier of the sequence (now_ms), for --stats.
  std::vector<int64_t> reached_ms;
};

// A dmtcp_command (or stdin, id 0) waiting for the images to be written.
struct Waiter {
  uint32_t client_id = 0;
  bool kill_after = false;  // 'K': kill every process once it succeeded
};

struct Round {
  RoundKind kind = RoundKind::kNone;
  uint32_t generation = 0;
  std::span<const proto::Barrier> sequence;
  size_t index = 0;  // sequence[index] is the next barrier to release
  // Checkpoint: the forked order (proto::kCheckpointForked), chosen at the
  // start when a participant asked for it.
  bool forked = false;
  std::map<uint32_t, Participant> participants;
  bool failed = false;
  std::string failure;       // the first failure, for blocking commands
  bool images_done = false;  // kCkptWritten was released
  bool committed = false;    // ... and the restart script written
  int64_t progress_ms = 0;   // last barrier reached (round timeout)
  int64_t start_ms = 0;      // the round began (--stats, progress)
  std::vector<int64_t> released_ms;  // when each barrier was released
  std::vector<Waiter> waiters;
  std::string first_image_dir;
  struct Written {
    std::string host;
    std::string path;
    std::string unique_pid;
  };
  std::vector<Written> written;  // every image reported, also by leavers
  std::string script;            // the restart script, once committed
  // Checkpoint: processes that left before reporting their image.  Their
  // "<image>.tmp.<random>" is removed when the round ends
  // (remove_stale_images).
  struct Lost {
    std::string host;
    std::string name;        // ckpt_<prog>_<unique pid>_gen<N>.dmtcp
    std::string last_image;  // from an earlier round, if any
  };
  std::vector<Lost> lost;
  // Restart only.
  uint32_t expected = 0;  // restarting processes that must all join
  std::string computation_id;
  int64_t deadline_ms = 0;
  // Plugins' own barriers inside a step (kNamedBarrier): who has reached
  // each name.  Released when every participant has.
  std::map<std::string, std::set<uint32_t>, std::less<>> named;

  bool active() const { return kind != RoundKind::kNone; }
};

struct CommandResult {
  int status = 0;  // 0 ok, else a positive errno value
  std::string text;
  bool deferred = false;  // answered later (blocking checkpoint)
};

class Coordinator {
 public:
  // listen_fd is bound and listening; port is the actual port.
  Coordinator(Options opts, int listen_fd, int port, std::string secret,
              bool read_stdin);
  // Runs until 'q', --exit-on-last or a terminating signal.  Returns the
  // process exit status.
  int run();
  // An error was logged (a failed restart, a restart script that could not
  // be written): the daemon's log is worth keeping.
  bool had_errors() const { return had_errors_; }
  // Writes --status-file (no-op without one): start time, host, port,
  // interval; `exited` appends the exit time.
  void write_status_file(bool exited = false) const;

 private:
  // Drives the private handlers below in-process, with no listening socket
  // (fuzz/coordinator_msg_fuzz.cpp); defined only in that target.
  friend class CoordinatorFuzzAccess;

  // coordinator.cpp: connections, hello, message dispatch.
  void accept_clients();
  // A new connection on fd (non-blocking, ours now) from `peer`: a stranger
  // with a hello deadline.  Too many strangers evict the oldest.
  Client& admit(int fd, std::string peer);
  void on_readable(Client& c);
  bool check_size(const Client& c, const proto::MsgHeader& h,
                  std::string* why) const;
  void dispatch(Client& c, const proto::MsgHeader& h, std::string_view payload);
  void on_hello(Client& c, std::string_view payload);
  // Another connected process with c's unique pid, or null.
  const Client* connected_twin(const Client& c);
  void on_publish(Client& c, std::string_view payload);
  void on_query(Client& c, std::string_view payload);
  void on_status_request(Client& c);
  void on_kvdb(Client& c, std::string_view payload);
  void on_command(Client& c, std::string_view payload);
  void send(Client& c, proto::MsgType type,
            std::initializer_list<std::string_view> parts);
  void reject(Client& c, const std::string& why);
  void protocol_error(Client& c, const std::string& why);
  void reap_closed();
  void on_disconnect(Client& c);
  void on_round_left(Client& c);
  void end_computation_if_empty();
  // Pending execs whose new program did not say hello in time.
  void expire_execs(int64_t now);
  void check_timers();
  int poll_timeout_ms() const;
  void flush_before_exit();
  // --timeout and --stale-timeout.
  void check_lifetime(int64_t now);
  // --write-kv-data: the database as JSON in the working directory.
  void write_kv_snapshot() const;
  Client* find(uint32_t id);
  size_t num_processes() const;
  size_t num_running_processes() const;
  void send_welcome(Client& c, uint32_t generation);

  // round.cpp: checkpoint and restart rounds.
  CommandResult start_checkpoint(const char* why, const Waiter* waiter);
  // A process that joins while a checkpoint round is still suspending (a
  // fork child: its parent waits for it before it lets itself be suspended)
  // takes part in that round.
  void join_round_if_suspending(Client& c);
  void send_do_checkpoint(Client& c);
  std::string join_restart(Client& c, const proto::HelloPayload& h);
  void on_barrier(Client& c, std::string_view payload);
  void maybe_release();
  void on_named_barrier(Client& c, std::string_view name);
  // Releases every named barrier that every participant has reached.
  void maybe_release_named();
  // kCkptWritten: writes the restart script (before the release) and
  // returns its path; "" when the round failed or the script could not be
  // written (waiters answered with the error).
  std::string write_script();
  // After the release: answers blocking commands, kills for 'K'.
  void report_images(const std::string& script);
  void end_round();
  // Blocking commands queued behind the round that just ended (or failed)
  // get a new round, or the reason none can start.
  void start_queued_checkpoint();
  void drop_participant(Client& c);
  // Marks the round failed (first cause wins); waiters hear it at its end.
  void fail_round(const std::string& why);
  // Participants that made no progress for --round-timeout are told to
  // finish alone (kAbortRound) and leave the round, which fails.
  void abort_stuck_participants();
  // A process of this host, named beyond doubt (pid, start time, owner).
  bool is_local(const Client& c) const;
  // "prog[pid]@host", plus " (stopped: ...)" when /proc says it is.
  std::string describe(const Client& c) const;
  void remove_stale_images();
  // After a failed round: its images (complete or not) are garbage.
  void remove_failed_images();
  // After a commit: images of this computation older than the last
  // keep_generations checkpoints, in every directory this round used.
  void prune_old_generations();
  void fail_restart(const std::string& why);
  void answer_waiters(int status, const std::string& text);
  void schedule_interval();
  // Sets the interval, tells every process (it keeps it in its image, so a
  // restart brings it back) and reschedules.
  // (except to the process that asked for it).
  void set_interval(uint32_t seconds, uint32_t from_id = 0);

  // commands.cpp: dmtcp_command and stdin.
  CommandResult run_command(char cmd, int32_t arg, uint32_t requester);
  void reply(uint32_t requester, const CommandResult& r);
  std::string status_text() const;
  std::string list_text() const;
  // 'j': the computation and the round in progress as JSON (dmtcp_command
  // --json, the progress line); 'x': the last round's steps per process.
  std::string state_json() const;
  void keep_round_stats();
  size_t kill_all();
  void stop_then_kill_local();
  void on_stdin();
  std::string coord_host() const;

  Options opts_;
  int listen_fd_;
  int port_;
  std::string secret_;
  std::string hostname_;
  std::map<uint32_t, Client> clients_;  // by id: join order for 'l'
  uint32_t next_id_ = 1;
  size_t max_clients_ = 4096;
  int64_t listen_paused_until_ms_ = 0;

  std::string computation_id_;
  uint32_t computations_started_ = 0;
  uint32_t generation_ = 0;
  std::string last_round_stats_;  // JSON, "" before the first round ends
  uint32_t interval_ = 0;
  int64_t next_interval_ms_ = 0;  // 0: no periodic checkpoint pending
  // --exit-on-last: when to exit if still nobody is there (0: not planned).
  int64_t exit_deadline_ms_ = 0;
  static constexpr int64_t kExitOnLastGraceMs = 1500;
  static constexpr int64_t kKilledChildWindowMs = 5000;
  bool ever_joined_ = false;
  // Processes the last kill command killed, and until when a child of one
  // of them that joins now (it was still being forked) is killed too.
  std::set<std::string> killed_;
  int64_t killed_until_ms_ = 0;
  Round round_;
  // Unique pids of processes that closed their connection to exec: until
  // the new program says hello (or kExecRejoinMs pass), no checkpoint
  // round releases THREADS_SUSPENDED, so it is never missing from one.
  std::map<std::string, int64_t> execs_pending_;
  static constexpr int64_t kExecRejoinMs = 10000;
  // Processes of this host that left (exit) and are not dead yet: no
  // checkpoint round releases THREADS_SUSPENDED until they are (leavers.h).
  Leavers leavers_;
  // Processes of the computation this coordinator saw end (not exec): an
  // older image of one of them may go once a newer checkpoint is
  // committed.  Images of a process that is neither in that checkpoint nor
  // known to have ended stay (after a takeover, one still reconnecting).
  std::set<std::string> ended_;
  // Generations committed while this coordinator ran, oldest first: the
  // last keep_generations of them stay.
  std::vector<uint32_t> committed_;
  // After a takeover: until this many processes are back (or the time is
  // up), no checkpoint starts; it would miss the ones still reconnecting.
  uint32_t takeover_expect_ = 0;
  int64_t takeover_until_ms_ = 0;
  static constexpr int64_t kTakeoverWaitMs = 30000;
  // Blocking checkpoint commands that came during a round: a new round
  // starts for them when that one ends.
  std::vector<Waiter> queued_waiters_;
  KvStore kv_;
  KvdbStore kvdb_;

  bool read_stdin_;
  std::string stdin_buf_;
  int signal_fd_ = -1;
  bool quit_ = false;
  int exit_status_ = 0;  // run()'s result: 1 after --timeout/--stale-timeout
  bool had_errors_ = false;
  int64_t start_ms_ = 0;
  int64_t idle_since_ms_ = 0;  // nobody connected since (0: somebody is)
  std::string started_at_;     // wall clock, for --status-file
};

int64_t now_ms();

}  // namespace dmtcp::coordinator
