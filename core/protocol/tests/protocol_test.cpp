#define BOOST_TEST_MODULE protocol
#include "protocol/protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace proto = dmtcp::proto;

namespace {

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() {
    BOOST_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) == 0);
  }
  ~SocketPair() {
    for (int f : fd) {
      if (f >= 0) {
        close(f);
      }
    }
  }
  void close_end(int i) {
    close(fd[i]);
    fd[i] = -1;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(header_round_trip) {
  proto::MsgHeader h = proto::make_header(proto::MsgType::kBarrier, 8);
  BOOST_TEST(h.magic == proto::kMagic);
  BOOST_TEST(h.version == proto::kVersion);
  BOOST_TEST(h.type == static_cast<uint16_t>(proto::MsgType::kBarrier));
  BOOST_TEST(h.payload_len == 8u);
  BOOST_TEST(proto::check_header(h).empty());
}

BOOST_AUTO_TEST_CASE(check_header_rejects_bad_fields) {
  proto::MsgHeader h = proto::make_header(proto::MsgType::kHello, 0);
  h.magic = 0x12345678;
  BOOST_TEST(!proto::check_header(h).empty());
  h = proto::make_header(proto::MsgType::kHello, 0);
  h.version = proto::kVersion + 1;
  BOOST_TEST(!proto::check_header(h).empty());
  h = proto::make_header(proto::MsgType::kHello, proto::kMaxPayload + 1);
  BOOST_TEST(!proto::check_header(h).empty());
  h = proto::make_header(proto::MsgType::kHello, proto::kMaxPayload);
  BOOST_TEST(proto::check_header(h).empty());
}

BOOST_AUTO_TEST_CASE(send_and_receive_three_pieces) {
  SocketPair sp;
  proto::BarrierPayload b{static_cast<uint32_t>(proto::Barrier::kCkptWritten),
                          5};
  const char path[] = "/a/b1";
  const char tail[] = "xyz";
  BOOST_REQUIRE(proto::send_msg(sp.fd[0], proto::MsgType::kBarrier, &b,
                                sizeof b, path, 5, tail, 3) == 0);
  proto::MsgHeader h{};
  char buf[64] = {};
  BOOST_REQUIRE(proto::recv_msg(sp.fd[1], &h, buf, sizeof buf) == 0);
  BOOST_TEST(h.type == static_cast<uint16_t>(proto::MsgType::kBarrier));
  BOOST_TEST(h.payload_len == sizeof b + 8);
  proto::BarrierPayload got{};
  memcpy(&got, buf, sizeof got);
  BOOST_TEST(got.barrier == b.barrier);
  BOOST_TEST(got.path_len == 5u);
  BOOST_TEST(std::string(buf + sizeof b, 8) == "/a/b1xyz");
}

BOOST_AUTO_TEST_CASE(empty_payload_round_trip) {
  SocketPair sp;
  BOOST_REQUIRE(proto::send_msg(sp.fd[0], proto::MsgType::kKill, nullptr, 0) ==
                0);
  proto::MsgHeader h{};
  BOOST_REQUIRE(proto::recv_msg(sp.fd[1], &h, nullptr, 0) == 0);
  BOOST_TEST(h.type == static_cast<uint16_t>(proto::MsgType::kKill));
  BOOST_TEST(h.payload_len == 0u);
}

BOOST_AUTO_TEST_CASE(large_message_with_short_writes) {
  // A 1 MiB value does not fit the socket buffer: write_all must loop over
  // short writes while the reader drains concurrently.
  SocketPair sp;
  std::vector<char> value(proto::kMaxValueLen);
  for (size_t i = 0; i < value.size(); ++i) {
    value[i] = static_cast<char>(i * 7 + 3);
  }
  proto::KvHeader kv{3, static_cast<uint32_t>(value.size())};
  std::thread writer([&] {
    BOOST_CHECK(proto::send_msg(sp.fd[0], proto::MsgType::kPublish, &kv,
                                sizeof kv, "key", 3, value.data(),
                                value.size()) == 0);
  });
  std::vector<char> buf(proto::kMaxPayload);
  proto::MsgHeader h{};
  int rc = proto::recv_msg(sp.fd[1], &h, buf.data(), buf.size());
  writer.join();
  BOOST_REQUIRE(rc == 0);
  BOOST_REQUIRE(h.payload_len == sizeof kv + 3 + value.size());
  BOOST_TEST(memcmp(buf.data() + sizeof kv, "key", 3) == 0);
  BOOST_TEST(memcmp(buf.data() + sizeof kv + 3, value.data(), value.size()) ==
             0);
}

BOOST_AUTO_TEST_CASE(send_refuses_oversized_payload) {
  SocketPair sp;
  std::vector<char> big(proto::kMaxPayload + 1);
  errno = 0;
  BOOST_TEST(proto::send_msg(sp.fd[0], proto::MsgType::kPublish, big.data(),
                             big.size()) == -1);
  BOOST_TEST(errno == EMSGSIZE);
}

BOOST_AUTO_TEST_CASE(bad_magic_is_eproto) {
  SocketPair sp;
  proto::MsgHeader h = proto::make_header(proto::MsgType::kHello, 0);
  h.magic = 0xdeadbeef;
  BOOST_REQUIRE(proto::write_all(sp.fd[0], &h, sizeof h) == 0);
  proto::MsgHeader got{};
  errno = 0;
  BOOST_TEST(proto::recv_msg(sp.fd[1], &got, nullptr, 0) == -1);
  BOOST_TEST(errno == EPROTO);
}

BOOST_AUTO_TEST_CASE(bad_version_is_eproto) {
  SocketPair sp;
  proto::MsgHeader h = proto::make_header(proto::MsgType::kHello, 0);
  h.version = 99;
  BOOST_REQUIRE(proto::write_all(sp.fd[0], &h, sizeof h) == 0);
  proto::MsgHeader got{};
  errno = 0;
  BOOST_TEST(proto::recv_msg(sp.fd[1], &got, nullptr, 0) == -1);
  BOOST_TEST(errno == EPROTO);
}

BOOST_AUTO_TEST_CASE(oversized_header_is_eproto) {
  SocketPair sp;
  proto::MsgHeader h =
      proto::make_header(proto::MsgType::kPublish, 0xfffffff0u);
  BOOST_REQUIRE(proto::write_all(sp.fd[0], &h, sizeof h) == 0);
  proto::MsgHeader got{};
  std::vector<char> buf(proto::kMaxPayload);
  errno = 0;
  BOOST_TEST(proto::recv_msg(sp.fd[1], &got, buf.data(), buf.size()) == -1);
  BOOST_TEST(errno == EPROTO);
}

BOOST_AUTO_TEST_CASE(payload_larger_than_cap_is_rejected) {
  SocketPair sp;
  char data[32] = {};
  BOOST_REQUIRE(proto::send_msg(sp.fd[0], proto::MsgType::kPublish, data,
                                sizeof data) == 0);
  proto::MsgHeader got{};
  char buf[16];
  errno = 0;
  BOOST_TEST(proto::recv_msg(sp.fd[1], &got, buf, sizeof buf) == -1);
  BOOST_TEST(errno == EMSGSIZE);
  // The header is still reported so the caller can say what came.
  BOOST_TEST(got.payload_len == sizeof data);
}

BOOST_AUTO_TEST_CASE(eof_mid_header_is_reported) {
  SocketPair sp;
  proto::MsgHeader h = proto::make_header(proto::MsgType::kHello, 0);
  BOOST_REQUIRE(proto::write_all(sp.fd[0], &h, 7) == 0);
  sp.close_end(0);
  proto::MsgHeader got{};
  errno = 0;
  BOOST_TEST(proto::recv_msg(sp.fd[1], &got, nullptr, 0) == -1);
  BOOST_TEST(errno == ECONNRESET);
}

BOOST_AUTO_TEST_CASE(eof_mid_payload_is_reported) {
  SocketPair sp;
  proto::MsgHeader h = proto::make_header(proto::MsgType::kPublish, 100);
  BOOST_REQUIRE(proto::write_all(sp.fd[0], &h, sizeof h) == 0);
  BOOST_REQUIRE(proto::write_all(sp.fd[0], "0123456789", 10) == 0);
  sp.close_end(0);
  proto::MsgHeader got{};
  char buf[128];
  errno = 0;
  BOOST_TEST(proto::recv_msg(sp.fd[1], &got, buf, sizeof buf) == -1);
  BOOST_TEST(errno == ECONNRESET);
}

BOOST_AUTO_TEST_CASE(write_to_closed_peer_fails_without_sigpipe) {
  // MSG_NOSIGNAL: a user process must not die of SIGPIPE because the
  // coordinator went away.  SIGPIPE stays at its default (fatal) here.
  SocketPair sp;
  sp.close_end(1);
  errno = 0;
  BOOST_TEST(proto::send_msg(sp.fd[0], proto::MsgType::kKill, nullptr, 0) ==
             -1);
  BOOST_TEST(errno == EPIPE);
}

namespace {
std::atomic<int> g_alarms{0};
void on_alarm(int) { g_alarms.fetch_add(1); }
}  // namespace

BOOST_AUTO_TEST_CASE(read_survives_eintr) {
  SocketPair sp;
  struct sigaction sa {};
  sa.sa_handler = on_alarm;
  sa.sa_flags = 0;  // no SA_RESTART: read(2) really returns EINTR
  struct sigaction old {};
  BOOST_REQUIRE(sigaction(SIGALRM, &sa, &old) == 0);

  // The writer blocks SIGALRM so the signal lands in this (reading) thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread writer([&] {
    usleep(300 * 1000);
    proto::StatusPayload st{3, 1, 7, 0};
    proto::send_msg(sp.fd[0], proto::MsgType::kStatusReply, &st, sizeof st);
  });
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);

  itimerval it{};
  it.it_value.tv_usec = 50 * 1000;
  it.it_interval.tv_usec = 50 * 1000;
  g_alarms = 0;
  setitimer(ITIMER_REAL, &it, nullptr);
  proto::MsgHeader h{};
  proto::StatusPayload got{};
  int rc = proto::recv_msg(sp.fd[1], &h, &got, sizeof got);
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  writer.join();
  sigaction(SIGALRM, &old, nullptr);

  BOOST_TEST(rc == 0);
  BOOST_TEST(g_alarms.load() >= 1);
  BOOST_TEST(got.num_processes == 3u);
  BOOST_TEST(got.generation == 7u);
}

BOOST_AUTO_TEST_CASE(copy_field_truncates_and_terminates) {
  char f[8];
  memset(f, 'x', sizeof f);
  proto::copy_field(f, sizeof f, "abcdefghijk");
  BOOST_TEST(std::string(f) == "abcdefg");
  proto::copy_field(f, sizeof f, "ab");
  BOOST_TEST(std::string(f) == "ab");
  BOOST_TEST(f[7] == '\0');
}

BOOST_AUTO_TEST_CASE(secrets_compare) {
  std::string a(proto::kSecretHexLen, 'a');
  std::string b = a;
  BOOST_TEST(proto::secrets_equal(a.c_str(), b.c_str()));
  b[proto::kSecretHexLen - 1] = 'b';
  BOOST_TEST(!proto::secrets_equal(a.c_str(), b.c_str()));
  b = a;
  b[0] = '0';
  BOOST_TEST(!proto::secrets_equal(a.c_str(), b.c_str()));
}

namespace {

// A private DMTCP_TMPDIR for the key-file tests.
struct TmpDir {
  std::string path;
  TmpDir() {
    char tmpl[] = "/tmp/protocol_test.XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
    setenv("DMTCP_TMPDIR", path.c_str(), 1);
  }
  ~TmpDir() {
    std::string cmd = "rm -rf '" + path + "'";
    BOOST_CHECK(system(cmd.c_str()) == 0);
    unsetenv("DMTCP_TMPDIR");
  }
};

void write_file(const std::string& p, const std::string& s, mode_t mode) {
  FILE* f = fopen(p.c_str(), "w");
  BOOST_REQUIRE(f != nullptr);
  fputs(s.c_str(), f);
  fclose(f);
  chmod(p.c_str(), mode);
}

}  // namespace

BOOST_AUTO_TEST_CASE(key_file_paths_follow_tmpdir) {
  TmpDir t;
  std::string dir = t.path + "/dmtcp-" + std::to_string(getuid());
  BOOST_TEST(proto::key_dir_path() == dir);
  BOOST_TEST(proto::key_file_path(4242) == dir + "/coordinator-4242.key");
}

BOOST_AUTO_TEST_CASE(read_secret_checks_permissions) {
  TmpDir t;
  std::string dir = proto::key_dir_path();
  char out[proto::kSecretHexLen + 1];
  BOOST_TEST(!proto::read_secret(4242, out));  // no directory yet

  BOOST_REQUIRE(mkdir(dir.c_str(), 0700) == 0);
  std::string key(proto::kSecretHexLen, '0');
  key[5] = 'f';
  write_file(proto::key_file_path(4242), key + "\n", 0600);
  BOOST_REQUIRE(proto::read_secret(4242, out));
  BOOST_TEST(std::string(out) == key);

  // Readable by others: refused.
  chmod(proto::key_file_path(4242).c_str(), 0644);
  BOOST_TEST(!proto::read_secret(4242, out));
  chmod(proto::key_file_path(4242).c_str(), 0600);

  // A directory others can write into: refused.
  chmod(dir.c_str(), 0777);
  BOOST_TEST(!proto::read_secret(4242, out));
  chmod(dir.c_str(), 0700);

  // Not hex, or too short: refused.
  write_file(proto::key_file_path(4243), "hello", 0600);
  BOOST_TEST(!proto::read_secret(4243, out));
  write_file(proto::key_file_path(4244), std::string(64, 'Z'), 0600);
  BOOST_TEST(!proto::read_secret(4244, out));

  // A symlink is not followed.
  BOOST_REQUIRE(symlink(proto::key_file_path(4242).c_str(),
                        proto::key_file_path(4245).c_str()) == 0);
  BOOST_TEST(!proto::read_secret(4245, out));
}

BOOST_AUTO_TEST_CASE(connect_to_reports_refusal_quickly) {
  // Bind then close a listener to find a port nobody listens on.
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(s);
  errno = 0;
  BOOST_TEST(proto::connect_to("127.0.0.1", port, 2000) == -1);
  BOOST_TEST(errno == ECONNREFUSED);

  int l = socket(AF_INET, SOCK_STREAM, 0);
  a.sin_port = 0;
  BOOST_REQUIRE(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  BOOST_REQUIRE(listen(l, 4) == 0);
  len = sizeof a;
  getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  int fd = proto::connect_to("localhost", ntohs(a.sin_port), 2000);
  BOOST_TEST(fd >= 0);
  if (fd >= 0) {
    close(fd);
  }
  close(l);
}
