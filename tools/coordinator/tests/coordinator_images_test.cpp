// Which processes the coordinator admits (one unique pid, one process), and
// what it cleans up after a process that died writing its image.
#define BOOST_TEST_MODULE coordinator_images
#include <boost/test/unit_test.hpp>

#include "coord_harness.h"

using namespace coord_test;

namespace {

// Says hello with a; returns the kReject text (fails if welcomed).
std::string refused(Coord& c, const HelloArgs& a) {
  Peer p(c.port());
  proto::HelloPayload h = make_hello(c.secret(), a);
  p.send(MsgType::kHello, &h, sizeof h);
  Peer::Msg m = p.expect(MsgType::kReject);
  BOOST_TEST(p.closed_within(2000));
  return m.tail(0);
}

void touch(const std::string& path) {
  std::ofstream(path) << "half an image";
}

}  // namespace

BOOST_AUTO_TEST_CASE(same_image_restarted_twice_is_refused) {
  Coord c;
  HelloArgs r;
  r.role = Role::kRestarting;
  r.generation = 3;
  r.expected_peers = 1;
  r.computation_id = "somehost-1-abc";
  r.prog = "app";
  r.unique_pid = "u-1";
  auto first = c.join(r);
  for (Barrier x : kRestartSequence) {
    first->barrier(x);
    first->expect_release(x);
  }
  // dmtcp_restart img, a second time, into the running computation.
  std::string why = refused(c, r);
  BOOST_TEST(contains(why, "u-1"));
  BOOST_TEST(contains(why, "already connected"));
  auto t = c.tool();
  BOOST_TEST(t->status().num_processes == 1u);
  BOOST_TEST(t->status().is_running == 1u);
  // The computation goes on: its next checkpoint has one process.
  BOOST_TEST(reply_status(t->command('c')) == 0);
  auto d =
      first->expect(MsgType::kDoCheckpoint).as<proto::DoCheckpointPayload>();
  BOOST_TEST(d.num_peers == 1u);
}

BOOST_AUTO_TEST_CASE(same_image_twice_in_one_restart_is_refused) {
  Coord c;
  HelloArgs r;
  r.role = Role::kRestarting;
  r.generation = 1;
  r.expected_peers = 2;
  r.computation_id = "somehost-2-abc";
  r.prog = "a";
  r.unique_pid = "u-a";
  auto a = c.join(r);
  // Image a again instead of image b: not the missing peer.
  BOOST_TEST(contains(refused(c, r), "already connected"));
  r.prog = "b";
  r.unique_pid = "u-b";
  auto b = c.join(r);
  for (Barrier x : kRestartSequence) {
    a->barrier(x);
    b->barrier(x);
    a->expect_release(x);
    b->expect_release(x);
  }
  BOOST_TEST(c.tool()->status().num_processes == 2u);
}

BOOST_AUTO_TEST_CASE(process_ids_are_unique_but_exec_may_rejoin) {
  Coord c;
  HelloArgs p;
  p.prog = "p";
  p.unique_pid = "u-p";
  auto first = c.join(p);
  BOOST_TEST(contains(refused(c, p), "already connected"));
  // exec: the old connection closes and the same process says hello again
  // at once, possibly before the coordinator read the close.
  for (int i = 0; i < 20; ++i) {
    first->close_now();
    first = c.join(p);
  }
  BOOST_TEST(c.tool()->status().num_processes == 1u);
}

BOOST_AUTO_TEST_CASE(temp_image_of_a_process_killed_mid_checkpoint_is_removed) {
  Coord c;
  auto a = c.process("a");
  auto b = c.process("b");
  auto t = c.tool();
  // Round 1: a writes its image outside --ckptdir (its own directory).
  std::string own = c.dir() + "/own";
  BOOST_REQUIRE(mkdir(own.c_str(), 0700) == 0);
  std::string a_img = own + "/ckpt_a_a-uniq_gen1.dmtcp";
  std::string b_img = c.ckpt_dir() + "/ckpt_b_b-uniq_gen1.dmtcp";
  BOOST_TEST(reply_status(t->command('c')) == 0);
  a->expect(MsgType::kDoCheckpoint);
  b->expect(MsgType::kDoCheckpoint);
  for (Barrier x : kCkptSequence) {
    a->barrier(x, x == Barrier::kCkptWritten ? a_img : "");
    b->barrier(x, x == Barrier::kCkptWritten ? b_img : "");
    a->expect_release(x);
    b->expect_release(x);
  }
  // Round 2: a is killed while writing; its temp files are where it wrote
  // before and (had it followed --ckptdir) in the checkpoint directory.
  // (Temporaries are <image>.tmp.<16 hex digits>; a name of another
  // shape is not ours and stays.)
  std::string a_tmp = own + "/ckpt_a_a-uniq_gen2.dmtcp.tmp.0123456789abcdef";
  std::string a_tmp2 =
      c.ckpt_dir() + "/ckpt_a_a-uniq_gen2.dmtcp.tmp.fedcba9876543210";
  std::string a_other = c.ckpt_dir() + "/ckpt_a_a-uniq_gen2.dmtcp.tmp.x";
  std::string b_img2 = c.ckpt_dir() + "/ckpt_b_b-uniq_gen2.dmtcp";
  // b is alive: never touched
  std::string b_tmp = b_img2 + ".tmp.0123456789abcdef";
  BOOST_TEST(reply_status(t->command('c')) == 0);
  a->expect(MsgType::kDoCheckpoint);
  b->expect(MsgType::kDoCheckpoint);
  for (Barrier x : kCkptSequence) {
    if (x == Barrier::kCkptWritten) {
      break;
    }
    a->barrier(x);
    b->barrier(x);
    a->expect_release(x);
    b->expect_release(x);
  }
  touch(a_tmp);
  touch(a_tmp2);
  touch(a_other);
  touch(b_tmp);
  a->close_now();
  usleep(100 * 1000);
  BOOST_TEST(exists(a_tmp));  // the round is not over yet
  for (Barrier x : kCkptSequence) {
    if (x < Barrier::kCkptWritten) {
      continue;
    }
    b->barrier(x, x == Barrier::kCkptWritten ? b_img2 : "");
    b->expect_release(x);
  }
  // The last release goes out just before the round ends: give the
  // coordinator a moment.
  for (int i = 0; i < 300 && (exists(a_tmp) || exists(a_tmp2)); ++i) {
    usleep(10 * 1000);
  }
  BOOST_TEST(!exists(a_tmp));
  BOOST_TEST(!exists(a_tmp2));
  BOOST_TEST(exists(b_tmp));
  BOOST_TEST(exists(a_other));
  BOOST_TEST(contains(c.log(), "left by a process that died writing it"));
}

// Names planted in the checkpoint directory (a link at the script's name,
// a link at the temporary name the old scheme used) never get the restart
// script written through them: the victim files stay as they were and the
// script is a fresh file of ours.
BOOST_AUTO_TEST_CASE(planted_links_never_receive_the_restart_script) {
  Coord c;
  std::string victim = c.dir() + "/victim";
  touch(victim);
  std::string script = c.ckpt_dir() + "/dmtcp_restart_script.sh";
  BOOST_REQUIRE(symlink(victim.c_str(), script.c_str()) == 0);
  std::string guess = script + ".tmp." + std::to_string(c.pid());
  BOOST_REQUIRE(symlink(victim.c_str(), guess.c_str()) == 0);
  auto a = c.process("a");
  auto t = c.tool();
  BOOST_TEST(reply_status(t->command('c')) == 0);
  a->expect(MsgType::kDoCheckpoint);
  std::string img = c.ckpt_dir() + "/ckpt_a_a-uniq_gen1.dmtcp";
  touch(img);
  for (Barrier x : kCkptSequence) {
    a->barrier(x, x == Barrier::kCkptWritten ? img : "");
    a->expect_release(x);
  }
  for (int i = 0; i < 300; ++i) {
    struct stat st {};
    if (lstat(script.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      break;
    }
    usleep(10 * 1000);
  }
  struct stat st {};
  BOOST_REQUIRE(lstat(script.c_str(), &st) == 0);
  BOOST_TEST(S_ISREG(st.st_mode));
  BOOST_TEST(st.st_uid == getuid());
  BOOST_TEST((st.st_mode & 0777) == 0755u);
  std::ifstream in(victim);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  BOOST_TEST(text == "half an image");
}
