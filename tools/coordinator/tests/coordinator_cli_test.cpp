// The coordinator as a user meets it: where it listens (--bind), the
// commands typed on its stdin, its daemon log, and the quit request of a
// dmtcp_launch that started it for nothing.
#define BOOST_TEST_MODULE coordinator_cli
#include <netinet/in.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>

#include "coord_harness.h"

using namespace coord_test;

namespace {

bool can_connect(const char* host, int port) {
  int fd = proto::connect_to(host, port, 2000);
  if (fd < 0) {
    return false;
  }
  close(fd);
  return true;
}

// A tool connection to host:port that said hello; the 's' text.
std::string status_via(const char* host, int port, const std::string& secret) {
  Peer p(port, host);
  HelloArgs a;
  a.role = Role::kTool;
  proto::HelloPayload h = make_hello(secret, a);
  p.send(MsgType::kHello, &h, sizeof h);
  p.expect(MsgType::kWelcome);
  return reply_text(p.command('s'));
}

// Starts `dmtcp_coordinator --daemon` with env prefix; returns its port.
int start_daemon(const Coord& c, const std::string& env = "", int want = 0) {
  std::string pf = c.dir() + "/daemon.port";
  unlink(pf.c_str());
  std::string cmd = env + " " + DMTCP_COORDINATOR_EXE + " --daemon -q -p " +
                    std::to_string(want) + " --port-file '" + pf + "'";
  BOOST_REQUIRE(system(cmd.c_str()) == 0);
  int port = atoi(read_file(pf).c_str());
  BOOST_REQUIRE(port > 0);
  return port;
}

bool gone_within(const std::string& path, int ms) {
  for (int i = 0; i < ms / 10 && exists(path); ++i) {
    usleep(10 * 1000);
  }
  return !exists(path);
}

std::string daemon_log(int port) {
  return proto::key_dir_path() + "/coordinator-" + std::to_string(port) +
         ".log";
}

}  // namespace

BOOST_AUTO_TEST_CASE(listens_on_loopback_unless_bound_elsewhere) {
  {
    Coord c;
    BOOST_TEST(can_connect("127.0.0.1", c.port()));
    BOOST_TEST(!can_connect("127.0.0.2", c.port()));
    BOOST_TEST(contains(status_via("127.0.0.1", c.port(), c.secret()),
                        "Coordinator: 127.0.0.1:" + std::to_string(c.port())));
  }
  for (bool by_env : {false, true}) {
    BOOST_TEST_CONTEXT("by_env " << by_env) {
      Coord c(by_env ? std::vector<std::string>{}
                     : std::vector<std::string>{"--bind", "127.0.0.2"},
              by_env ? std::vector<std::string>{"DMTCP_COORD_BIND=127.0.0.2"}
                     : std::vector<std::string>{});
      BOOST_TEST(!can_connect("127.0.0.1", c.port()));
      BOOST_TEST(
          contains(status_via("127.0.0.2", c.port(), c.secret()),
                   "Coordinator: 127.0.0.2:" + std::to_string(c.port())));
    }
  }
  {
    // --bind beats the environment; 0.0.0.0 is every interface.
    Coord c({"--bind", "0.0.0.0"}, {"DMTCP_COORD_BIND=127.0.0.2"});
    BOOST_TEST(can_connect("127.0.0.1", c.port()));
    BOOST_TEST(can_connect("127.0.0.2", c.port()));
    // Clients are told the host name, not 0.0.0.0.
    BOOST_TEST(contains(status_via("127.0.0.1", c.port(), c.secret()),
                        "Coordinator: " + local_hostname() + ":"));

    std::string err = c.dir() + "/bind.err";
    std::string cmd = std::string(DMTCP_COORDINATOR_EXE) +
                      " -p 0 --bind no-such-host.invalid 2>'" + err + "'";
    int rc = system(cmd.c_str());
    BOOST_TEST(WEXITSTATUS(rc) == 2);
    std::string msg = read_file(err);
    BOOST_TEST(contains(msg, "cannot listen on no-such-host.invalid"));
    BOOST_TEST(std::count(msg.begin(), msg.end(), '\n') == 1);
  }
}

BOOST_AUTO_TEST_CASE(interactive_stdin_commands) {
  Coord c({}, {}, /*interactive=*/true);
  c.type("?");
  std::string help = c.output_until("? : this help");
  for (const char* cmd : {"l :", "s :", "c :", "i :", "k :", "q :"}) {
    BOOST_TEST(contains(help, cmd), cmd);
  }
  c.type("s");
  BOOST_TEST(contains(c.output_until("RUNNING=no"), "NUM_PEERS=0"));
  c.type("l");
  c.output_until("no processes");
  auto a = c.process("a");
  c.type("  l");  // leading blanks are fine
  BOOST_TEST(contains(c.output_until("RUNNING\n"), ", a[1000]@"));
  c.type("i");
  c.output_until("Checkpoint interval: disabled");
  c.type("i 5");
  c.output_until("checkpoint interval set to 5 s");
  c.type("i");
  c.output_until("Checkpoint interval: 5 s");
  c.type("i five");
  c.output_until("error: usage: i [SECONDS]");
  c.type("i 0");
  c.output_until("periodic checkpoints disabled");
  // Each change reaches the processes, which keep it for a restart.
  for (uint32_t want : {5u, 0u}) {
    BOOST_TEST(a->expect(MsgType::kSetInterval).as<uint32_t>() == want);
  }
  c.type("c");
  c.output_until("checkpoint of generation 1 started: 1 processes");
  a->expect(MsgType::kDoCheckpoint);
  c.type("c");
  c.output_until("error: checkpoint already in progress");
  for (Barrier x : kCkptSequence) {
    a->barrier(x, x == Barrier::kCkptWritten ? c.ckpt_dir() + "/a.dmtcp" : "");
    a->expect_release(x);
  }
  c.type("s");
  c.output_until("Generation: 1");
  c.type("z");
  c.output_until("error: unknown command 'z' (? for help)");
  c.type("k");
  c.output_until("killed 1 processes");
  a->expect(MsgType::kKill);
  a->close_now();
  c.type("q");
  c.output_until("coordinator exiting");
  BOOST_TEST(c.wait_exit(5000) == 0);
}

BOOST_AUTO_TEST_CASE(daemon_log_removed_after_clean_exit_kept_after_errors) {
  Coord c;  // provides DMTCP_TMPDIR
  std::string out;
  int port = start_daemon(c);
  std::string log = daemon_log(port);
  // The daemon opens it right after the fork its caller waited for.
  for (int i = 0; i < 300 && !exists(log); ++i) {
    usleep(10 * 1000);
  }
  BOOST_TEST(exists(log));
  BOOST_TEST(run_command({"-p", std::to_string(port), "-q"}, &out) == 0);
  BOOST_TEST(gone_within(proto::key_file_path(port), 3000));
  BOOST_TEST(gone_within(log, 3000));

  // A restart that fails (its second process never comes) is an error:
  // the log stays and says so.
  port = start_daemon(c, "DMTCP_RESTART_TIMEOUT=1");
  log = daemon_log(port);
  char secret[proto::kSecretHexLen + 1];
  BOOST_REQUIRE(proto::read_secret(port, secret));
  {
    Peer p(port);
    HelloArgs r;
    r.role = Role::kRestarting;
    r.generation = 1;
    r.expected_peers = 2;
    r.computation_id = "h-1-1";
    proto::HelloPayload h = make_hello(secret, r);
    p.send(MsgType::kHello, &h, sizeof h);
    p.expect(MsgType::kWelcome);
    p.expect(MsgType::kKill, 4000);
  }
  BOOST_TEST(run_command({"-p", std::to_string(port), "-q"}, &out) == 0);
  BOOST_TEST(gone_within(proto::key_file_path(port), 3000));
  usleep(100 * 1000);
  BOOST_TEST(exists(log));
  std::string text = read_file(log);
  BOOST_TEST(contains(text, "restart of generation 1 failed"));
  BOOST_TEST(contains(text, "this log stays: " + log));
}

// A port nobody listens on now (the kernel's pick, released).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  BOOST_REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

BOOST_AUTO_TEST_CASE(daemon_log_never_written_through_a_planted_name) {
  Coord c;
  std::string victim = c.dir() + "/victim";
  write_file(victim, "precious\n");
  for (bool as_link : {true, false}) {
    BOOST_TEST_CONTEXT("symlink " << as_link) {
      int want = free_port();
      std::string log = daemon_log(want);
      unlink(log.c_str());
      if (as_link) {
        BOOST_REQUIRE(symlink(victim.c_str(), log.c_str()) == 0);
      } else {  // a hard link: same inode, so an O_TRUNC open would clear it
        BOOST_REQUIRE(link(victim.c_str(), log.c_str()) == 0);
      }
      int port = start_daemon(c, "", want);
      BOOST_REQUIRE(port == want);
      struct stat st {};
      for (int i = 0; i < 300; ++i) {  // until the daemon replaced the name
        if (lstat(log.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_nlink == 1) {
          break;
        }
        usleep(10 * 1000);
      }
      BOOST_TEST(S_ISREG(st.st_mode));
      BOOST_TEST(st.st_nlink == 1u);
      BOOST_TEST((st.st_mode & 07777) == 0600u);
      BOOST_TEST(read_file(victim) == "precious\n");
      std::string out;
      BOOST_TEST(run_command({"-p", std::to_string(port), "-q"}, &out) == 0);
      BOOST_TEST(gone_within(proto::key_file_path(port), 3000));
    }
  }
}

BOOST_AUTO_TEST_CASE(quit_request_of_the_launcher_only_when_unused) {
  Coord c;
  auto a = c.process("a");
  auto t = c.tool();
  // Someone's process joined meanwhile: the coordinator stays.
  auto r = t->command('Q');
  BOOST_TEST(reply_status(r) == EBUSY);
  BOOST_TEST(contains(reply_text(r), "1 processes joined"));
  usleep(200 * 1000);
  BOOST_TEST(c.alive());
  a->close_now();
  for (int i = 0; i < 300 && t->status().num_processes != 0; ++i) {
    usleep(10 * 1000);
  }
  BOOST_TEST(reply_status(t->command('Q')) == 0);
  BOOST_TEST(c.wait_exit(5000) == 0);
  // Not a command a user can type on dmtcp_command.
  std::string out;
  BOOST_TEST(run_command({"-p", std::to_string(c.port()), "Q"}, &out) == 1);
}
