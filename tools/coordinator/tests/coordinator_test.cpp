#define BOOST_TEST_MODULE coordinator
#include <algorithm>
#include <boost/test/unit_test.hpp>

#include "coord_harness.h"

using namespace coord_test;

namespace {

// Walks one process alone through a whole checkpoint round.
void solo_round(Peer& p, const std::string& image) {
  for (Barrier b : kCkptSequence) {
    p.barrier(b, b == Barrier::kCkptWritten ? image : std::string());
    p.expect_release(b);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(key_file_is_private_and_removed_at_exit) {
  std::string key;
  {
    Coord c;
    key = proto::key_file_path(c.port());
    struct stat st {};
    BOOST_REQUIRE(stat(key.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);
    BOOST_REQUIRE(stat(proto::key_dir_path().c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0700u);
    BOOST_TEST(c.secret().size() == proto::kSecretHexLen);
    auto t = c.tool();
    BOOST_TEST(reply_status(t->command('q')) == 0);
    BOOST_TEST(c.wait_exit(5000) == 0);
    BOOST_TEST(!exists(key));
  }
}

BOOST_AUTO_TEST_CASE(wrong_secret_is_rejected) {
  Coord c;
  Peer bad(c.port());
  HelloArgs a;
  a.role = Role::kTool;
  std::string wrong = c.secret();
  wrong[10] = wrong[10] == '0' ? '1' : '0';
  proto::HelloPayload h = make_hello(wrong, a);
  bad.send(MsgType::kHello, &h, sizeof h);
  auto m = bad.expect(MsgType::kReject);
  BOOST_TEST(contains(m.tail(0), "authentication failed"));
  BOOST_TEST(bad.closed_within(2000));

  // A message other than hello first is refused too.
  Peer early(c.port());
  early.send(MsgType::kStatusRequest);
  early.expect(MsgType::kReject);
  BOOST_TEST(early.closed_within(2000));

  // The right secret gets in.
  auto t = c.tool();
  auto st = t->status();
  BOOST_TEST(st.num_processes == 0u);
  BOOST_TEST(st.is_running == 1u);
}

BOOST_AUTO_TEST_CASE(silent_connection_times_out) {
  Coord c;
  Peer silent(c.port());
  int64_t start = now_ms();
  BOOST_TEST(silent.closed_within(8000));
  BOOST_TEST(now_ms() - start >= 4000);
}

BOOST_AUTO_TEST_CASE(garbage_and_oversized_headers_do_not_hurt) {
  Coord c;
  // A half-sent header must not stall anyone else.
  Peer partial(c.port());
  partial.send_raw("DMT", 3);

  Peer http(c.port());
  const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  http.send_raw(get, sizeof get - 1);
  BOOST_TEST(http.closed_within(3000));

  Peer huge(c.port());
  proto::MsgHeader h = proto::make_header(MsgType::kHello, 0xfffffff0u);
  huge.send_raw(&h, sizeof h);
  BOOST_TEST(huge.closed_within(3000));

  Peer short_hello(c.port());
  h = proto::make_header(MsgType::kHello, 10);
  short_hello.send_raw(&h, sizeof h);
  short_hello.send_raw("0123456789", 10);
  BOOST_TEST(short_hello.closed_within(3000));

  // Authenticated peers are held to the same rules.
  auto t1 = c.tool();
  h = proto::make_header(MsgType::kPublish, proto::kMaxPayload + 1);
  t1->send_raw(&h, sizeof h);
  BOOST_TEST(t1->closed_within(3000));
  auto t2 = c.tool();
  h = proto::make_header(MsgType::kStatusRequest, 4);
  t2->send_raw(&h, sizeof h);
  t2->send_raw("abcd", 4);
  BOOST_TEST(t2->closed_within(3000));
  auto t3 = c.tool();
  t3->send(static_cast<MsgType>(999));
  BOOST_TEST(t3->closed_within(3000));
  auto t4 = c.tool();
  t4->barrier(Barrier::kSuspended);  // tools take no part in rounds
  BOOST_TEST(t4->closed_within(3000));
  auto p1 = c.process("p1");
  p1->barrier(Barrier::kThreadsSuspended);  // no round running
  BOOST_TEST(p1->closed_within(3000));
  auto p2 = c.process("p2");
  proto::KvHeader kv{5, 5};  // lengths that do not add up
  p2->send(MsgType::kPublish, &kv, sizeof kv, "abc", 3);
  BOOST_TEST(p2->closed_within(3000));

  BOOST_TEST(c.alive());
  auto t = c.tool();
  auto st = t->status();
  BOOST_TEST(st.num_processes == 0u);
  BOOST_TEST(reply_status(t->command('s')) == 0);
}

BOOST_AUTO_TEST_CASE(flood_of_silent_connections_does_not_lock_out) {
  Coord c;
  std::vector<std::unique_ptr<Peer>> flood;
  for (int i = 0; i < 400; ++i) {
    flood.push_back(std::make_unique<Peer>(c.port()));
  }
  auto t = c.tool();
  BOOST_TEST(t->status().is_running == 1u);
  BOOST_TEST(c.alive());
}

BOOST_AUTO_TEST_CASE(two_process_checkpoint_round) {
  Coord c;
  auto a = c.process("proc_a");
  auto b = c.process("proc_b", "remotehost-test");
  auto t = c.tool();
  BOOST_TEST(a->publish("stale", "old") == 1);

  auto r = t->command('c');
  BOOST_TEST(reply_status(r) == 0);
  for (Peer* p : {a.get(), b.get()}) {
    auto d = p->expect(MsgType::kDoCheckpoint).as<proto::DoCheckpointPayload>();
    BOOST_TEST(d.generation == 1u);
    BOOST_TEST(d.num_peers == 2u);
    BOOST_TEST(std::string(d.ckpt_dir) == c.ckpt_dir());
  }
  // A second checkpoint while this one runs is refused.
  r = t->command('c');
  BOOST_TEST(reply_status(r) != 0);
  BOOST_TEST(contains(reply_text(r), "already in progress"));
  BOOST_TEST(t->status().is_running == 0u);
  std::unique_ptr<Peer> late;

  const std::string img_a = c.ckpt_dir() + "/ckpt_proc_a_1.dmtcp";
  const std::string img_b = c.ckpt_dir() + "/ckpt_proc_b_2.dmtcp";
  for (Barrier x : kCkptSequence) {
    bool written = x == Barrier::kCkptWritten;
    if (x == Barrier::kRegisterNameService) {
      BOOST_TEST(a->publish("addr-a", "valueA") == 1);
    }
    a->barrier(x, written ? img_a : std::string());
    BOOST_TEST_INFO("barrier " << static_cast<int>(x));
    BOOST_TEST(a->quiet_for(150));  // not released until b sent it too
    if (x <= Barrier::kCkptWritten) {
      BOOST_TEST(!exists(c.script_path()));
    }
    b->barrier(x, written ? img_b : std::string());
    a->expect_release(x);
    b->expect_release(x);
    if (x == Barrier::kThreadsSuspended) {
      // Joining once the processes are suspended: welcomed, but this round
      // goes on without it.
      late = c.process("late");
    }
    if (written) {
      std::string script = read_file(c.script_path());
      BOOST_TEST(contains(script, img_a));
      BOOST_TEST(contains(script, img_b));
      BOOST_TEST(contains(script, "group 'remotehost-test' "));
      BOOST_TEST(contains(script, "/dmtcp_restart'"));
      struct stat st {};
      stat(c.script_path().c_str(), &st);
      BOOST_TEST((st.st_mode & 0777) == 0755u);
      std::string check = "bash -n '" + c.script_path() + "'";
      BOOST_TEST(system(check.c_str()) == 0);
    }
    if (x == Barrier::kRegisterNameService) {
      std::string v;
      auto q = b->query("addr-a", 100, &v);
      BOOST_TEST(q.result == 1);
      BOOST_TEST(q.value_len == 6u);
      BOOST_TEST(v == "valueA");
      q = b->query("addr-a", 3, &v);  // buffer too small
      BOOST_TEST(q.result == 1);
      BOOST_TEST(q.value_len == 6u);
      BOOST_TEST(v == "val");
      q = b->query("stale", 100, &v);  // emptied when the round started
      BOOST_TEST(q.result == 0);
      BOOST_TEST(v.empty());
      q = b->query("missing", 100, &v);
      BOOST_TEST(q.result == 0);
    }
  }
  BOOST_TEST(late->quiet_for(100));
  auto st = t->status();
  BOOST_TEST(st.is_running == 1u);
  BOOST_TEST(st.generation == 1u);
  BOOST_TEST(st.num_processes == 3u);

  // The next round includes the late joiner and starts with an empty
  // database.
  BOOST_TEST(a->publish("between", "rounds") == 1);
  BOOST_TEST(reply_status(t->command('c')) == 0);
  for (Peer* p : {a.get(), b.get(), late.get()}) {
    auto d = p->expect(MsgType::kDoCheckpoint).as<proto::DoCheckpointPayload>();
    BOOST_TEST(d.generation == 2u);
    BOOST_TEST(d.num_peers == 3u);
  }
  std::string v;
  BOOST_TEST(a->query("between", 100, &v).result == 0);
}

// A fork child joins while its parent holds off being suspended: it takes
// part in the round, the first release waits for it, and every release
// tells the new number of processes (it goes into the image headers).
BOOST_AUTO_TEST_CASE(process_joining_while_the_round_suspends_takes_part) {
  Coord c;
  auto parent = c.process("parent");
  auto t = c.tool();
  BOOST_TEST(reply_status(t->command('c')) == 0);
  auto d = parent->expect(MsgType::kDoCheckpoint)
               .as<proto::DoCheckpointPayload>();
  BOOST_TEST(d.num_peers == 1u);
  auto child = c.process("child");
  d = child->expect(MsgType::kDoCheckpoint).as<proto::DoCheckpointPayload>();
  BOOST_TEST(d.generation == 1u);
  BOOST_TEST(d.num_peers == 2u);
  parent->barrier(Barrier::kThreadsSuspended);
  BOOST_TEST(parent->quiet_for(150));  // the child has not suspended yet
  child->barrier(Barrier::kThreadsSuspended);
  for (Peer* p : {parent.get(), child.get()}) {
    auto rel = p->expect(MsgType::kBarrierRelease).as<proto::BarrierPayload>();
    BOOST_TEST(rel.barrier ==
               static_cast<uint32_t>(Barrier::kThreadsSuspended));
    BOOST_TEST(rel.num_peers == 2u);
  }
  BOOST_TEST(t->status().num_processes == 2u);
}

// dmtcp_command --kill while a process forks: the child, still joining when
// its parent is killed, is killed as soon as it joins; an unrelated process
// joining then is not.
BOOST_AUTO_TEST_CASE(child_joining_after_its_parent_was_killed_is_killed) {
  Coord c;
  auto parent = c.process("parent");
  auto t = c.tool();
  BOOST_TEST(reply_status(t->command('k')) == 0);
  parent->expect(MsgType::kKill);
  HelloArgs child_args;
  child_args.prog = "child";
  child_args.parent_unique_pid = "parent-uniq";
  auto child = c.join(child_args);
  child->expect(MsgType::kKill);
  auto stranger = c.process("stranger");
  BOOST_TEST(stranger->quiet_for(200));
}

BOOST_AUTO_TEST_CASE(out_of_order_barrier_drops_only_that_process) {
  Coord c;
  auto a = c.process("a");
  auto b = c.process("b");
  auto t = c.tool();
  BOOST_TEST(reply_status(t->command('c')) == 0);
  a->expect(MsgType::kDoCheckpoint);
  b->expect(MsgType::kDoCheckpoint);
  a->barrier(Barrier::kSuspended);  // skipped THREADS_SUSPENDED
  BOOST_TEST(a->closed_within(3000));
  b->barrier(Barrier::kThreadsSuspended);
  b->expect_release(Barrier::kThreadsSuspended);
  b->barrier(Barrier::kSuspended);
  b->expect_release(Barrier::kSuspended);
  b->barrier(Barrier::kSuspended);  // twice: also an error
  BOOST_TEST(b->closed_within(3000));
  auto st = t->status();
  BOOST_TEST(st.num_processes == 0u);
  BOOST_TEST(st.is_running == 1u);  // the round ended with nobody left
}

BOOST_AUTO_TEST_CASE(leaving_participant_fails_round_but_not_others) {
  Coord c;
  auto a = c.process("a");
  auto t = c.tool();
  const std::string img1 = c.ckpt_dir() + "/ckpt_a_gen1.dmtcp";
  const std::string img3 = c.ckpt_dir() + "/ckpt_a_gen3.dmtcp";

  // Round 1 (blocking): a alone; the reply comes only once the round is
  // over (images and restart script written, processes running again).
  t->send_command('b');
  a->expect(MsgType::kDoCheckpoint);
  for (Barrier x : kCkptSequence) {
    BOOST_TEST(t->quiet_for(x == Barrier::kCkptWritten ? 150 : 10));
    a->barrier(x, x == Barrier::kCkptWritten ? img1 : std::string());
    a->expect_release(x);
    if (x == Barrier::kCkptWritten) {
      BOOST_TEST(contains(read_file(c.script_path()), img1));
    }
  }
  auto r1 = t->expect(MsgType::kCommandReply);
  BOOST_TEST(reply_status(r1) == 0);
  BOOST_TEST(contains(reply_text(r1), "restart script"));
  const std::string script1 = read_file(c.script_path());

  // Round 2: b leaves after THREADS_SUSPENDED; a is not stuck, the blocking
  // command fails and the restart script of round 1 stays.
  auto b = c.process("b");
  t->send_command('b');
  a->expect(MsgType::kDoCheckpoint);
  b->expect(MsgType::kDoCheckpoint);
  a->barrier(Barrier::kThreadsSuspended);
  b->barrier(Barrier::kThreadsSuspended);
  a->expect_release(Barrier::kThreadsSuspended);
  b->expect_release(Barrier::kThreadsSuspended);
  a->barrier(Barrier::kSuspended);
  BOOST_TEST(a->quiet_for(100));
  b->close_now();
  a->expect_release(Barrier::kSuspended);
  for (size_t i = 2; i < std::size(kCkptSequence); ++i) {
    Barrier x = kCkptSequence[i];
    a->barrier(x, x == Barrier::kCkptWritten ? img3 : std::string());
    a->expect_release(x);
  }
  auto r = t->expect(MsgType::kCommandReply);
  BOOST_TEST(reply_status(r) != 0);
  BOOST_TEST(contains(reply_text(r), "failed"));
  BOOST_TEST(contains(reply_text(r), "b[1000] died while it was frozen"));
  BOOST_TEST(read_file(c.script_path()) == script1);
  BOOST_TEST(t->status().is_running == 1u);

  // Round 3 works again.
  BOOST_TEST(reply_status(t->command('c')) == 0);
  auto d = a->expect(MsgType::kDoCheckpoint).as<proto::DoCheckpointPayload>();
  BOOST_TEST(d.generation == 3u);
  BOOST_TEST(d.num_peers == 1u);
  solo_round(*a, img3);
  BOOST_TEST(contains(read_file(c.script_path()), img3));
}

BOOST_AUTO_TEST_CASE(kcheckpoint_kills_after_images_and_kill_command) {
  Coord c;
  auto a = c.process("a");
  auto t = c.tool();
  t->send_command('K');
  a->expect(MsgType::kDoCheckpoint);
  for (Barrier x : kCkptSequence) {
    a->barrier(x, x == Barrier::kCkptWritten ? "/tmp/x.dmtcp" : "");
    a->expect_release(x);
    if (x == Barrier::kCkptWritten) {
      break;
    }
  }
  a->expect(MsgType::kKill);
  // Answered once the killed process is gone: the round is over.
  BOOST_TEST(t->quiet_for(100));
  a->close_now();
  BOOST_TEST(reply_status(t->expect(MsgType::kCommandReply)) == 0);

  auto p = c.process("p");
  auto q = c.process("q");
  auto r = t->command('k');
  BOOST_TEST(reply_status(r) == 0);
  p->expect(MsgType::kKill);
  q->expect(MsgType::kKill);

  // Once every process is gone the computation is over.
  BOOST_TEST(contains(reply_text(t->command('s')),
                      "Computation: " + local_hostname().substr(0, 40)));
  p->close_now();
  q->close_now();
  bool ended = false;
  for (int i = 0; i < 200 && !ended; ++i) {
    ended = contains(reply_text(t->command('s')), "Computation: (none)");
    usleep(10 * 1000);
  }
  BOOST_TEST(ended);
}

BOOST_AUTO_TEST_CASE(publish_limits) {
  Coord c;
  auto a = c.process("a");
  BOOST_TEST(a->publish(std::string(proto::kMaxKeyLen + 1, 'k'), "v") ==
             -EINVAL);
  BOOST_TEST(a->publish("", "v") == -EINVAL);
  BOOST_TEST(a->publish("k", std::string(proto::kMaxValueLen + 1, 'v')) ==
             -EMSGSIZE);
  std::string big(proto::kMaxValueLen, 'x');
  big[12345] = 'y';
  BOOST_TEST(a->publish(std::string(proto::kMaxKeyLen, 'k'), big) == 1);
  std::string v;
  auto q =
      a->query(std::string(proto::kMaxKeyLen, 'k'), proto::kMaxValueLen, &v);
  BOOST_TEST(q.result == 1);
  BOOST_TEST(v == big);
  BOOST_TEST(a->publish("k", "first") == 1);
  BOOST_TEST(a->publish("k", "second") == 1);  // replaces
  BOOST_TEST(a->query("k", 100, &v).result == 1);
  BOOST_TEST(v == "second");
  BOOST_TEST(a->query("", 100, &v).result == -EINVAL);
}

BOOST_AUTO_TEST_CASE(restart_round_waits_for_every_peer) {
  Coord c;
  HelloArgs r;
  r.role = Role::kRestarting;
  r.generation = 5;
  r.expected_peers = 2;
  r.computation_id = "otherhost-42-abc";
  r.prog = "r1";
  proto::WelcomePayload w{};
  auto r1 = c.join(r, &w);
  BOOST_TEST(w.generation == 5u);
  BOOST_TEST(std::string(w.computation_id) == "otherhost-42-abc");
  auto t = c.tool();
  BOOST_TEST(t->status().is_running == 0u);
  BOOST_TEST(reply_status(t->command('c')) != 0);  // restart in progress

  r1->barrier(Barrier::kRestarted);
  BOOST_TEST(r1->quiet_for(200));
  r.prog = "r2";
  auto r2 = c.join(r, &w);
  BOOST_TEST(r1->quiet_for(100));
  // A third image of the same restart is one too many.
  {
    Peer extra(c.port());
    r.prog = "r3";
    auto h = make_hello(c.secret(), r);
    extra.send(MsgType::kHello, &h, sizeof h);
    extra.expect(MsgType::kReject);
  }
  for (Barrier x : {Barrier::kRestarted, Barrier::kRegisterNameService,
                    Barrier::kSendQueries, Barrier::kRefilled}) {
    if (x != Barrier::kRestarted) {
      r1->barrier(x);
      BOOST_TEST(r1->quiet_for(100));
    }
    r2->barrier(x);
    r1->expect_release(x);
    r2->expect_release(x);
  }
  auto st = t->status();
  BOOST_TEST(st.is_running == 1u);
  BOOST_TEST(st.generation == 5u);
  BOOST_TEST(st.num_processes == 2u);
  BOOST_TEST(contains(reply_text(t->command('s')), "otherhost-42-abc"));

  // Images of another computation are refused while this one runs.
  {
    Peer other(c.port());
    HelloArgs o = r;
    o.computation_id = "someone-else";
    o.expected_peers = 1;
    auto h = make_hello(c.secret(), o);
    other.send(MsgType::kHello, &h, sizeof h);
    auto m = other.expect(MsgType::kReject);
    BOOST_TEST(contains(m.tail(0), "another computation"));
  }
  // The restarted processes checkpoint as generation 6.
  BOOST_TEST(reply_status(t->command('c')) == 0);
  auto d = r1->expect(MsgType::kDoCheckpoint).as<proto::DoCheckpointPayload>();
  BOOST_TEST(d.generation == 6u);
  BOOST_TEST(d.num_peers == 2u);
}

BOOST_AUTO_TEST_CASE(restart_with_missing_peers_times_out) {
  Coord c({}, {"DMTCP_RESTART_TIMEOUT=1"});
  HelloArgs r;
  r.role = Role::kRestarting;
  r.generation = 2;
  r.expected_peers = 3;
  r.computation_id = "x-1-1";
  auto r1 = c.join(r);
  r1->barrier(Barrier::kRestarted);
  r1->expect(MsgType::kKill, 4000);
  BOOST_TEST(contains(c.log(), "restart of generation 2 failed"));
}

BOOST_AUTO_TEST_CASE(interval_checkpoints_periodically) {
  Coord c({"-i", "1"});
  auto a = c.process("a");
  auto d =
      a->expect(MsgType::kDoCheckpoint, 4000).as<proto::DoCheckpointPayload>();
  BOOST_TEST(d.generation == 1u);
  solo_round(*a, "/tmp/img.dmtcp");
  d = a->expect(MsgType::kDoCheckpoint, 4000).as<proto::DoCheckpointPayload>();
  BOOST_TEST(d.generation == 2u);
}

BOOST_AUTO_TEST_CASE(dmtcp_command_exit_codes) {
  Coord c;
  std::string port = std::to_string(c.port());
  std::string out;
  BOOST_TEST(run_command({"-p", port, "-s"}, &out) == 0);
  BOOST_TEST(contains(out, "NUM_PEERS=0"));
  BOOST_TEST(run_command({"--coord-port", port, "s"}, &out) == 0);
  BOOST_TEST(run_command({"-p", port, "--interval", "7"}, &out) == 0);
  BOOST_TEST(run_command({"-p", port, "--status"}, &out) == 0);
  BOOST_TEST(contains(out, "Checkpoint interval: 7 s"));
  BOOST_TEST(run_command({"-p", port, "-i", "0"}, &out) == 0);

  BOOST_TEST(run_command({"-p", port}, &out) == 1);
  BOOST_TEST(run_command({"-p", port, "--bogus"}, &out) == 1);
  BOOST_TEST(run_command({"-p", port, "-i", "x"}, &out) == 1);
  BOOST_TEST(run_command({"-p", port, "-s", "-l"}, &out) == 1);
  BOOST_TEST(run_command({"-p", "notaport", "-s"}, &out) == 1);

  // Command failed: nothing to checkpoint.
  BOOST_TEST(run_command({"-p", port, "-c"}, &out) == 2);
  BOOST_TEST(contains(out, "no processes"));

  // --bcheckpoint returns only after the images are written.
  auto a = c.process("a");
  CommandRun bc({"-p", port, "-bc"});
  a->expect(MsgType::kDoCheckpoint);
  for (Barrier x : kCkptSequence) {
    if (x == Barrier::kCkptWritten) {
      usleep(200 * 1000);
      BOOST_TEST(bc.running());
    }
    a->barrier(x, x == Barrier::kCkptWritten ? "/tmp/a.dmtcp" : "");
    a->expect_release(x);
  }
  BOOST_TEST(bc.finish() == 0);
  BOOST_TEST(contains(bc.output(), "restart script"));
  BOOST_TEST(run_command({"-p", port, "-l"}, &out) == 0);
  BOOST_TEST(contains(out, "a[1000]@"));

  // Quit, then there is no coordinator: 2 with a clear line.
  BOOST_TEST(run_command({"-p", port, "--quit"}, &out) == 0);
  a->expect(MsgType::kKill);
  BOOST_TEST(c.wait_exit(5000) == 0);
  BOOST_TEST(run_command({"-p", port, "-s"}, &out) == 2);
  BOOST_TEST(
      contains(out, "dmtcp_command: no coordinator at localhost:" + port));
}

BOOST_AUTO_TEST_CASE(exit_on_last_process) {
  Coord c({"--exit-on-last"});
  auto t = c.tool();
  t->close_now();  // tools do not count
  usleep(200 * 1000);
  BOOST_TEST(c.alive());
  // A process that execs leaves and comes back a moment later: the
  // coordinator must still be there for it.
  auto a = c.process("a");
  a->close_now();
  usleep(300 * 1000);
  BOOST_TEST(c.alive());
  auto a2 = c.process("a-after-exec");
  usleep(1700 * 1000);  // past the grace period: a2 still counts
  BOOST_TEST(c.alive());
  a2->close_now();
  BOOST_TEST(c.wait_exit(5000) == 0);
}

BOOST_AUTO_TEST_CASE(daemon_mode_and_port_in_use) {
  Coord c;  // provides DMTCP_TMPDIR and a port that is taken
  std::string pf = c.dir() + "/daemon.port";
  std::string cmd = std::string(DMTCP_COORDINATOR_EXE) +
                    " --daemon -q -p 0 --port-file '" + pf + "'";
  BOOST_REQUIRE(system(cmd.c_str()) == 0);
  // The parent returned only after the port file was written.
  std::string port = read_file(pf);
  BOOST_REQUIRE(!port.empty());
  port.pop_back();
  std::string out;
  BOOST_TEST(run_command({"-p", port, "-s"}, &out) == 0);
  std::string key = proto::key_file_path(atoi(port.c_str()));
  BOOST_TEST(exists(key));
  BOOST_TEST(run_command({"-p", port, "-q"}, &out) == 0);
  for (int i = 0; i < 300 && exists(key); ++i) {
    usleep(10 * 1000);
  }
  BOOST_TEST(!exists(key));

  std::string busy = std::string(DMTCP_COORDINATOR_EXE) + " -p " +
                     std::to_string(c.port()) + " 2>'" + c.dir() + "/busy'";
  int rc = system(busy.c_str());
  BOOST_TEST(WIFEXITED(rc));
  BOOST_TEST(WEXITSTATUS(rc) != 0);
  std::string msg = read_file(c.dir() + "/busy");
  BOOST_TEST(contains(msg, "Address already in use"));
  BOOST_TEST(std::count(msg.begin(), msg.end(), '\n') == 1);
  BOOST_TEST(c.alive());

  std::string bad =
      std::string(DMTCP_COORDINATOR_EXE) + " --no-such 2>/dev/null";
  rc = system(bad.c_str());
  BOOST_TEST(WEXITSTATUS(rc) == 1);
}

BOOST_AUTO_TEST_CASE(process_that_cannot_write_its_image_fails_the_round) {
  Coord c;
  auto a = c.process("a");
  auto b = c.process("b");
  auto t = c.tool();
  t->send_command('b');
  a->expect(MsgType::kDoCheckpoint);
  b->expect(MsgType::kDoCheckpoint);
  const std::string img = c.ckpt_dir() + "/ckpt_a_gen1.dmtcp";
  write_file(img, "an image of a failed generation");
  for (Barrier x : kCkptSequence) {
    a->barrier(x, x == Barrier::kCkptWritten ? img : std::string());
    // b's disk is full: it reaches CKPT_WRITTEN with no image path.
    b->barrier(x);
    a->expect_release(x);
    b->expect_release(x);
  }
  auto r = t->expect(MsgType::kCommandReply);
  BOOST_TEST(reply_status(r) != 0);
  BOOST_TEST(contains(reply_text(r), "could not write its image"));
  // What the failed round wrote is gone: it could pass for a checkpoint.
  BOOST_TEST(!exists(img));
  // Both processes are still in the computation, and no restart script
  // names an incomplete set of images.
  auto st = t->status();
  BOOST_TEST(st.num_processes == 2u);
  BOOST_TEST(st.is_running == 1u);
  BOOST_TEST(access(c.script_path().c_str(), F_OK) != 0);
}

// Forked checkpoints: one process asking for them makes the round run the
// forked order for all; the images are committed (restart script, older
// generations pruned) only at the last CKPT_WRITTEN, and a writer that died
// fails the round with its reason.
BOOST_AUTO_TEST_CASE(forked_round_commits_after_the_last_image) {
  Coord c;
  HelloArgs fa;
  fa.prog = "forked";
  fa.flags = proto::kHelloForkedCheckpoint;
  auto a = c.join(fa);
  auto b = c.process("plain");
  auto t = c.tool();
  t->send_command('b');
  for (Peer* p : {a.get(), b.get()}) {
    auto d = p->expect(MsgType::kDoCheckpoint).as<proto::DoCheckpointPayload>();
    BOOST_TEST(d.flags == proto::kCheckpointForked);
  }
  const std::string img_a = c.ckpt_dir() + "/ckpt_forked_gen1.dmtcp";
  const std::string img_b = c.ckpt_dir() + "/ckpt_plain_gen1.dmtcp";
  write_file(img_a, "image a");
  write_file(img_b, "image b");
  for (Barrier x : kForkedCkptSequence) {
    bool written = x == Barrier::kCkptWritten;
    BOOST_TEST_INFO("barrier " << static_cast<int>(x));
    BOOST_TEST(!exists(c.script_path()));  // no commit before the last
    a->barrier(x, written ? img_a : std::string());
    b->barrier(x, written ? img_b : std::string());
    a->expect_release(x);
    b->expect_release(x);
    BOOST_TEST(exists(c.script_path()) == written);
  }
  auto r = t->expect(MsgType::kCommandReply);
  BOOST_TEST(reply_status(r) == 0);
  // The plain order is refused in a forked round.
  t->send_command('b');
  a->expect(MsgType::kDoCheckpoint);
  b->expect(MsgType::kDoCheckpoint);
  for (Barrier x : {Barrier::kThreadsSuspended, Barrier::kSuspended,
                    Barrier::kLeaderElection, Barrier::kDrain}) {
    a->barrier(x);
    b->barrier(x);
    a->expect_release(x);
    b->expect_release(x);
  }
  const std::string img2 = c.ckpt_dir() + "/ckpt_forked_gen2.dmtcp";
  b->barrier(Barrier::kCkptWritten, img2);
  BOOST_TEST(b->closed_within(5000));
  for (size_t i = 4; i < std::size(kForkedCkptSequence); ++i) {
    Barrier x = kForkedCkptSequence[i];
    a->barrier(x, x == Barrier::kCkptWritten ? img2 : std::string());
    a->expect_release(x);
  }
  r = t->expect(MsgType::kCommandReply);
  BOOST_TEST(reply_status(r) != 0);
  // A writer that died: a NUL byte, then why.
  b = c.process("plain2");
  t->send_command('b');
  a->expect(MsgType::kDoCheckpoint);
  b->expect(MsgType::kDoCheckpoint);
  const std::string img3 = c.ckpt_dir() + "/ckpt_plain2_gen3.dmtcp";
  write_file(img3, "image of the failed round");
  const std::string why = std::string(1, '\0') +
                          "its forked image writer (pid 7) was killed by "
                          "signal 9 (SIGKILL)";
  for (Barrier x : kForkedCkptSequence) {
    bool written = x == Barrier::kCkptWritten;
    a->barrier(x, written ? why : std::string());
    b->barrier(x, written ? img3 : std::string());
    a->expect_release(x);
    b->expect_release(x);
  }
  r = t->expect(MsgType::kCommandReply);
  BOOST_TEST(reply_status(r) != 0);
  BOOST_TEST(contains(reply_text(r), "could not write its image (its forked "
                                     "image writer (pid 7) was killed by "
                                     "signal 9 (SIGKILL))"));
  BOOST_TEST(!exists(img3));  // what the failed round wrote is gone
  BOOST_TEST(exists(img_a));  // the last good checkpoint stays
}

// A process that exits (or execs) before it is suspended was never frozen:
// it leaves the round, which completes for the others.
BOOST_AUTO_TEST_CASE(process_exiting_before_it_is_suspended_leaves_the_round) {
  Coord c;
  auto a = c.process("a");
  auto b = c.process("b");
  auto t = c.tool();
  t->send_command('b');
  a->expect(MsgType::kDoCheckpoint);
  b->expect(MsgType::kDoCheckpoint);
  a->barrier(Barrier::kThreadsSuspended);
  b->close_now();  // exit_group() before the checkpoint signal came
  const std::string img = c.ckpt_dir() + "/ckpt_a_a-uniq_gen1.dmtcp";
  for (Barrier x : kCkptSequence) {
    if (x != Barrier::kThreadsSuspended) {
      a->barrier(x, x == Barrier::kCkptWritten ? img : std::string());
    }
    auto rel = a->expect(MsgType::kBarrierRelease).as<proto::BarrierPayload>();
    BOOST_TEST(rel.barrier == static_cast<uint32_t>(x));
    BOOST_TEST(rel.num_peers == 1u);  // goes into the image header
  }
  auto r = t->expect(MsgType::kCommandReply);
  BOOST_TEST(reply_status(r) == 0, reply_text(r));
  BOOST_TEST(contains(read_file(c.script_path()), img));
}

// A process about to exec says so; THREADS_SUSPENDED is not released until
// its new program has said hello and suspended too, so the round has it.
BOOST_AUTO_TEST_CASE(exec_during_a_round_is_waited_for) {
  Coord c;
  auto a = c.process("a");
  auto sh = c.process("sh");
  auto t = c.tool();
  sh->send(MsgType::kExecPending);
  BOOST_TEST(reply_status(t->command('c')) == 0);
  a->expect(MsgType::kDoCheckpoint);
  a->barrier(Barrier::kThreadsSuspended);
  sh->close_now();  // the exec closed the old connection
  BOOST_TEST(a->quiet_for(300));  // held for the new program
  HelloArgs args;
  args.prog = "make";
  args.unique_pid = "sh-uniq";  // same process, new program
  auto make = c.join(args);
  auto d = make->expect(MsgType::kDoCheckpoint).as<proto::DoCheckpointPayload>();
  BOOST_TEST(d.generation == 1u);
  BOOST_TEST(a->quiet_for(100));
  make->barrier(Barrier::kThreadsSuspended);
  a->expect_release(Barrier::kThreadsSuspended);
  make->expect_release(Barrier::kThreadsSuspended);
}

// A program that was exec'd but never joins (static, setuid) holds a round
// only for a bounded time.
BOOST_AUTO_TEST_CASE(exec_whose_program_never_joins_holds_the_round_briefly) {
  Coord c;
  auto a = c.process("a");
  auto sh = c.process("sh");
  auto t = c.tool();
  sh->send(MsgType::kExecPending);
  usleep(50 * 1000);
  sh->close_now();
  BOOST_TEST(reply_status(t->command('c')) == 0);
  a->expect(MsgType::kDoCheckpoint);
  a->barrier(Barrier::kThreadsSuspended);
  BOOST_TEST(a->quiet_for(2000));
  a->expect_release(Barrier::kThreadsSuspended, 15000);
}

// A process that makes no progress (SIGSTOP) is given up on after the round
// timeout: told to finish alone, and the round fails without being stuck.
BOOST_AUTO_TEST_CASE(stuck_process_is_aborted_after_the_round_timeout) {
  Coord c({"--round-timeout", "1"});
  auto a = c.process("a");
  auto stopped = c.process("stopped");
  auto t = c.tool();
  t->send_command('b');
  a->expect(MsgType::kDoCheckpoint);
  stopped->expect(MsgType::kDoCheckpoint);
  a->barrier(Barrier::kThreadsSuspended);
  stopped->barrier(Barrier::kThreadsSuspended);
  a->expect_release(Barrier::kThreadsSuspended);
  stopped->expect_release(Barrier::kThreadsSuspended);
  a->barrier(Barrier::kSuspended);
  // stopped never sends SUSPENDED.
  stopped->expect(MsgType::kAbortRound, 4000);
  a->expect_release(Barrier::kSuspended);
  for (size_t i = 2; i < std::size(kCkptSequence); ++i) {
    Barrier x = kCkptSequence[i];
    a->barrier(x, x == Barrier::kCkptWritten ? "/nonexistent/a.dmtcp" : "");
    a->expect_release(x);
  }
  auto r = t->expect(MsgType::kCommandReply);
  BOOST_TEST(reply_status(r) != 0);
  BOOST_TEST(contains(reply_text(r), "stopped[1000]@" + local_hostname() +
                                         " did not reach SUSPENDED"),
             reply_text(r));
  BOOST_TEST(access(c.script_path().c_str(), F_OK) != 0);
  // Until it is back no round starts (it would be missing from it)...
  r = t->command('c');
  BOOST_TEST(reply_status(r) != 0);
  BOOST_TEST(contains(reply_text(r), "has not come back"));
  // ...its late barrier is ignored, and once back it takes part again.
  stopped->barrier(Barrier::kSuspended);
  stopped->send(MsgType::kRoundLeft);
  usleep(100 * 1000);
  BOOST_TEST(reply_status(t->command('c')) == 0);
  a->expect(MsgType::kDoCheckpoint);
  stopped->expect(MsgType::kDoCheckpoint);
}

// Back-to-back blocking checkpoints: one that comes during a round waits
// for it and then has its own.
BOOST_AUTO_TEST_CASE(blocking_checkpoint_during_a_round_is_queued) {
  Coord c;
  auto a = c.process("a");
  auto t1 = c.tool();
  auto t2 = c.tool();
  t1->send_command('b');
  a->expect(MsgType::kDoCheckpoint);
  t2->send_command('b');
  BOOST_TEST(t2->quiet_for(100));
  solo_round(*a, c.ckpt_dir() + "/ckpt_a_a-uniq_gen1.dmtcp");
  BOOST_TEST(reply_status(t1->expect(MsgType::kCommandReply)) == 0);
  auto d = a->expect(MsgType::kDoCheckpoint).as<proto::DoCheckpointPayload>();
  BOOST_TEST(d.generation == 2u);
  BOOST_TEST(t2->quiet_for(100));
  solo_round(*a, c.ckpt_dir() + "/ckpt_a_a-uniq_gen2.dmtcp");
  auto r = t2->expect(MsgType::kCommandReply);
  BOOST_TEST(reply_status(r) == 0);
  BOOST_TEST(contains(reply_text(r), "generation 2 done"));
}

// A process whose coordinator died joins a new one, which takes its
// computation over at its generation; a process of another computation is
// refused then.
BOOST_AUTO_TEST_CASE(new_coordinator_takes_a_computation_over) {
  Coord c;
  HelloArgs args;
  args.prog = "survivor";
  args.computation_id = "host-1-abc-1";
  args.generation = 7;
  args.interval = 30;
  auto p = c.join(args);
  auto t = c.tool();
  std::string s = reply_text(t->command('s'));
  BOOST_TEST(contains(s, "Computation: host-1-abc-1"), s);
  BOOST_TEST(contains(s, "Generation: 7"), s);
  BOOST_TEST(contains(s, "Checkpoint interval: 30 s"), s);
  HelloArgs other;
  other.prog = "other";
  other.computation_id = "host-2-def-1";
  auto o = c.join_expect_reject(other);
  BOOST_TEST(contains(o, "runs another computation"), o);
  BOOST_TEST(reply_status(t->command('c')) == 0);
  auto d = p->expect(MsgType::kDoCheckpoint).as<proto::DoCheckpointPayload>();
  BOOST_TEST(d.generation == 8u);
}

// The id names a file (dmtcp_restart_script_<id>.sh): one that could
// climb out of the checkpoint directory is refused, whoever sends it.
BOOST_AUTO_TEST_CASE(computation_id_that_is_a_path_is_refused) {
  Coord c;
  for (Role role : {Role::kProcess, Role::kRestarting}) {
    for (const char* id : {"../../home/victim/x", "a/b", ".hidden", "x y"}) {
      HelloArgs a;
      a.role = role;
      a.computation_id = id;
      a.expected_peers = 1;
      auto why = c.join_expect_reject(a);
      BOOST_TEST(contains(why, "malformed computation id"), id << ": " << why);
    }
  }
  HelloArgs ok;
  ok.computation_id = "host.example-12_3-abc-1";
  auto p = c.join(ok);
}

// The DMTCP 3.x key-value database (kKvdb): named databases, set/get and
// the int64 updates, upstream's result codes, from tools and processes,
// kept across rounds.
BOOST_AUTO_TEST_CASE(kvdb_requests) {
  using proto::KvdbOp;
  using proto::KvdbResult;
  constexpr auto ok = static_cast<int32_t>(KvdbResult::kSuccess);
  Coord c;
  auto a = c.process("proc_a");
  auto t = c.tool();
  std::string v;
  BOOST_TEST(t->kvdb(KvdbOp::kGet, "db", "k", "", &v) ==
             static_cast<int32_t>(KvdbResult::kDbNotFound));
  BOOST_TEST(a->kvdb(KvdbOp::kSet, "db", "k", "v1", &v) == ok);
  BOOST_TEST(v == "0");  // the value before: none
  BOOST_TEST(t->kvdb(KvdbOp::kGet, "db", "k", "", &v) == ok);
  BOOST_TEST(v == "v1");
  BOOST_TEST(t->kvdb(KvdbOp::kSet, "db", "k", "v2", &v) == ok);
  BOOST_TEST(v == "v1");
  BOOST_TEST(t->kvdb(KvdbOp::kGet, "db", "other", "", &v) ==
             static_cast<int32_t>(KvdbResult::kKeyNotFound));
  BOOST_TEST(t->kvdb(KvdbOp::kGet, "db2", "k", "", &v) ==
             static_cast<int32_t>(KvdbResult::kDbNotFound));
  // int64 updates: a missing key takes the value as given.
  BOOST_TEST(a->kvdb(KvdbOp::kIncrBy, "db", "n", "5", &v) == ok);
  BOOST_TEST(v == "0");
  BOOST_TEST(t->kvdb(KvdbOp::kIncrBy, "db", "n", "-7", &v) == ok);
  BOOST_TEST(v == "5");
  BOOST_TEST(t->kvdb(KvdbOp::kGet, "db", "n", "", &v) == ok);
  BOOST_TEST(v == "-2");
  BOOST_TEST(t->kvdb(KvdbOp::kMax, "db", "n", "3") == ok);
  BOOST_TEST(t->kvdb(KvdbOp::kMin, "db", "n", "10", &v) == ok);
  BOOST_TEST(v == "3");
  BOOST_TEST(t->kvdb(KvdbOp::kOr, "db", "n", "12") == ok);    // 3|12 = 15
  BOOST_TEST(t->kvdb(KvdbOp::kAnd, "db", "n", "6") == ok);    // 15&6 = 6
  BOOST_TEST(t->kvdb(KvdbOp::kXor, "db", "n", "5", &v) == ok);  // 6^5 = 3
  BOOST_TEST(v == "6");
  BOOST_TEST(t->kvdb(KvdbOp::kGet, "db", "n", "", &v) == ok);
  BOOST_TEST(v == "3");
  // Invalid requests, as upstream: empty id or key, an update without a
  // value, an unknown op; too long is EMSGSIZE.
  constexpr auto bad = static_cast<int32_t>(KvdbResult::kInvalidRequest);
  BOOST_TEST(t->kvdb(KvdbOp::kSet, "", "k", "v") == bad);
  BOOST_TEST(t->kvdb(KvdbOp::kSet, "db", "", "v") == bad);
  BOOST_TEST(t->kvdb(KvdbOp::kSet, "db", "k", "") == bad);
  BOOST_TEST(t->kvdb(static_cast<KvdbOp>(99), "db", "k", "v") == bad);
  BOOST_TEST(t->kvdb(KvdbOp::kSet, std::string(proto::kMaxKvdbIdLen + 1, 'i'),
                     "k", "v") == -EMSGSIZE);
  std::string big(proto::kMaxValueLen, 'x');
  BOOST_TEST(t->kvdb(KvdbOp::kSet, "db", "big", big) == ok);
  BOOST_TEST(t->kvdb(KvdbOp::kGet, "db", "big", "", &v) == ok);
  BOOST_TEST(v == big);
  // Rounds do not empty it (unlike publish/subscribe).
  BOOST_TEST(reply_status(t->command('c')) == 0);
  a->expect(MsgType::kDoCheckpoint);
  solo_round(*a, c.ckpt_dir() + "/ckpt_proc_a.dmtcp");
  BOOST_TEST(t->kvdb(KvdbOp::kGet, "db", "k", "", &v) == ok);
  BOOST_TEST(v == "v2");
  // Lengths that do not add up are a protocol error.
  proto::KvdbRequestHeader rq{0, 2, 1, 0};
  t->send(MsgType::kKvdb, &rq, sizeof rq, "db", 2);
  t->expect(MsgType::kReject);
  BOOST_TEST(t->closed_within(2000));
}

// dmtcp_global_barrier: a named barrier inside a step waits for every
// participant, then the step goes on.
BOOST_AUTO_TEST_CASE(named_barriers_inside_a_step) {
  Coord c;
  auto a = c.process("proc_a");
  auto b = c.process("proc_b");
  auto x = c.process("proc_x");
  auto t = c.tool();
  // Not in a round: refused.
  auto outside = c.process("outside");
  outside->named_barrier("early");
  outside->expect(MsgType::kReject);
  BOOST_TEST(outside->closed_within(2000));
  BOOST_TEST(reply_status(t->command('c')) == 0);
  for (Peer* p : {a.get(), b.get(), x.get()}) {
    p->expect(MsgType::kDoCheckpoint);
  }
  a->named_barrier("plugin:one");
  BOOST_TEST(a->quiet_for(150));
  b->named_barrier("plugin:one");
  BOOST_TEST(b->quiet_for(150));  // x has not come yet
  x->named_barrier("plugin:one");
  for (Peer* p : {a.get(), b.get(), x.get()}) {
    p->expect_named_release("plugin:one");
  }
  // The same name again in the same step is a new barrier.
  a->named_barrier("plugin:one");
  b->named_barrier("plugin:one");
  BOOST_TEST(a->quiet_for(150));
  // A participant that leaves no longer holds the others back (its
  // leaving fails the round).
  x->close_now();
  a->expect_named_release("plugin:one");
  b->expect_named_release("plugin:one");
  // The step barriers go on after it.
  a->barrier(Barrier::kThreadsSuspended);
  b->barrier(Barrier::kThreadsSuspended);
  a->expect_release(Barrier::kThreadsSuspended);
  b->expect_release(Barrier::kThreadsSuspended);
  // A named barrier while waiting at a step barrier is a protocol error.
  a->barrier(Barrier::kSuspended);
  a->named_barrier("late");
  a->expect(MsgType::kReject);
  BOOST_TEST(a->closed_within(2000));
}
