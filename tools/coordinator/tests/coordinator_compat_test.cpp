// Upstream DMTCP's coordinator options and dmtcp_command --json, as
// scripts written for current DMTCP use them (docs/compatibility.md):
// --timeout, --stale-timeout, --status-file, --write-kv-data,
// --kill-after-ckpt, --coord-logfile, and the JSON objects with their exit
// codes.
#define BOOST_TEST_MODULE coordinator_compat
#include <boost/test/unit_test.hpp>
#include <regex>

#include "coord_harness.h"

using namespace coord_test;

namespace {

// dmtcp_command's stdout and stderr apart, and its exit code.
struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

Result command(const std::vector<std::string>& args,
               const std::string& env = "") {
  char tmpl[] = "/tmp/compat_cmd.XXXXXX";
  BOOST_REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  std::string cmd = env + " " + DMTCP_COMMAND_EXE;
  for (const std::string& a : args) {
    cmd += " '" + a + "'";
  }
  cmd += " >" + dir + "/out 2>" + dir + "/err";
  int st = system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_file(dir + "/out");
  r.err = read_file(dir + "/err");
  std::string rm = "rm -rf '" + dir + "'";
  BOOST_REQUIRE(system(rm.c_str()) == 0);
  return r;
}

// A field of a flat JSON object as its raw text ("DMT_STATUS" with its
// quotes, 0, true); "" when absent.  Our output has no nesting, no spaces.
std::string field(const std::string& json, const std::string& name) {
  std::smatch m;
  std::regex re("[{,]\"" + name + "\":(\"(?:[^\"\\\\]|\\\\.)*\"|[^,}]*)");
  return std::regex_search(json, m, re) ? m[1].str() : "";
}

bool one_object(const std::string& out) {
  return !out.empty() && out.front() == '{' && out.back() == '\n' &&
         out.find('\n') == out.size() - 1 && out[out.size() - 2] == '}';
}

}  // namespace

BOOST_AUTO_TEST_CASE(json_status_list_interval_kill_quit) {
  Coord c;
  std::string port = std::to_string(c.port());
  Result r = command({"--json", "--coord-port", port, "--status"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(r.err == "");
  BOOST_TEST(one_object(r.out), r.out);
  BOOST_TEST(field(r.out, "schema_version") == "1");
  BOOST_TEST(field(r.out, "command") == "\"DMT_STATUS\"");
  BOOST_TEST(field(r.out, "command_status") == "\"DMT_COORD_SUCCESS\"");
  BOOST_TEST(field(r.out, "coordinator_host") == "\"localhost\"");
  BOOST_TEST(field(r.out, "coordinator_port") == port);
  BOOST_TEST(field(r.out, "num_peers") == "0");
  // No processes: not running (upstream's meaning), in text form too.
  BOOST_TEST(field(r.out, "running") == "false");
  BOOST_TEST(field(r.out, "checkpoint_interval") == "0");
  BOOST_TEST(contains(command({"-p", port, "-s"}).out, "RUNNING=no"));

  // (Before any process joins: they would hear of each change.)
  for (auto [arg, secs] :
       {std::pair<const char*, const char*>{"-i7", "7"}, {"i9", "9"}}) {
    r = command({"--json", "-p", port, arg});
    BOOST_TEST(r.code == 0, arg);
    BOOST_TEST(field(r.out, "command") == "\"DMT_UPDATE_CKPT_INTERVAL\"");
    BOOST_TEST(field(r.out, "checkpoint_interval") == secs);
  }
  r = command({"--json", "-p", port, "--interval", "0"});
  BOOST_TEST(field(r.out, "checkpoint_interval") == "0");

  auto a = c.process("a");
  auto b = c.process("b");
  r = command({"--json", "-p", port, "s"});
  BOOST_TEST(field(r.out, "num_peers") == "2");
  BOOST_TEST(field(r.out, "running") == "true");
  BOOST_TEST(contains(command({"-p", port, "-s"}).out, "RUNNING=yes"));

  r = command({"--json", "-p", port, "--list"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(field(r.out, "command") == "\"DMT_LIST\"");
  BOOST_TEST(contains(field(r.out, "workers"), "a["));
  BOOST_TEST(contains(field(r.out, "workers"), "\\n"));  // two lines

  // A checkpoint reports how many processes it started with; a second one
  // while it runs is refused as upstream refuses it (not running).
  r = command({"--json", "-p", port, "--checkpoint"});
  BOOST_TEST(r.code == 0, r.out);
  BOOST_TEST(field(r.out, "command") == "\"DMT_CHECKPOINT\"");
  BOOST_TEST(field(r.out, "num_peers") == "2");
  a->expect(MsgType::kDoCheckpoint);
  b->expect(MsgType::kDoCheckpoint);
  r = command({"--json", "-p", port, "status"});
  BOOST_TEST(field(r.out, "running") == "false");
  r = command({"--json", "-p", port, "-c"});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.err == "");
  BOOST_TEST(field(r.out, "command_status") == "\"DMT_COORD_NOT_RUNNING\"");

  r = command({"--json", "-p", port, "-k"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(field(r.out, "command") == "\"DMT_KILL\"");
  a->expect(MsgType::kKill);
  b->expect(MsgType::kKill);

  r = command({"--json", "-p", port, "q"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(field(r.out, "command") == "\"DMT_QUIT\"");
  BOOST_TEST(c.wait_exit(5000) == 0);
}

BOOST_AUTO_TEST_CASE(json_errors_usage_help_version) {
  // Nobody listens on port 1: not found, exit 2, nothing on stderr.
  Result r = command({"--json", "--coord-port", "1", "--status"});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.err == "");
  BOOST_TEST(one_object(r.out), r.out);
  BOOST_TEST(field(r.out, "command_status") == "\"DMT_COORD_NOT_FOUND\"");
  BOOST_TEST(field(r.out, "coordinator_port") == "1");
  BOOST_TEST(!field(r.out, "error").empty());
  BOOST_TEST(field(r.out, "num_peers") == "");
  // The environment names the coordinator as the options do.
  r = command({"--json", "-l"},
              "DMTCP_COORD_HOST=127.0.0.1 DMTCP_COORD_PORT=1");
  BOOST_TEST(field(r.out, "coordinator_host") == "\"127.0.0.1\"");
  BOOST_TEST(field(r.out, "command") == "\"DMT_LIST\"");

  // A host with a quote and a newline stays valid JSON.
  r = command({"--json", "--coord-host", "bad\"host\nname", "-p", "1", "s"});
  BOOST_TEST(field(r.out, "coordinator_host") == "\"bad\\\"host\\nname\"");
  BOOST_TEST(one_object(r.out), r.out);

  // Unknown command or missing value: upstream's invalid-command object,
  // exit 2 with --json; a usage line and exit 1 without.
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"--not-a-command"},
        {"--interval"},
        {"-i", "x"}}) {
    bad.insert(bad.begin(), "--json");
    r = command(bad);
    BOOST_TEST(r.code == 2, bad[1]);
    BOOST_TEST(r.err == "");
    BOOST_TEST(field(r.out, "command") ==
               "\"DMT_INVALID_COORDINATOR_COMMAND\"");
    BOOST_TEST(field(r.out, "command_status") ==
               "\"DMT_COORD_INVALID_COMMAND\"");
    bad.erase(bad.begin());
    r = command(bad);
    BOOST_TEST(r.code == 1, bad[0]);
    BOOST_TEST(r.out == "");
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
  }

  for (const char* help : {"--help", "-h", "h", "?"}) {
    r = command({"--json", help});
    BOOST_TEST(r.code == 0, help);
    BOOST_TEST(field(r.out, "command") == "\"DMT_HELP\"");
    BOOST_TEST(field(r.out, "command_status") == "\"DMT_COORD_SUCCESS\"");
  }
  r = command({"--json", "--version"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(field(r.out, "command") == "\"DMT_VERSION\"");
  BOOST_TEST(contains(field(r.out, "version"), "(DMTCP) "));
  r = command({"--version"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(std::regex_search(
      r.out, std::regex(R"(dmtcp_command \(DMTCP\) \d+\.\d+)")));
  // "-h" before a value is still the host.
  r = command({"--json", "-h", "127.0.0.1", "-p", "1", "-s"});
  BOOST_TEST(field(r.out, "coordinator_host") == "\"127.0.0.1\"");
}

BOOST_AUTO_TEST_CASE(checkpoint_aliases) {
  Coord c;
  std::string port = std::to_string(c.port());
  // With nobody to checkpoint every spelling is refused, but named right.
  for (auto [arg, name] : std::vector<std::pair<std::string, std::string>>{
           {"--bcheckpoint", "DMT_BLOCKING_CKPT"},
           {"-bc", "DMT_BLOCKING_CKPT"},
           {"--kcheckpoint", "DMT_KILL_AFTER_CKPT"},
           {"-kc", "DMT_KILL_AFTER_CKPT"},
           {"-ck", "DMT_KILL_AFTER_CKPT"},
           {"-K", "DMT_KILL_AFTER_CKPT"},
           {"Kc", "DMT_KILL_AFTER_CKPT"},
           {"c", "DMT_CHECKPOINT"},
           {"t", "DMT_LIST"}}) {
    Result r = command({"--json", "-p", port, arg});
    BOOST_TEST(field(r.out, "command") == "\"" + name + "\"", arg);
    BOOST_TEST(r.code == (name == "DMT_LIST" ? 0 : 2), arg);
  }
}

BOOST_AUTO_TEST_CASE(timeout_exits_even_with_processes) {
  Coord c({"--timeout", "1"});
  auto a = c.process("a");
  int64_t t0 = now_ms();
  BOOST_TEST(c.wait_exit(5000) == 1);
  BOOST_TEST(now_ms() - t0 >= 500);
  BOOST_TEST(contains(c.log(), "--timeout"));
}

BOOST_AUTO_TEST_CASE(stale_timeout) {
  {
    // Idle for a second: exit 1.  The key file goes with it.
    Coord c({"--stale-timeout", "1"});
    BOOST_TEST(c.wait_exit(5000) == 1);
    BOOST_TEST(!exists(proto::key_file_path(c.port())));
  }
  {
    // A process keeps it alive; once it leaves, the clock starts again.
    Coord c({"--stale-timeout", "1"});
    auto a = c.process("a");
    BOOST_TEST(c.wait_exit(2000) == -1);
    a->close_now();
    BOOST_TEST(c.wait_exit(5000) == 1);
  }
  {
    // -1: never.
    Coord c({"--stale-timeout", "-1"});
    BOOST_TEST(c.wait_exit(2000) == -1);
    BOOST_TEST(c.alive());
  }
}

BOOST_AUTO_TEST_CASE(bad_values_are_one_line_errors) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--timeout", "soon"},
        {"--timeout", "-3"},
        {"--stale-timeout", "1x"},
        {"--coord-logfile", ""},
        {"--status-file"}}) {
    std::string cmd = std::string(DMTCP_COORDINATOR_EXE) + " -p 0";
    for (const std::string& a : args) {
      cmd += " '" + a + "'";
    }
    cmd += " 2>&1 </dev/null";
    FILE* f = popen(cmd.c_str(), "r");
    BOOST_REQUIRE(f != nullptr);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    int st = pclose(f);
    std::string out(buf, n);
    BOOST_TEST(WEXITSTATUS(st) == 1, cmd);
    BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 1, out);
    BOOST_TEST(contains(out, args[0]), out);
  }
}

BOOST_AUTO_TEST_CASE(status_file) {
  char tmpl[] = "/tmp/compat_status.XXXXXX";
  BOOST_REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string file = std::string(tmpl) + "/coordinator.status";
  {
    Coord c({"--status-file", file, "-i", "5"});
    // Written just after the port file that Coord waits for: a sanitized
    // coordinator on a slow machine had not yet written it when read.
    std::string s = read_file_holding(file, "Checkpoint Interval: ");
    BOOST_TEST(contains(s, "Coordinator started: "));
    BOOST_TEST(contains(s, "Status...\n"));
    BOOST_TEST(contains(s, "Port: " + std::to_string(c.port()) + "\n"));
    BOOST_TEST(contains(s, "Checkpoint Interval: 5\n"));
    BOOST_TEST(!contains(s, "Coordinator exited"));
    std::string out;
    run_command({"-p", std::to_string(c.port()), "-i", "0"}, &out);
    BOOST_TEST(contains(read_file(file), "Checkpoint Interval: disabled"));
    run_command({"-p", std::to_string(c.port()), "-q"}, &out);
    BOOST_TEST(c.wait_exit(5000) == 0);
    BOOST_TEST(contains(read_file(file), "Coordinator exited: "));
  }
  std::string rm = std::string("rm -rf '") + tmpl + "'";
  BOOST_REQUIRE(system(rm.c_str()) == 0);
}

BOOST_AUTO_TEST_CASE(kill_after_ckpt_kills_after_every_checkpoint) {
  Coord c({"--kill-after-ckpt"});
  for (int round = 0; round < 2; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      auto a = c.process("a");
      auto t = c.tool();
      BOOST_TEST(reply_status(t->command('c')) == 0);
      a->expect(MsgType::kDoCheckpoint);
      for (Barrier x : kCkptSequence) {
        a->barrier(x, x == Barrier::kCkptWritten ? "/tmp/x.dmtcp" : "");
        a->expect_release(x);
        if (x == Barrier::kCkptWritten) {
          break;
        }
      }
      a->expect(MsgType::kKill);
      a->close_now();
    }
  }
}

BOOST_AUTO_TEST_CASE(write_kv_data_and_log_file) {
  for (bool by_env : {false, true}) {
    BOOST_TEST_CONTEXT("by_env " << by_env) {
      char tmpl[] = "/tmp/compat_kv.XXXXXX";
      BOOST_REQUIRE(mkdtemp(tmpl) != nullptr);
      std::string dir = tmpl;
      std::string log = dir + "/coord.log";
      std::vector<std::string> args = {"-q"};
      std::vector<std::string> env;
      if (by_env) {
        env = {"DMTCP_COORD_WRITE_KV_DATA=1",
               "DMTCP_COORD_LOG_FILENAME=" + log};
      } else {
        args.insert(args.end(), {"--write-kv-data", "--coord-logfile", log});
      }
      // The snapshot goes to the working directory: run the coordinator in
      // dir through a shell.
      setenv("DMTCP_TMPDIR", (dir + "/tmp").c_str(), 1);
      std::string cmd = "cd '" + dir + "' && ";
      for (const std::string& e : env) {
        cmd += e + " ";
      }
      cmd += std::string(DMTCP_COORDINATOR_EXE) + " -p 0 --port-file '" + dir +
             "/port'";
      for (const std::string& a : args) {
        cmd += " '" + a + "'";
      }
      cmd += " </dev/null & echo $! >'" + dir + "/pid'";
      BOOST_REQUIRE(system(cmd.c_str()) == 0);
      int port = 0;
      for (int i = 0; i < 500 && port == 0; ++i) {
        port = atoi(read_file(dir + "/port").c_str());
        usleep(10000);
      }
      BOOST_REQUIRE(port > 0);
      HelloArgs h;
      h.prog = "kv";
      char secret[proto::kSecretHexLen + 1];
      BOOST_REQUIRE(proto::read_secret(port, secret));
      auto p = std::make_unique<Peer>(port);
      proto::HelloPayload hello = make_hello(secret, h);
      p->send(MsgType::kHello, &hello, sizeof hello);
      p->expect(MsgType::kWelcome);
      BOOST_TEST(p->publish("db-key", "va\"lue") == 1);
      std::string out;
      BOOST_TEST(run_command({"-p", std::to_string(port), "-q"}, &out) == 0);
      // (The last line: the snapshot is written before it.)
      std::string text = read_file_holding(log, "DMTCP coordinator exiting");
      BOOST_TEST(contains(text, "DMTCP coordinator exiting"), text);
      // A log file asked for by name gets the notes -q hides.
      BOOST_TEST(contains(text, "listening on"), text);
      std::string ls =
          "ls '" + dir + "' | grep '^dmtcp_coordinator_db-.*json$'";
      FILE* f = popen(ls.c_str(), "r");
      char name[512] = "";
      BOOST_REQUIRE(fgets(name, sizeof name, f) != nullptr);
      pclose(f);
      std::string snap = std::string(name, strcspn(name, "\n"));
      std::string json = read_file(dir + "/" + snap);
      BOOST_TEST(contains(json, "\"db-key\":\"va\\\"lue\""), json);
      std::string rm = "rm -rf '" + dir + "'";
      BOOST_REQUIRE(system(rm.c_str()) == 0);
    }
  }
}
