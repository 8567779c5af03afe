/* ssh_channel: a process that runs a remote shell to another host and
 * talks to its remote child through the channel (tests/distributed/
 * ssh_test.py; docs/ssh.md).
 *
 *   ssh_channel caller SHELL ARGS... REMOTE-COMMAND
 *       runs SHELL ARGS... REMOTE-COMMAND with pipes for its stdin,
 *       stdout and stderr; the remote command is "ssh_channel answer".
 *   ssh_channel answer
 *       reads 8-byte numbers on stdin, answers reply(n) on stdout and
 *       reply2(n) on stderr; at the stop mark reads on to end of input,
 *       writes "answer on HOST: N numbers" on stdout and exits 42.
 *
 * The caller keeps up to 64 numbers ahead of each answer stream, so bytes
 * are in flight in every direction at any moment; it checks every answer
 * on both streams (loss, duplication, reordering fail with the number),
 * until the go file, then 1000 more; then the stop mark, the end of input
 * (it must reach the remote side), the remote's last line and its exit
 * status through the channel (42).  Prints READY once the stream runs and
 * at the end where each side ran and PASS. */
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

#define AHEAD 64
#define STOP UINT64_MAX

static uint64_t reply(uint64_t n) {
  return (n * 0x9e3779b97f4a7c15ull) ^ 0x5bd1e9955bd1e995ull;
}
static uint64_t reply2(uint64_t n) {
  return ~reply(n + 7);
}

static int full(int fd, void* buf, size_t n, int out) {
  char* p = buf;
  size_t done = 0;
  while (done < n) {
    ssize_t r =
        out ? write(fd, p + done, n - done) : read(fd, p + done, n - done);
    if (r <= 0) {
      return r == 0 && done == 0 && !out ? 0 : -1;
    }
    done += (size_t)r;
  }
  return 1;
}

static int answer(void) {
  uint64_t expect = 0, n;
  for (;;) {
    if (full(0, &n, sizeof n, 0) != 1) {
      fprintf(stderr, "answer: input ended before the stop mark\n");
      return 1;
    }
    if (n == STOP) {
      break;
    }
    if (n != expect) {
      fprintf(stderr, "answer: got %llu, expected %llu\n",
              (unsigned long long)n, (unsigned long long)expect);
      return 1;
    }
    uint64_t a = reply(n), b = reply2(n);
    if (full(1, &a, sizeof a, 1) != 1 || full(2, &b, sizeof b, 1) != 1) {
      return 1;
    }
    ++expect;
  }
  char c;
  ssize_t r;
  while ((r = read(0, &c, 1)) > 0) {
  }
  char host[256] = ""; /* where it ends: after a restart maybe elsewhere */
  gethostname(host, sizeof host - 1);
  char line[512];
  int len =
      snprintf(line, sizeof line, "answer on %s: %llu numbers%s\n", host,
               (unsigned long long)expect, r == 0 ? "" : " (input error)");
  full(1, line, (size_t)len, 1);
  return r == 0 ? 42 : 1;
}

static int caller(char** argv) {
  int in[2], out[2], err[2];
  E2E_CHECK(pipe(in) == 0 && pipe(out) == 0 && pipe(err) == 0, "pipe");
  pid_t shell = fork();
  E2E_CHECK(shell >= 0, "fork");
  if (shell == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    close(err[0]);
    close(err[1]);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  uint64_t sent = 0, got_out = 0, got_err = 0, end = STOP;
  int ready = 0;
  for (;;) {
    if (end == STOP && e2e_go_seen() && ready) {
      end = sent + 1000;
    }
    while (sent < end && sent - got_out < AHEAD && sent - got_err < AHEAD) {
      E2E_CHECK(full(in[1], &sent, sizeof sent, 1) == 1, "write to the shell");
      ++sent;
    }
    if (got_out == end && got_err == end) {
      break;
    }
    struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      continue; /* EINTR */
    }
    uint64_t r;
    if (p[0].revents != 0 && got_out < sent) {
      E2E_CHECK(full(out[0], &r, sizeof r, 0) == 1,
                "stdout of the remote ended at %llu",
                (unsigned long long)got_out);
      E2E_CHECK(r == reply(got_out), "stdout: answer to %llu is wrong",
                (unsigned long long)got_out);
      ++got_out;
    }
    if (p[1].revents != 0 && got_err < sent) {
      E2E_CHECK(full(err[0], &r, sizeof r, 0) == 1,
                "stderr of the remote ended at %llu",
                (unsigned long long)got_err);
      if (r != reply2(got_err)) {
        /* Likely a message of the remote shell: show it. */
        char text[1024];
        memcpy(text, &r, sizeof r);
        ssize_t k = read(err[0], text + 8, sizeof text - 9);
        text[8 + (k > 0 ? k : 0)] = '\0';
        e2e_fail("stderr: answer to %llu is wrong: %s",
                 (unsigned long long)got_err, text);
      }
      ++got_err;
    }
    if (!ready && got_out >= 200 && got_err >= 200) {
      ready = 1;
      e2e_say("READY");
    }
    if (end == STOP && got_out % AHEAD == 0) {
      usleep(2000); /* a steady stream, not a busy loop */
    }
  }
  uint64_t stop = STOP;
  E2E_CHECK(full(in[1], &stop, sizeof stop, 1) == 1, "write the stop mark");
  close(in[1]); /* the end of input must reach the remote side */
  char last[512] = "";
  size_t len = 0;
  ssize_t r;
  while ((r = read(out[0], last + len, sizeof last - 1 - len)) > 0) {
    len += (size_t)r;
  }
  last[len] = '\0';
  char rest[512] = "";
  len = 0;
  while ((r = read(err[0], rest + len, sizeof rest - 1 - len)) > 0) {
    len += (size_t)r;
  }
  rest[len] = '\0';
  E2E_CHECK(rest[0] == '\0', "unexpected bytes on the remote's stderr: %s",
            rest);
  int st = 0;
  E2E_CHECK(waitpid(shell, &st, 0) == shell, "waitpid");
  E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42,
            "the remote shell's status is %d, not the command's 42 "
            "(last words: %s)",
            st, last);
  char expected[64];
  snprintf(expected, sizeof expected, ": %llu numbers\n",
           (unsigned long long)end);
  E2E_CHECK(strncmp(last, "answer on ", 10) == 0 && strstr(last, expected),
            "the remote's last line is wrong: %s", last);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  printf("caller on %s: %llu numbers checked each way\n%s", host,
         (unsigned long long)end, last);
  printf("PASS caller\n");
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 2 && strcmp(argv[1], "answer") == 0) {
    return answer();
  }
  if (argc >= 4 && strcmp(argv[1], "caller") == 0) {
    return caller(argv + 2);
  }
  fprintf(stderr, "usage: ssh_channel caller SHELL ARGS... | answer\n");
  return 2;
}
