// dmtcp_command: asks the coordinator to checkpoint, list, kill, ...
// Exit status: 0 success, 1 usage error, 2 coordinator error (unreachable,
// refused us, or the command failed).
#include <poll.h>
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
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/parse.h"
#include "protocol/protocol.h"
#include "tools/common/tool_support.h"

namespace dmtcp::command {
namespace {

namespace proto = dmtcp::proto;
using json = nlohmann::ordered_json;

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
    "  --stats               the last round's steps (suspend, drain, write,\n"
    "                        resume, refill...) per process, slowest first\n"
    "  --json                print one JSON object (schema_version 1) as\n"
    "                        upstream DMTCP does, with the computation id,\n"
    "                        generation and processes for -s and -l;\n"
    "                        nothing on stderr\n"
    "  --quiet               no output but errors (and no progress line,\n"
    "                        which -bc shows on a terminal after 1 s)\n"
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
    case 'x':
      return "DMT_STATS";  // ours
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

// Text to JSON: bytes that are not UTF-8 (a binary database key, a host
// name in another encoding) are kept, each as the code point of its value.
std::string utf8_of(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

// Prints the JSON result (upstream's fields, then `extra`'s, plus "error"
// with our one-line reason when the command failed) and exits.
[[noreturn]] void json_exit(const Args& a, const char* status, int code,
                            const std::string& error = "",
                            const json& extra = json::object()) {
  json j = json::object();
  j["schema_version"] = 1;
  j["command"] = command_name(a.command);
  j["command_status"] = status;
  j["coordinator_host"] = utf8_of(a.host);
  j["coordinator_port"] = a.port;
  for (const auto& [k, v] : extra.items()) {
    j[k] = v;
  }
  if (!error.empty()) {
    j["error"] = utf8_of(error);
  }
  printf("%s\n", j.dump(-1, ' ', false, json::error_handler_t::replace)
                      .c_str());
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
      {"help", 'h'},       {"?", 'h'},           {"stats", 'x'},
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

// A tool connection to the coordinator that said hello and was welcomed.
int connect_tool(const Args& a, const std::string& where) {
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
  return fd;
}

void send_command(int fd, char letter, int32_t arg, const std::string& where) {
  proto::CommandPayload cmd{};
  cmd.command = letter;
  cmd.arg = arg;
  if (proto::send_msg(fd, proto::MsgType::kCommand, &cmd, sizeof cmd) != 0) {
    coord_error("cannot talk to the coordinator at " + where + ": " +
                strerror(errno));
  }
}

// The reply to a command: its text; a refusal or failure is a coordinator
// error.
std::string command_reply(int fd, const std::string& where) {
  std::vector<char> buf;
  proto::MsgHeader h = receive(fd, &buf, "the command", where);
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
  return text;
}

// Our own letters ('j', 'x') answer JSON; an older coordinator does not
// know them, which is a coordinator error too.
json ask_json(int fd, char letter, const std::string& where) {
  send_command(fd, letter, 0, where);
  std::string text = command_reply(fd, where);
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    coord_error("the coordinator at " + where + " sent unreadable JSON");
  }
  return j;
}

std::string mb(int64_t bytes) {
  char b[32];
  snprintf(b, sizeof b, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return b;
}

// The live line of a blocking checkpoint on a terminal: from the round in
// progress ('j' on a second connection, twice a second after the first
// second); "" when there is no round.
std::string progress_line(const json& state, double elapsed_s) {
  const json& r = state.value("round", json());
  if (!r.is_object()) {
    return "";
  }
  int64_t bytes = r.value("bytes_written", int64_t{0});
  char line[256];
  snprintf(line, sizeof line,
           "checkpoint %u: %zu/%zu images, %s written, %.0f MB/s, %.1f s "
           "(%s)",
           r.value("generation", 0u), r.value("images_written", size_t{0}),
           r.value("processes", size_t{0}), mb(bytes).c_str(),
           elapsed_s > 0 ? static_cast<double>(bytes) / 1e6 / elapsed_s : 0.0,
           elapsed_s, r.value("step", std::string("?")).c_str());
  return line;
}

double seconds_since(const timespec& t0) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec - t0.tv_sec) +
         static_cast<double>(now.tv_nsec - t0.tv_nsec) / 1e9;
}

// Waits for the blocking command's reply on fd, showing progress on
// stderr (a terminal) meanwhile.
void wait_showing_progress(const Args& a, int fd, const std::string& where) {
  timespec t0{};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int monitor = -1;
  bool shown = false;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, 500);
    if (n != 0) {
      break;  // the reply, a hang-up or an error: command_reply tells
    }
    double elapsed = seconds_since(t0);
    if (elapsed < 1.0) {
      continue;
    }
    if (monitor < 0) {
      monitor = connect_tool(a, where);
    }
    std::string line = progress_line(ask_json(monitor, 'j', where), elapsed);
    if (!line.empty()) {
      fprintf(stderr, "\r\033[K%s", line.c_str());
      shown = true;
    }
  }
  if (shown) {
    fputs("\r\033[K", stderr);  // the line goes; the result follows
  }
  if (monitor >= 0) {
    close(monitor);
  }
}

// --stats: the last round, one line per process, slowest first.
std::string stats_text(const json& st) {
  if (!st.is_object() || !st.contains("processes")) {
    return "no round has ended yet";
  }
  std::string out = st.value("kind", std::string("round")) + " of generation " +
                    std::to_string(st.value("generation", 0u)) + ": " +
                    std::to_string(st.value("total_ms", int64_t{0})) + " ms" +
                    (st.value("failed", false)
                         ? " (failed: " + st.value("failure", std::string()) +
                               ")"
                         : std::string()) +
                    "\nms per step:";
  std::vector<std::string> steps = st.value("steps", std::vector<std::string>{});
  char cell[64];
  for (const std::string& name : steps) {
    snprintf(cell, sizeof cell, " %9s", name.c_str());
    out += cell;
  }
  out += "     busy  image  process\n";
  for (const json& p : st["processes"]) {
    out += "            ";
    const json& ms = p.value("steps_ms", json::array());
    for (size_t k = 0; k < steps.size(); ++k) {
      if (k < ms.size() && ms[k].is_number()) {
        snprintf(cell, sizeof cell, " %9lld",
                 static_cast<long long>(ms[k].get<int64_t>()));
      } else {
        snprintf(cell, sizeof cell, " %9s", "-");
      }
      out += cell;
    }
    snprintf(cell, sizeof cell, " %8lld",
             static_cast<long long>(p.value("busy_ms", int64_t{0})));
    out += cell;
    const json& bytes = p.value("image_bytes", json());
    out += "  " + (bytes.is_number() ? mb(bytes.get<int64_t>()) : "-") + "  " +
           p.value("program", std::string("?")) + "[" +
           std::to_string(p.value("pid", 0)) + "]@" +
           p.value("host", std::string("?")) + "\n";
  }
  return out;
}

int run(const Args& a) {
  std::string where = a.host + ":" + std::to_string(a.port);
  int fd = connect_tool(a, where);
  std::vector<char> buf;

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
    proto::MsgHeader h = receive(fd, &buf, "the status request", where);
    if (h.type != static_cast<uint16_t>(proto::MsgType::kStatusReply) ||
        buf.size() < sizeof st) {
      coord_error("unexpected answer from the coordinator at " + where);
    }
    memcpy(&st, buf.data(), sizeof st);
    if (a.command == 's') {
      // Upstream: running means processes, all of them running.  Ours
      // after it: the computation, its generation and processes.
      json extra = ask_json(fd, 'j', where);
      close(fd);
      extra["num_peers"] = st.num_processes;
      extra["running"] = st.num_processes > 0 && st.is_running != 0;
      extra["checkpoint_interval"] = st.interval;
      json_exit(a, "DMT_COORD_SUCCESS", 0, "", extra);
    }
  }
  if (a.command == 'x') {
    json stats = ask_json(fd, 'x', where);
    close(fd);
    if (a.json) {
      json_exit(a, "DMT_COORD_SUCCESS", 0, "", json{{"stats", stats}});
    }
    fputs(stats_text(stats).c_str(), stdout);
    return 0;
  }

  // A blocking checkpoint lasts as long as writing the images takes; the
  // coordinator hanging up still ends the wait.
  bool blocking = a.command == 'b' || a.command == 'K';
  set_recv_timeout(fd, blocking ? 0 : kReplyTimeoutS);
  send_command(fd, a.command, a.arg, where);
  if (blocking && !a.json && !a.quiet && isatty(STDERR_FILENO)) {
    wait_showing_progress(a, fd, where);
  }
  std::string text = command_reply(fd, where);
  if (a.json) {
    json extra = json::object();
    if (a.command == 'l') {
      extra["workers"] = utf8_of(text);
      json state = ask_json(fd, 'j', where);
      extra["computation_id"] = state["computation_id"];
      extra["generation"] = state["generation"];
      extra["processes"] = state["processes"];
    } else if (a.command == 'c' || a.command == 'b' || a.command == 'K') {
      extra["num_peers"] = st.num_processes;
    } else if (a.command == 'i') {
      extra["checkpoint_interval"] = a.arg;
    }
    close(fd);
    json_exit(a, "DMT_COORD_SUCCESS", 0, "", extra);
  }
  close(fd);
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
      nlohmann::ordered_json j = {{"schema_version", 1},
                          {"command", "DMT_VERSION"},
                          {"command_status", "DMT_COORD_SUCCESS"},
                          {"version", version}};
      printf("%s\n", j.dump().c_str());
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
