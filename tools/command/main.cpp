// dmtcp_command: asks the coordinator to checkpoint, list, kill, ...
// Exit status: 0 success, 1 usage error, 2 coordinator error (unreachable,
// refused us, or the command failed).
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/parse.h"
#include "protocol/protocol.h"
#include "tools/common/json.h"
#include "tools/common/tool_support.h"

namespace dmtcp::command {
namespace {

namespace proto = dmtcp::proto;

constexpr int kConnectTimeoutMs = 5000;
constexpr int kReplyTimeoutS = 30;

const char kUsage[] =
    "Usage: dmtcp_command [-h|--coord-host H] [-p|--coord-port N] [--json] "
    "COMMAND\n"
    "  -s, --status          print the coordinator's status\n"
    "  -l, --list            list the processes of the computation\n"
    "  -c, --checkpoint      checkpoint every process\n"
    "  -bc, --bcheckpoint    checkpoint and wait until the images are written\n"
    "  -kc, --kcheckpoint    checkpoint, wait, then kill every process\n"
    "  -i, --interval N      checkpoint every N seconds (0 = never)\n"
    "  -k, --kill            kill every process\n"
    "  -q, --quit            kill every process and stop the coordinator\n"
    "  --json                print one JSON object (schema_version 1) as\n"
    "                        upstream DMTCP does; nothing on stderr\n"
    "  --help, --version     this text, or the version\n"
    "Host and port default to $DMTCP_COORD_HOST (localhost) and\n"
    "$DMTCP_COORD_PORT (7779).  Exit status: 0 success, 1 usage error,\n"
    "2 coordinator error (with --json, also an unknown command).\n";

// Upstream's command names (DMT_...), by our letter.
const char* command_name(char letter) {
  switch (letter) {
    case 's':
      return "DMT_STATUS";
    case 'l':
      return "DMT_LIST";
    case 'c':
      return "DMT_CHECKPOINT";
    case 'b':
      return "DMT_BLOCKING_CKPT";
    case 'K':
      return "DMT_KILL_AFTER_CKPT";
    case 'i':
      return "DMT_UPDATE_CKPT_INTERVAL";
    case 'k':
      return "DMT_KILL";
    case 'q':
      return "DMT_QUIT";
    case 'h':
      return "DMT_HELP";
    default:
      return "DMT_INVALID_COORDINATOR_COMMAND";
  }
}

struct Args {
  std::string host = "localhost";
  int port = proto::kDefaultPort;
  char command = 0;  // 0: none yet; 'h' help, 'V' version
  int32_t arg = 0;
  bool quiet = false;
  bool json = false;
};

// Prints the JSON result (upstream's fields, plus "error" with our one-line
// reason when the command failed) and exits.
[[noreturn]] void json_exit(const Args& a, const char* status, int code,
                            const std::string& error = "",
                            tools::JsonObject extra = {}) {
  tools::JsonObject j;
  j.add("schema_version", 1)
      .add("command", command_name(a.command))
      .add("command_status", status)
      .add("coordinator_host", a.host)
      .add("coordinator_port", a.port);
  std::string out = j.str();
  std::string more = extra.str();
  if (more.size() > 2) {  // not "{}": splice its fields in
    out.pop_back();
    out += "," + more.substr(1);
  }
  if (!error.empty()) {
    out.pop_back();
    out +=
        "," + tools::json_quote("error") + ":" + tools::json_quote(error) + "}";
  }
  printf("%s\n", out.c_str());
  exit(code);
}

Args g_args;  // for the error paths below (--json needs the command)

// One line (SPEC section 3): the problem, and where the usage text is.
// With --json: an unknown-command object instead, exit 2, as upstream.
[[noreturn]] void usage_error(const std::string& msg) {
  if (g_args.json) {
    g_args.command = 0;
    json_exit(g_args, "DMT_COORD_INVALID_COMMAND", 2, msg);
  }
  fprintf(stderr, "dmtcp_command: %s (see dmtcp_command --help)\n",
          msg.c_str());
  exit(1);
}

// The coordinator could not be reached or refused us.
[[noreturn]] void not_found(const std::string& msg) {
  if (g_args.json) {
    json_exit(g_args, "DMT_COORD_NOT_FOUND", 2, msg);
  }
  fprintf(stderr, "dmtcp_command: %s\n", msg.c_str());
  exit(2);
}

// The coordinator answered the command with an error.
[[noreturn]] void coord_error(const std::string& msg) {
  if (g_args.json) {
    bool ckpt =
        g_args.command == 'c' || g_args.command == 'b' || g_args.command == 'K';
    json_exit(g_args,
              ckpt ? "DMT_COORD_NOT_RUNNING" : "DMT_COORD_INVALID_COMMAND", 2,
              msg);
  }
  fprintf(stderr, "dmtcp_command: %s\n", msg.c_str());
  exit(2);
}

bool parse_int(const char* s, long lo, long hi, long* out) {
  return parse_long(s, lo, hi, out);
}

// A command word with its dashes stripped, as upstream reads them ("-c",
// "--checkpoint", "c" and even "---c" are one command).  0 if unknown.
char command_letter(std::string w) {
  w.erase(0, w.find_first_not_of('-'));
  struct Spelling {
    const char* word;
    char letter;
  };
  static const Spelling kSpellings[] = {
      {"s", 's'},          {"status", 's'},      {"l", 'l'},
      {"t", 'l'},          {"list", 'l'},        {"c", 'c'},
      {"checkpoint", 'c'}, {"bc", 'b'},          {"bcheckpoint", 'b'},
      {"kc", 'K'},         {"ck", 'K'},          {"K", 'K'},
      {"Kc", 'K'},         {"kcheckpoint", 'K'}, {"i", 'i'},
      {"interval", 'i'},   {"k", 'k'},           {"kill", 'k'},
      {"q", 'q'},          {"quit", 'q'},        {"h", 'h'},
      {"help", 'h'},       {"?", 'h'},
  };
  for (const Spelling& s : kSpellings) {
    if (w == s.word) {
      return s.letter;
    }
  }
  return 0;
}

void set_port(Args* a, const std::string& v, const char* what) {
  long port = 0;
  if (!parse_int(v.c_str(), 1, 65535, &port)) {
    usage_error(std::string("invalid ") + what + " '" + v + "'");
  }
  a->port = static_cast<int>(port);
}

void set_interval(Args* a, const std::string& v) {
  long secs = 0;
  if (!parse_int(v.c_str(), 0, INT32_MAX, &secs)) {
    usage_error("invalid interval '" + v + "'");
  }
  a->arg = static_cast<int32_t>(secs);
}

Args& parse_args(int argc, char** argv) {
  Args& a = g_args;
  for (int i = 1; i < argc; ++i) {
    a.json = a.json || std::string(argv[i]) == "--json";
  }
  const char* host = getenv("DMTCP_COORD_HOST");
  if (host == nullptr || *host == '\0') {
    host = getenv("DMTCP_HOST");  // upstream's older name
  }
  if (host != nullptr && *host != '\0') {
    a.host = host;
  }
  const char* port = getenv("DMTCP_COORD_PORT");
  const char* port_var = "DMTCP_COORD_PORT";
  if (port == nullptr || *port == '\0') {
    port = getenv("DMTCP_PORT");
    port_var = "DMTCP_PORT";
  }
  if (port != nullptr && *port != '\0') {
    set_port(&a, port, port_var);
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool last = i + 1 == argc;
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
    if (arg == "--json") {
      continue;
    }
    if (arg == "--quiet") {
      a.quiet = true;
      continue;
    }
    if (arg == "--version" && last) {
      a.command = 'V';
      continue;
    }
    // "-h" is the host before a value, help at the end (upstream's rule).
    if ((arg == "-h" && !last) || arg == "--coord-host" || arg == "--host") {
      a.host = take_value();
      continue;
    }
    if (arg == "-p" || arg == "--coord-port" || arg == "--port") {
      set_port(&a, take_value(), "port");
      continue;
    }
    if (arg.size() > 2 && arg.rfind("-p", 0) == 0 && isdigit(arg[2])) {
      set_port(&a, arg.substr(2), "port");  // -p7779
      continue;
    }
    char letter = command_letter(arg);
    std::string word =
        arg.substr(arg.find_first_not_of('-') == std::string::npos
                       ? arg.size()
                       : arg.find_first_not_of('-'));
    std::string compact_interval;
    if (letter == 0 && word.size() > 1 && word[0] == 'i' &&
        isdigit(static_cast<unsigned char>(word[1]))) {
      letter = 'i';  // -i5, i5
      compact_interval = word.substr(1);
    }
    if (letter == 0) {
      usage_error((arg[0] == '-' ? "unknown option '" : "unknown command '") +
                  std::string(argv[i]) + "'");
    }
    if (letter == 'h') {
      a.command = 'h';
      return a;  // help wins, whatever follows
    }
    if (a.command != 0) {
      usage_error("only one command at a time");
    }
    a.command = letter;
    if (letter == 'i') {
      set_interval(&a,
                   compact_interval.empty() ? take_value() : compact_interval);
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
    not_found(tools::unreachable(a.host, a.port, errno));
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
    not_found("cannot read the key of the coordinator at " + where + " from " +
              proto::key_file_path(a.port) + ": " + strerror(errno));
  }
  set_recv_timeout(fd, kReplyTimeoutS);
  if (proto::send_msg(fd, proto::MsgType::kHello, &hello, sizeof hello) != 0) {
    not_found("cannot talk to the coordinator at " + where + ": " +
              strerror(errno));
  }
  std::vector<char> buf;
  proto::MsgHeader h = receive(fd, &buf, "our hello", where);
  if (h.type == static_cast<uint16_t>(proto::MsgType::kReject)) {
    not_found("the coordinator at " + where +
              " refused us: " + std::string(buf.data(), buf.size()));
  }
  if (h.type != static_cast<uint16_t>(proto::MsgType::kWelcome)) {
    not_found("unexpected answer from the coordinator at " + where);
  }

  // --json: status is upstream's numbers, and a checkpoint reports how many
  // processes it started with: ask for the status first.
  proto::StatusPayload st{};
  bool want_status = a.json && (a.command == 's' || a.command == 'c' ||
                                a.command == 'b' || a.command == 'K');
  if (want_status) {
    if (proto::send_msg(fd, proto::MsgType::kStatusRequest, nullptr, 0) != 0) {
      coord_error("cannot talk to the coordinator at " + where + ": " +
                  strerror(errno));
    }
    h = receive(fd, &buf, "the status request", where);
    if (h.type != static_cast<uint16_t>(proto::MsgType::kStatusReply) ||
        buf.size() < sizeof st) {
      coord_error("unexpected answer from the coordinator at " + where);
    }
    memcpy(&st, buf.data(), sizeof st);
    if (a.command == 's') {
      close(fd);
      // Upstream: running means processes, all of them running.
      json_exit(
          a, "DMT_COORD_SUCCESS", 0, "",
          tools::JsonObject()
              .add("num_peers", static_cast<int64_t>(st.num_processes))
              .add("running", st.num_processes > 0 && st.is_running != 0)
              .add("checkpoint_interval", static_cast<int64_t>(st.interval)));
    }
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
  if (a.json) {
    tools::JsonObject extra;
    if (a.command == 'l') {
      extra.add("workers", text);
    } else if (a.command == 'c' || a.command == 'b' || a.command == 'K') {
      extra.add("num_peers", static_cast<int64_t>(st.num_processes));
    } else if (a.command == 'i') {
      extra.add("checkpoint_interval", static_cast<int64_t>(a.arg));
    }
    json_exit(a, "DMT_COORD_SUCCESS", 0, "", extra);
  }
  if (a.command == 'l' && text.empty()) {
    text = "no processes";
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
  dmtcp::command::Args& a = dmtcp::command::parse_args(argc, argv);
  if (a.command == 'h' || a.command == 'V') {
    if (a.json) {
      if (a.command == 'h') {
        dmtcp::command::json_exit(a, "DMT_COORD_SUCCESS", 0);
      }
      std::string version = "dmtcp_command (DMTCP) " DMTCP_CPP_VERSION;
      printf("%s\n", dmtcp::tools::JsonObject()
                         .add("schema_version", 1)
                         .add("command", "DMT_VERSION")
                         .add("command_status", "DMT_COORD_SUCCESS")
                         .add("version", version)
                         .str()
                         .c_str());
      return 0;
    }
    if (a.command == 'h') {
      fputs(dmtcp::command::kUsage, stdout);
    } else {
      dmtcp::tools::print_version("dmtcp_command");
    }
    return 0;
  }
  return dmtcp::command::run(a);
}
