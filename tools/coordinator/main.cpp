// dmtcp_coordinator: command line, listening socket, key file, daemon mode.
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/log.h"
#include "common/parse.h"
#include "coordinator.h"
#include "key_file.h"
#include "tools/common/tool_support.h"

namespace dmtcp::coordinator {
namespace {

const char kUsage[] =
    "Usage: dmtcp_coordinator [OPTIONS] [port]\n"
    "  -p, --coord-port N  listen on port N (default 7779, 0 = any free "
    "port;\n"
    "                      env DMTCP_COORD_PORT)\n"
    "  --port-file F       write the port actually used to F\n"
    "  --status-file F     write host, port, pid and interval to F\n"
    "  --ckptdir D         where processes write their images (env\n"
    "                      DMTCP_CHECKPOINT_DIR); created if missing\n"
    "  -t, --tmpdir D      where the key file lives (env DMTCP_TMPDIR)\n"
    "  --exit-on-last      exit when the last process leaves\n"
    "  --kill-after-ckpt   kill the processes after each checkpoint\n"
    "  --timeout S         exit (status 1) S seconds after starting, even\n"
    "                      with processes connected (0 = never)\n"
    "  --stale-timeout S   exit (status 1) after S seconds with no process\n"
    "                      (default 28800 = 8 hours; -1 = never)\n"
    "  --daemon            run in the background\n"
    "  --coord-logfile F   append the log to F (env "
    "DMTCP_COORD_LOG_FILENAME)\n"
    "  --write-kv-data     at quit, write the key-value database to\n"
    "                      dmtcp_coordinator_db-<id>-<time>.json here (env\n"
    "                      DMTCP_COORD_WRITE_KV_DATA=1)\n"
    "  -i, --interval S    checkpoint every S seconds (env\n"
    "                      DMTCP_CHECKPOINT_INTERVAL; 0 = never)\n"
    "  -q, --quiet         print warnings and errors only\n"
    "  --bind ADDR         listen on ADDR instead of 127.0.0.1 (env\n"
    "                      DMTCP_COORD_BIND)\n"
    "  --keep-generations K  keep the images of the last K complete\n"
    "                      checkpoints (default 1, 0 = all; env\n"
    "                      DMTCP_KEEP_GENERATIONS)\n"
    "  --round-timeout S   a checkpoint in which no process makes progress\n"
    "                      for S seconds fails (default 120; env\n"
    "                      DMTCP_ROUND_TIMEOUT)\n"
    "  --help, --version   print this text or the version and exit\n";

[[noreturn]] void usage_error(const std::string& msg) {
  fprintf(stderr, "dmtcp_coordinator: %s (see dmtcp_coordinator --help)\n",
          msg.c_str());
  exit(1);
}

[[noreturn]] void fatal(const std::string& msg) {
  fprintf(stderr, "dmtcp_coordinator: %s\n", msg.c_str());
  exit(2);
}

bool parse_uint(const char* s, long max, long* out) {
  return parse_long(s, 0, max, out);
}

int parse_port(const char* s, const char* what) {
  long v = 0;
  if (!parse_uint(s, 65535, &v)) {
    usage_error(std::string("invalid ") + what + " '" + s + "'");
  }
  return static_cast<int>(v);
}

std::string restart_tool_path() {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    return "dmtcp_restart";
  }
  std::string s(self, static_cast<size_t>(n));
  return s.substr(0, s.rfind('/') + 1) + "dmtcp_restart";
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool have_port = false;
  if (const char* e = getenv("DMTCP_COORD_PORT"); e != nullptr && *e) {
    o.port = parse_port(e, "DMTCP_COORD_PORT");
  }
  if (const char* e = getenv("DMTCP_CHECKPOINT_DIR"); e != nullptr && *e) {
    o.ckpt_dir = e;
  }
  if (const char* e = getenv("DMTCP_CHECKPOINT_INTERVAL"); e != nullptr && *e) {
    long v = 0;
    if (!parse_uint(e, INT32_MAX, &v)) {
      usage_error(std::string("invalid DMTCP_CHECKPOINT_INTERVAL '") + e + "'");
    }
    o.interval = static_cast<uint32_t>(v);
  }
  if (const char* e = getenv("DMTCP_COORD_BIND"); e != nullptr && *e) {
    o.bind_addr = e;
  }
  if (const char* e = getenv("DMTCP_RESTART_TIMEOUT"); e != nullptr && *e) {
    long v = 0;
    if (!parse_uint(e, 86400 * 365, &v) || v == 0) {
      usage_error(std::string("invalid DMTCP_RESTART_TIMEOUT '") + e + "'");
    }
    o.restart_timeout_s = static_cast<int>(v);
  }
  auto keep_generations = [&](const char* s, const char* what) {
    long v = 0;
    if (!parse_uint(s, 1000000, &v)) {
      usage_error(std::string("invalid ") + what + " '" + s + "'");
    }
    o.keep_generations = static_cast<uint32_t>(v);
  };
  auto round_timeout = [&](const char* s, const char* what) {
    long v = 0;
    if (!parse_uint(s, 86400 * 365, &v) || v == 0) {
      usage_error(std::string("invalid ") + what + " '" + s + "'");
    }
    o.round_timeout_s = static_cast<int>(v);
  };
  if (const char* e = getenv("DMTCP_COORD_LOG_FILENAME"); e != nullptr && *e) {
    o.log_file = e;
  }
  if (const char* e = getenv("DMTCP_COORD_WRITE_KV_DATA"); e != nullptr) {
    o.write_kv_data = std::string(e) == "1";
  }
  // Upstream's timeouts: whole seconds; --stale-timeout takes a negative
  // value for "never" and 0 for its default.
  auto seconds = [&](const char* s, const char* what, bool negative_ok) {
    long v = 0;
    if (!parse_long(s, negative_ok ? LONG_MIN : 0, LONG_MAX, &v)) {
      usage_error(
          std::string("invalid ") + what + " '" + s +
          (negative_ok ? "' (seconds, -1 = never)" : "' (seconds, 0 = never)"));
    }
    return static_cast<int64_t>(v);
  };
  if (const char* e = getenv("DMTCP_KEEP_GENERATIONS"); e != nullptr && *e) {
    keep_generations(e, "DMTCP_KEEP_GENERATIONS");
  }
  if (const char* e = getenv("DMTCP_ROUND_TIMEOUT"); e != nullptr && *e) {
    round_timeout(e, "DMTCP_ROUND_TIMEOUT");
  }

  enum {
    kPortFile = 1000,
    kCkptDir,
    kExitOnLast,
    kDaemon,
    kBind,
    kKeepGenerations,
    kRoundTimeout,
    kStatusFile,
    kTimeout,
    kStaleTimeout,
    kWriteKvData,
    kKillAfterCkpt,
    kLogFile,
    kVersion
  };
  static const option kLong[] = {
      {"coord-port", required_argument, nullptr, 'p'},
      {"port", required_argument, nullptr, 'p'},  // older spelling
      {"port-file", required_argument, nullptr, kPortFile},
      {"ckptdir", required_argument, nullptr, kCkptDir},
      {"exit-on-last", no_argument, nullptr, kExitOnLast},
      {"daemon", no_argument, nullptr, kDaemon},
      {"interval", required_argument, nullptr, 'i'},
      {"quiet", no_argument, nullptr, 'q'},
      {"bind", required_argument, nullptr, kBind},
      {"keep-generations", required_argument, nullptr, kKeepGenerations},
      {"round-timeout", required_argument, nullptr, kRoundTimeout},
      {"status-file", required_argument, nullptr, kStatusFile},
      {"tmpdir", required_argument, nullptr, 't'},
      {"timeout", required_argument, nullptr, kTimeout},
      {"stale-timeout", required_argument, nullptr, kStaleTimeout},
      {"write-kv-data", no_argument, nullptr, kWriteKvData},
      {"kill-after-ckpt", no_argument, nullptr, kKillAfterCkpt},
      {"coord-logfile", required_argument, nullptr, kLogFile},
      {"version", no_argument, nullptr, kVersion},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, ":p:i:qht:", kLong, nullptr)) != -1) {
    switch (ch) {
      case 'p':
        o.port = parse_port(optarg, "port");
        have_port = true;
        break;
      case kPortFile:
        o.port_file = optarg;
        break;
      case kCkptDir:
        o.ckpt_dir = optarg;
        break;
      case kExitOnLast:
        o.exit_on_last = true;
        break;
      case kDaemon:
        o.daemon = true;
        break;
      case 'i': {
        long v = 0;
        if (!parse_uint(optarg, INT32_MAX, &v)) {
          usage_error(std::string("invalid interval '") + optarg + "'");
        }
        o.interval = static_cast<uint32_t>(v);
        break;
      }
      case 'q':
        o.quiet = true;
        break;
      case kBind:
        o.bind_addr = optarg;
        break;
      case kKeepGenerations:
        keep_generations(optarg, "--keep-generations");
        break;
      case kRoundTimeout:
        round_timeout(optarg, "--round-timeout");
        break;
      case kStatusFile:
        o.status_file = dmtcp::tools::absolute_path(optarg);
        break;
      case 't':
        if (*optarg == '\0') {
          usage_error("--tmpdir needs a directory");
        }
        // The key file's directory (proto::key_dir_path).
        setenv("DMTCP_TMPDIR", optarg, 1);
        break;
      case kTimeout:
        o.timeout_s = seconds(optarg, "--timeout", false);
        break;
      case kStaleTimeout: {
        int64_t v = seconds(optarg, "--stale-timeout", true);
        o.stale_timeout_s = v == 0 ? Options::kDefaultStaleTimeoutS : v;
        break;
      }
      case kWriteKvData:
        o.write_kv_data = true;
        break;
      case kKillAfterCkpt:
        o.kill_after_ckpt = true;
        break;
      case kLogFile:
        if (*optarg == '\0') {
          usage_error("--coord-logfile needs a file name");
        }
        o.log_file = optarg;
        break;
      case kVersion:
        dmtcp::tools::print_version("dmtcp_coordinator");
        exit(0);
      case 'h':
        fputs(kUsage, stdout);
        exit(0);
      case ':':
        usage_error(std::string("option '") + argv[optind - 1] +
                    "' needs a value");
      default:
        usage_error(std::string("unknown option '") + argv[optind - 1] + "'");
    }
  }
  if (optind < argc) {
    if (have_port || optind + 1 < argc) {
      usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    }
    o.port = parse_port(argv[optind], "port");
  }
  o.ckpt_dir = dmtcp::tools::absolute_path(o.ckpt_dir);
  if (std::string err; !o.ckpt_dir.empty() &&
                       !dmtcp::tools::make_directories(o.ckpt_dir, &err)) {
    fatal("checkpoint directory " + o.ckpt_dir + ": " + err);
  }
  if (o.ckpt_dir.size() >= sizeof(proto::DoCheckpointPayload::ckpt_dir)) {
    usage_error("checkpoint directory name too long");
  }
  o.restart_tool = restart_tool_path();
  return o;
}

// Binds and listens; returns the fd and sets *port to the real port.
int listen_on(const Options& o, int* port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(o.port);
  int rc = getaddrinfo(o.bind_addr.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    fatal("cannot listen on " + o.bind_addr + ": " + gai_strerror(rc));
  }
  int err = 0;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = errno;
      continue;
    }
    // SO_REUSEADDR: a restarted coordinator need not wait out TIME_WAIT;
    // Linux still refuses a second listener on the port.
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      char serv[16] = "";
      getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, nullptr, 0, serv,
                  sizeof serv, NI_NUMERICSERV);
      *port = atoi(serv);
      freeaddrinfo(res);
      return fd;
    }
    err = errno;
    close(fd);
  }
  freeaddrinfo(res);
  fatal(
      "cannot listen on " + o.bind_addr + ":" + std::to_string(o.port) + ": " +
      strerror(err) +
      (err == EADDRINUSE ? " (is another coordinator running? try -p 0)" : ""));
}

// Room for kMaxClients connections.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192 &&
      rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// --coord-logfile: the log goes to `path` (appended; created 0600 if new,
// never through a symlink, never into another user's file).  False with
// errno set.
bool open_log_file(const std::string& path) {
  int fd = open(path.c_str(),
                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return false;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EPERM;  // someone else's file (or not a file) at that name
    return false;
  }
  dup2(fd, STDERR_FILENO);
  close(fd);
  return true;
}

// Returns the log file the daemon writes, or "" when it could not open one
// (or the user named one with --coord-logfile: stderr is that already).
std::string daemonize(int port, bool own_log) {
  pid_t pid = fork();
  if (pid < 0) {
    fatal(std::string("fork: ") + strerror(errno));
  }
  if (pid > 0) {
    _exit(0);  // listening and port file written: callers may connect now
  }
  setsid();
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    close(null_fd);
  }
  if (own_log) {
    return "";
  }
  // Keep a log where its owner can read it; holding the caller's stderr
  // open would keep pipes (e.g. a shell's $(...)) from ever closing.
  std::string log =
      proto::key_dir_path() + "/coordinator-" + std::to_string(port) + ".log";
  std::string err;
  int log_fd = create_replacing(log, 0600, &err);
  if (log_fd >= 0) {
    dup2(log_fd, STDERR_FILENO);
    close(log_fd);
    return log;
  }
  dup2(STDOUT_FILENO, STDERR_FILENO);
  return "";
}

bool stdin_is_interactive() {
  struct stat st {};
  if (fstat(STDIN_FILENO, &st) != 0) {
    return false;
  }
  return isatty(STDIN_FILENO) || S_ISFIFO(st.st_mode);
}

int main_impl(int argc, char** argv) {
  log::set_tag("coordinator");
  Options o = parse_options(argc, argv);
  if (!o.log_file.empty()) {
    // A log file asked for by name gets the whole story, -q or not (as
    // upstream's: quiet is about the terminal).
    if (!open_log_file(o.log_file)) {
      fatal("cannot open the log file " + o.log_file + ": " + strerror(errno));
    }
    if (log::level() < log::kInfo) {
      log::set_level(log::kInfo);
    }
  } else if (o.quiet) {
    log::set_level(log::kWarn);
  } else if (getenv("DMTCP_LOG_LEVEL") == nullptr &&
             getenv("DMTCP_QUIET") == nullptr) {
    log::set_level(log::kInfo);
  }
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  int port = 0;
  int listen_fd = listen_on(o, &port);
  std::string secret;
  std::string err;
  if (!make_secret(&secret, &err) || !write_key_file(port, secret, &err)) {
    fatal(err);
  }
  if (!o.port_file.empty() &&
      !write_file_atomic(o.port_file, std::to_string(port) + "\n", 0644,
                         &err)) {
    remove_key_file(port, secret);
    fatal(err);
  }
  std::string log_file;
  if (o.daemon) {
    log_file = daemonize(port, !o.log_file.empty());
  }
  DMTCP_INFO("listening on %s:%d (pid %d)", o.bind_addr.c_str(), port,
             static_cast<int>(getpid()));
  bool interactive = !o.daemon && stdin_is_interactive();
  if (interactive && isatty(STDIN_FILENO)) {
    fputs("Type '?' for help.\n", stdout);
    fflush(stdout);
  }
  Coordinator coord(o, listen_fd, port, secret, interactive);
  coord.write_status_file();
  int rc = coord.run();
  remove_key_file(port, secret);
  coord.write_status_file(/*exited=*/true);
  if (!log_file.empty() && rc == 0 && !coord.had_errors()) {
    // A clean exit: nobody needs the log, and one per port would pile up.
    unlink(log_file.c_str());
  } else if (!log_file.empty()) {
    DMTCP_ERROR("exiting after errors; this log stays: %s", log_file.c_str());
    return rc;
  }
  // Upstream's words: scripts wait for this line in --coord-logfile.
  DMTCP_INFO("DMTCP coordinator exiting");
  return rc;
}

}  // namespace
}  // namespace dmtcp::coordinator

int main(int argc, char** argv) {
  return dmtcp::coordinator::main_impl(argc, argv);
}
