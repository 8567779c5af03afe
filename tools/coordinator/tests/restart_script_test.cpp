// The restart script's host handling (docs/distributed.md), run for real
// with stand-ins: dmtcp_restart, dmtcp_command and dmtcp_coordinator are
// small scripts that log their arguments, the remote shell
// (DMTCP_REMOTE_SHELL) logs the host and runs the command as "there".
// Checks which images restart where: this host's here, the others through
// the remote shell; --hostfile and DMTCP_RESTART_HOSTS (OLD=NEW and
// positional entries) moving them; bad maps refused with one line; the
// key directory passed on; a coordinator started, bound to the
// coordinator address, when none answers.
#define BOOST_TEST_MODULE restart_script
#include "restart_script.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace co = dmtcp::coordinator;

namespace {

std::string this_host() {
  utsname u{};
  uname(&u);
  return u.nodename;
}

void write_exec(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  chmod(path.c_str(), 0755);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Dir {
  std::string path;
  Dir() {
    char tmpl[] = "/tmp/restart-script-test-XXXXXX";
    path = mkdtemp(tmpl);
    mkdir((path + "/bin").c_str(), 0755);
    // Each stand-in logs one line: who ran, where ("there" is set by the
    // remote shell), with which arguments.
    write_exec(path + "/bin/dmtcp_restart",
               "#!/bin/bash\necho \"restart@${THERE:-here} $*\" >> " + path +
                   "/log\n");
    write_exec(path + "/bin/dmtcp_command",
               "#!/bin/bash\necho \"command $*\" >> " + path + "/log\n[ -e " +
                   path + "/coord_up ]\n");
    write_exec(path + "/bin/dmtcp_coordinator",
               "#!/bin/bash\necho \"coordinator $*\" >> " + path + "/log\n");
    write_exec(path + "/rsh",
               "#!/bin/bash\nh=$1; shift\necho \"rsh $h\" >> " + path +
                   "/log\nexport THERE=$h\nexec bash -c \"$*\"\n");
  }
  ~Dir() {
    std::string cmd = "rm -rf '" + path + "'";
    (void)system(cmd.c_str());
  }
};

struct Result {
  int status;
  std::string log;
  std::string err;
};

// Writes the script for images on hosts (this host, hostB, hostC), runs it
// with `env` and `args`, returns its exit status, the stand-ins' log and
// its stderr.
Result run(const Dir& d, const std::string& env, const std::string& args,
           const std::string& coord_host = "10.9.8.7") {
  co::ScriptInfo info;
  info.dir = d.path;
  info.restart_tool = d.path + "/bin/dmtcp_restart";
  info.local_host = this_host();
  info.coord_host = coord_host;
  info.coord_port = 7779;
  info.computation_id = "test-1";
  info.generation = 3;
  info.images = {{this_host(), "/ckpt/here_1.dmtcp"},
                 {"hostB", "/ckpt/b_1.dmtcp"},
                 {"hostB", "/ckpt/b 2.dmtcp"},
                 {"hostC", "/ckpt/c_1.dmtcp"}};
  std::string err;
  std::string script = co::write_restart_script(info, &err);
  BOOST_REQUIRE_MESSAGE(!script.empty(), err);
  unlink((d.path + "/log").c_str());
  std::string cmd =
      "env -u DMTCP_RESTART_HOSTS -u DMTCP_TMPDIR -u "
      "DMTCP_COORD_HOST -u DMTCP_COORD_PORT -u DMTCP_COORD_BIND "
      "DMTCP_REMOTE_SHELL='" +
      d.path + "/rsh' " + env + " '" + script + "' " + args + " 2> '" + d.path +
      "/err'";
  int st = system(cmd.c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(d.path + "/log"),
          slurp(d.path + "/err")};
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

size_t lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) {
    n += c == '\n' ? 1 : 0;
  }
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_host_restarts_on_its_host) {
  Dir d;
  std::ofstream(d.path + "/coord_up").close();
  Result r = run(d, "", "");
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(has(r.log,
                 "restart@here --coord-host 10.9.8.7 --coord-port "
                 "7779 /ckpt/here_1.dmtcp\n"));
  BOOST_TEST(has(r.log, "rsh hostB\n"));
  BOOST_TEST(has(r.log,
                 "restart@hostB --coord-host 10.9.8.7 --coord-port "
                 "7779 /ckpt/b_1.dmtcp /ckpt/b 2.dmtcp\n"));
  BOOST_TEST(has(r.log,
                 "restart@hostC --coord-host 10.9.8.7 --coord-port "
                 "7779 /ckpt/c_1.dmtcp\n"));
  BOOST_TEST(!has(r.log, "coordinator "));  // one answered
}

BOOST_AUTO_TEST_CASE(env_map_swaps_hosts) {
  Dir d;
  std::ofstream(d.path + "/coord_up").close();
  Result r = run(d, "DMTCP_RESTART_HOSTS='hostB=hostC, hostC=hostB'", "");
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(has(r.log,
                 "restart@hostC --coord-host 10.9.8.7 --coord-port "
                 "7779 /ckpt/b_1.dmtcp /ckpt/b 2.dmtcp\n"));
  BOOST_TEST(has(r.log,
                 "restart@hostB --coord-host 10.9.8.7 --coord-port "
                 "7779 /ckpt/c_1.dmtcp\n"));
  BOOST_TEST(has(r.log, "restart@here"));
}

BOOST_AUTO_TEST_CASE(hostfile_positional_entries_follow_ckpt_hosts) {
  Dir d;
  std::ofstream(d.path + "/coord_up").close();
  // Positional entries take the checkpoint's hosts in ckpt_hosts order:
  // sorted (std::map), whatever this host is called.
  std::ofstream(d.path + "/hosts") << "# comment\nnew1 # first\n\nnew2,new3\n";
  Result r = run(d, "", "--hostfile '" + d.path + "/hosts'");
  BOOST_TEST(r.status == 0, r.err);
  std::set<std::string> order = {this_host(), "hostB", "hostC"};
  std::map<std::string, std::string> to;
  int i = 1;
  std::string listed = "ckpt_hosts=(";
  for (const std::string& h : order) {
    to[h] = "new" + std::to_string(i++);
    listed += (i > 2 ? " '" : "'") + h + "'";
  }
  BOOST_TEST(has(slurp(d.path + "/dmtcp_restart_script.sh"), listed + ")"));
  BOOST_TEST(has(r.log, "restart@" + to["hostB"] +
                            " --coord-host 10.9.8.7 --coord-port 7779 "
                            "/ckpt/b_1.dmtcp /ckpt/b 2.dmtcp"),
             r.log);
  BOOST_TEST(has(r.log, "restart@" + to["hostC"] +
                            " --coord-host 10.9.8.7 --coord-port 7779 "
                            "/ckpt/c_1.dmtcp"),
             r.log);
  BOOST_TEST(has(r.log, "restart@" + to[this_host()] +
                            " --coord-host 10.9.8.7 --coord-port 7779 "
                            "/ckpt/here_1.dmtcp"),
             r.log);
  BOOST_TEST(!has(r.log, "restart@here"));  // this host's went away
}

BOOST_AUTO_TEST_CASE(bad_maps_are_one_line) {
  Dir d;
  std::ofstream(d.path + "/coord_up").close();
  Result r = run(d, "DMTCP_RESTART_HOSTS=nosuch=hostB", "");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(lines(r.err) == 1u, r.err);
  BOOST_TEST(has(r.err, "'nosuch' is not a host of this checkpoint"), r.err);
  BOOST_TEST(r.log.empty(), r.log);

  r = run(d, "DMTCP_RESTART_HOSTS='a b c d'", "");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(lines(r.err) == 1u, r.err);
  BOOST_TEST(has(r.err, "names more hosts than the checkpoint has"), r.err);
  BOOST_TEST(r.log.empty(), r.log);

  r = run(d, "", "--hostfile '" + d.path + "/missing'");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(lines(r.err) == 1u, r.err);
  BOOST_TEST(has(r.err, "cannot read the hostfile"), r.err);

  r = run(d, "", "--hostfile");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(has(r.err, "option --hostfile needs a value"), r.err);
}

BOOST_AUTO_TEST_CASE(key_directory_goes_to_remote_hosts) {
  Dir d;
  std::ofstream(d.path + "/coord_up").close();
  Result r = run(d, "DMTCP_TMPDIR='/shared/dmtcp keys'", "");
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(has(r.log,
                 "restart@hostC --coord-host 10.9.8.7 --coord-port "
                 "7779 --tmpdir /shared/dmtcp keys /ckpt/c_1.dmtcp\n"),
             r.log);
}

BOOST_AUTO_TEST_CASE(coordinator_started_when_none_answers) {
  Dir d;  // no coord_up: dmtcp_command fails
  Result r = run(d, "", "");
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(has(r.log,
                 "coordinator --daemon --exit-on-last -q --bind "
                 "10.9.8.7 -p 7779\n"),
             r.log);
  // Before any remote host is asked to join it.
  BOOST_TEST(r.log.find("coordinator ") < r.log.find("rsh "));

  r = run(d, "", "", "headnode");  // a name: every address
  BOOST_TEST(has(r.log, "--bind 0.0.0.0 -p 7779"), r.log);
  r = run(d, "DMTCP_COORD_BIND=10.1.1.1", "", "headnode");
  BOOST_TEST(has(r.log, "--bind 10.1.1.1 -p 7779"), r.log);
}

BOOST_AUTO_TEST_CASE(one_local_host_execs_dmtcp_restart) {
  Dir d;
  // Every image moved here, coordinator on loopback: dmtcp_restart alone
  // (it starts a coordinator itself), no remote shell, no coordinator.
  Result r = run(d,
                 "DMTCP_RESTART_HOSTS='hostB=" + this_host() +
                     " hostC=" + this_host() + "'",
                 "", "127.0.0.1");
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(!has(r.log, "rsh "), r.log);
  BOOST_TEST(!has(r.log, "coordinator "), r.log);
  BOOST_TEST(!has(r.log, "command "), r.log);
  BOOST_TEST(lines(r.log) == 1u, r.log);
  BOOST_TEST(has(r.log, "/ckpt/here_1.dmtcp"));
  BOOST_TEST(has(r.log, "/ckpt/c_1.dmtcp"));
}
