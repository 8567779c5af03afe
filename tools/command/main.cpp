// dmtcp_command: asks the coordinator to checkpoint, list, kill, ...
// Exit status: 0 success, 1 usage error, 2 coordinator error (unreachable,
// refused us, or the command failed).
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/parse.h"
#include "protocol/protocol.h"
#include "tools/common/tool_support.h"

namespace dmtcp::command {
namespace {

namespace proto = dmtcp::proto;

constexpr int kConnectTimeoutMs = 5000;
constexpr int kReplyTimeoutS = 30;

const char kUsage[] =
    "usage: dmtcp_command [-h|--coord-host H] [-p|--coord-port N] COMMAND\n"
    "  -s, --status          print the coordinator's status\n"
    "  -l, --list            list the processes of the computation\n"
    "  -c, --checkpoint      checkpoint every process\n"
    "  -bc, --bcheckpoint    checkpoint and wait until the images are written\n"
    "  -kc, --kcheckpoint    checkpoint, wait, then kill every process\n"
    "  -i, --interval N      checkpoint every N seconds (0 = never)\n"
    "  -k, --kill            kill every process\n"
    "  -q, --quit            kill every process and stop the coordinator\n"
    "Host and port default to $DMTCP_COORD_HOST (127.0.0.1) and\n"
    "$DMTCP_COORD_PORT (7779).\n";

// One line (SPEC section 3): the problem, and where the usage text is.
[[noreturn]] void usage_error(const std::string& msg) {
  fprintf(stderr, "dmtcp_command: %s (see dmtcp_command --help)\n",
          msg.c_str());
  exit(1);
}

[[noreturn]] void coord_error(const std::string& msg) {
  fprintf(stderr, "dmtcp_command: %s\n", msg.c_str());
  exit(2);
}

bool parse_int(const char* s, long lo, long hi, long* out) {
  return parse_long(s, lo, hi, out);
}

struct Args {
  std::string host = "127.0.0.1";
  int port = proto::kDefaultPort;
  char command = 0;
  int32_t arg = 0;
  bool quiet = false;
};

// Both spellings upstream accepts: "-c"/"--checkpoint" and the bare "c".
char command_letter(const std::string& a) {
  struct Spelling {
    const char* dash;
    const char* word;
    const char* bare;
    char letter;
  };
  static const Spelling kSpellings[] = {
      {"-s", "--status", "s", 's'},        {"-l", "--list", "l", 'l'},
      {"-c", "--checkpoint", "c", 'c'},    {"-bc", "--bcheckpoint", "bc", 'b'},
      {"-kc", "--kcheckpoint", "kc", 'K'}, {"-i", "--interval", "i", 'i'},
      {"-k", "--kill", "k", 'k'},          {"-q", "--quit", "q", 'q'},
  };
  for (const Spelling& s : kSpellings) {
    if (a == s.dash || a == s.word || a == s.bare) {
      return s.letter;
    }
  }
  return 0;
}

Args parse_args(int argc, char** argv) {
  Args a;
  if (const char* e = getenv("DMTCP_COORD_HOST"); e != nullptr && *e) {
    a.host = e;
  }
  if (const char* e = getenv("DMTCP_COORD_PORT"); e != nullptr && *e) {
    long v = 0;
    if (!parse_int(e, 1, 65535, &v)) {
      usage_error(std::string("invalid DMTCP_COORD_PORT '") + e + "'");
    }
    a.port = static_cast<int>(v);
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('=');
        arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto take_value = [&]() -> std::string {
      if (has_value) {
        return value;
      }
      if (i + 1 >= argc) {
        usage_error("option '" + arg + "' needs a value");
      }
      return argv[++i];
    };
    if (arg == "--help") {
      fputs(kUsage, stdout);
      exit(0);
    }
    if (arg == "-h" || arg == "--coord-host" || arg == "--host") {
      a.host = take_value();
      continue;
    }
    if (arg == "-p" || arg == "--coord-port" || arg == "--port") {
      std::string v = take_value();
      long port = 0;
      if (!parse_int(v.c_str(), 1, 65535, &port)) {
        usage_error("invalid port '" + v + "'");
      }
      a.port = static_cast<int>(port);
      continue;
    }
    if (arg == "--quiet") {
      a.quiet = true;
      continue;
    }
    char letter = command_letter(arg);
    if (letter == 0) {
      usage_error((arg[0] == '-' ? "unknown option '" : "unknown command '") +
                  std::string(argv[i]) + "'");
    }
    if (a.command != 0) {
      usage_error("only one command at a time");
    }
    a.command = letter;
    if (letter == 'i') {
      std::string v = take_value();
      long secs = 0;
      if (!parse_int(v.c_str(), 0, INT32_MAX, &secs)) {
        usage_error("invalid interval '" + v + "'");
      }
      a.arg = static_cast<int32_t>(secs);
    } else if (has_value) {
      usage_error("command '" + arg + "' takes no value");
    }
  }
  if (a.command == 0) {
    usage_error("no command given");
  }
  return a;
}

void set_recv_timeout(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// Receives one message; a coordinator that stops answering or hangs up is a
// coordinator error, reported with what we were waiting for.
proto::MsgHeader receive(int fd, std::vector<char>* buf, const char* what,
                         const std::string& where) {
  proto::MsgHeader h{};
  buf->resize(proto::kMaxPayload);
  if (proto::recv_msg(fd, &h, buf->data(), buf->size()) != 0) {
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK) {
      coord_error("coordinator at " + where + " did not answer " + what);
    }
    coord_error("lost the coordinator at " + where + " while waiting for " +
                what + ": " + strerror(e));
  }
  buf->resize(h.payload_len);
  return h;
}

int run(const Args& a) {
  std::string where = a.host + ":" + std::to_string(a.port);
  int fd = proto::connect_to(a.host.c_str(), a.port, kConnectTimeoutMs);
  if (fd < 0) {
    coord_error(tools::unreachable(a.host, a.port, errno));
  }
  proto::HelloPayload hello{};
  hello.role = static_cast<uint32_t>(proto::Role::kTool);
  hello.pid = getpid();
  hello.ppid = getppid();
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  proto::copy_field(hello.hostname, sizeof hello.hostname, host);
  proto::copy_field(hello.progname, sizeof hello.progname, "dmtcp_command");
  if (!proto::read_secret(a.port, hello.secret)) {
    coord_error("cannot read the key of the coordinator at " + where +
                " from " + proto::key_file_path(a.port) + ": " +
                strerror(errno));
  }
  set_recv_timeout(fd, kReplyTimeoutS);
  if (proto::send_msg(fd, proto::MsgType::kHello, &hello, sizeof hello) != 0) {
    coord_error("cannot talk to the coordinator at " + where + ": " +
                strerror(errno));
  }
  std::vector<char> buf;
  proto::MsgHeader h = receive(fd, &buf, "our hello", where);
  if (h.type == static_cast<uint16_t>(proto::MsgType::kReject)) {
    coord_error("the coordinator at " + where +
                " refused us: " + std::string(buf.data(), buf.size()));
  }
  if (h.type != static_cast<uint16_t>(proto::MsgType::kWelcome)) {
    coord_error("unexpected answer from the coordinator at " + where);
  }

  proto::CommandPayload cmd{};
  cmd.command = a.command;
  cmd.arg = a.arg;
  // A blocking checkpoint lasts as long as writing the images takes; the
  // coordinator hanging up still ends the wait.
  bool blocking = a.command == 'b' || a.command == 'K';
  set_recv_timeout(fd, blocking ? 0 : kReplyTimeoutS);
  if (proto::send_msg(fd, proto::MsgType::kCommand, &cmd, sizeof cmd) != 0) {
    coord_error("cannot talk to the coordinator at " + where + ": " +
                strerror(errno));
  }
  h = receive(fd, &buf, "the command", where);
  close(fd);
  if (h.type == static_cast<uint16_t>(proto::MsgType::kReject)) {
    coord_error("the coordinator at " + where +
                " refused the command: " + std::string(buf.data(), buf.size()));
  }
  proto::CommandReplyPayload r{};
  if (h.type != static_cast<uint16_t>(proto::MsgType::kCommandReply) ||
      buf.size() < sizeof r) {
    coord_error("unexpected answer from the coordinator at " + where);
  }
  memcpy(&r, buf.data(), sizeof r);
  size_t text_len = buf.size() - sizeof r;
  if (r.text_len < text_len) {
    text_len = r.text_len;
  }
  std::string text(buf.data() + sizeof r, text_len);
  if (r.status != 0) {
    coord_error(text.empty() ? "command failed" : text);
  }
  if (!a.quiet && !text.empty()) {
    if (text.back() != '\n') {
      text += '\n';
    }
    fputs(text.c_str(), stdout);
  }
  return 0;
}

}  // namespace
}  // namespace dmtcp::command

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  dmtcp::command::Args a = dmtcp::command::parse_args(argc, argv);
  return dmtcp::command::run(a);
}
