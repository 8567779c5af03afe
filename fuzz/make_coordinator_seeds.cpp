// make_coordinator_seeds.cpp -- writes the seed corpus of
// coordinator_msg_fuzz into a directory: real message sequences built from
// the protocol structs (hello, barriers of a whole checkpoint and restart,
// publish/query, commands, status, exec and interval messages, the DMTCP
// 3.x key-value database and named barriers), from each
// kind of peer, whole and split into chunks (coordinator_fuzz_input.h).
// Usage: make_coordinator_seeds DIR
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "coordinator_fuzz_input.h"

using namespace dmtcp;
using namespace dmtcp::coordinator::fuzz;
using proto::Barrier;
using proto::MsgType;

namespace {

struct Seed {
  std::string name;
  uint8_t ctl;
  std::string bytes;
};

std::string empty_msg(MsgType t) {
  return message(t, {});
}

std::string checkpoint_round(const std::string& image) {
  std::string s = empty_msg(MsgType::kCkptRequest);
  for (Barrier b : {Barrier::kThreadsSuspended, Barrier::kSuspended,
                    Barrier::kLeaderElection, Barrier::kDrain}) {
    s += barrier_msg(b);
  }
  s += barrier_msg(Barrier::kCkptWritten, image);
  for (Barrier b : {Barrier::kResumed, Barrier::kRegisterNameService,
                    Barrier::kSendQueries, Barrier::kRefilled}) {
    s += barrier_msg(b);
  }
  return s;
}

std::string restart_round() {
  std::string s;
  for (Barrier b : {Barrier::kRestarted, Barrier::kRegisterNameService,
                    Barrier::kSendQueries, Barrier::kRefilled}) {
    s += barrier_msg(b);
  }
  return s;
}

std::string kv_session() {
  return kv_msg(MsgType::kPublish, "fuzz-key", "fuzz-value", 10) +
         kv_msg(MsgType::kQuery, "fuzz-key", "", 64) +
         kv_msg(MsgType::kQuery, "fuzz-key", "", 3) +
         kv_msg(MsgType::kQuery, "missing", "", 64) +
         kv_msg(MsgType::kQuery, "", "", 64) +
         kv_msg(MsgType::kPublish, "fuzz-key", "replaced", 8) +
         empty_msg(MsgType::kStatusRequest);
}

// DMTCP 3.x: the key-value database and a named barrier inside a step.
std::string kvdb_msg(proto::KvdbOp op, const std::string& id,
                     const std::string& key, const std::string& value) {
  proto::KvdbRequestHeader rq{static_cast<uint32_t>(op),
                              static_cast<uint32_t>(id.size()),
                              static_cast<uint32_t>(key.size()),
                              static_cast<uint32_t>(value.size())};
  return message(MsgType::kKvdb,
                 std::string(bytes_of(rq)) + id + key + value);
}

std::string v3_session() {
  using proto::KvdbOp;
  return kvdb_msg(KvdbOp::kGet, "db", "k", "") +
         kvdb_msg(KvdbOp::kSet, "db", "k", "v") +
         kvdb_msg(KvdbOp::kIncrBy, "db", "n", "5") +
         kvdb_msg(KvdbOp::kMax, "db", "n", "-3") +
         kvdb_msg(KvdbOp::kSet, "", "k", "v") +
         empty_msg(MsgType::kCkptRequest) + message(MsgType::kNamedBarrier,
                                                    "plugin:barrier") +
         barrier_msg(Barrier::kThreadsSuspended) +
         message(MsgType::kNamedBarrier, "while-waiting");
}

std::string commands() {
  std::string s;
  for (char c : {'s', 'l', 'c', 'b', 'K', 'k', 'Q', '?'}) {
    s += command_msg(c);
  }
  s += command_msg('i', 5) + command_msg('i', -1) + command_msg('i', 0);
  return s + command_msg('q');
}

std::string process_messages() {
  uint32_t interval = 30;
  return empty_msg(MsgType::kExecPending) + empty_msg(MsgType::kExecFailed) +
         empty_msg(MsgType::kRoundLeft) +
         message(MsgType::kSetInterval, bytes_of(interval)) +
         empty_msg(MsgType::kStatusRequest);
}

std::vector<Seed> seeds() {
  const std::string image =
      "/nonexistent-fuzz-dir/ckpt_fuzzed_fuzz-peer_gen1.dmtcp";
  const std::string hello_process =
      hello_msg(proto::Role::kProcess, "fuzz-peer");
  const std::string hello_tool = hello_msg(proto::Role::kTool, "");
  proto::MsgHeader bad = proto::make_header(MsgType::kHello, 12);
  bad.magic ^= 1;
  std::string bad_magic(reinterpret_cast<const char*>(&bad), sizeof bad);
  std::vector<Seed> v = {
      // Strangers: they must say hello first, with the right secret.
      {"stranger-process", control(kStranger, false, 0),
       hello_process + kv_session() + checkpoint_round(image)},
      {"stranger-tool", control(kStranger, false, 0), hello_tool + commands()},
      {"stranger-restarting", control(kStranger, false, 0),
       hello_msg(proto::Role::kRestarting, "fuzz-peer") + restart_round()},
      {"stranger-wrong-secret", control(kStranger, false, 0),
       hello_msg(
           proto::Role::kProcess, "fuzz-peer",
           "0000000000000000000000000000000000000000000000000000000000000000")},
      {"stranger-short-hello", control(kStranger, false, 0),
       message(MsgType::kHello, "short")},
      {"stranger-no-hello", control(kStranger, false, 0), command_msg('s')},
      {"stranger-bad-magic", control(kStranger, false, 0), bad_magic},
      {"stranger-two-hellos", control(kStranger, true, 0),
       hello_process + hello_process},
      // Joined processes.
      {"process-kv", control(kProcess, false, 0), kv_session()},
      {"process-v3", control(kProcess, true, 0), v3_session()},
      {"tool-v3", control(kTool, false, 0), v3_session()},
      {"process-checkpoint", control(kProcess, false, 0),
       checkpoint_round(image) + checkpoint_round(image)},
      {"process-checkpoint-split", control(kProcess, false, 1),
       checkpoint_round(image)},
      {"process-checkpoint-failed-image", control(kProcess, false, 5),
       checkpoint_round("")},
      {"process-misc", control(kProcess, false, 0), process_messages()},
      {"process-out-of-order", control(kProcess, false, 0),
       barrier_msg(Barrier::kSuspended) + empty_msg(MsgType::kCkptRequest) +
           barrier_msg(Barrier::kDrain)},
      {"process-with-peer", control(kProcess, true, 0),
       checkpoint_round(image) + command_msg('l') + command_msg('k')},
      {"process-commands", control(kProcess, false, 2), commands()},
      // Tools.
      {"tool-commands", control(kTool, false, 0), commands()},
      {"tool-with-peer", control(kTool, true, 0),
       command_msg('b') + command_msg('l') + command_msg('s') +
           command_msg('K') + command_msg('k')},
      {"tool-kv", control(kTool, false, 3), kv_session()},
      {"tool-barrier", control(kTool, false, 0),
       barrier_msg(Barrier::kThreadsSuspended)},
      // Restarting processes.
      {"restarting", control(kRestarting, false, 0), restart_round()},
      {"restarting-split", control(kRestarting, false, 1),
       restart_round() + kv_session()},
      {"restarting-with-peer", control(kRestarting, true, 0),
       restart_round() + command_msg('l')},
  };
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_coordinator_seeds DIR\n");
    return 2;
  }
  int failed = 0;
  for (const Seed& s : seeds()) {
    std::string path = std::string(argv[1]) + "/" + s.name;
    unlink(path.c_str());
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    std::string bytes = static_cast<char>(s.ctl) + s.bytes;
    if (fd < 0 || proto::write_all(fd, bytes.data(), bytes.size()) != 0) {
      perror(path.c_str());
      failed = 1;
    }
    if (fd >= 0) {
      close(fd);
    }
  }
  return failed;
}
