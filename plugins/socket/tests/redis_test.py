#!/usr/bin/env python3
"""A real redis-server under checkpoints, its clients outside.

  launch redis-server (no persistence of its own) on a free port; load
  keys from outside (redis-cli, and a raw RESP client that keeps its
  connection open across the checkpoint); checkpoint; write one more key.
  resume:   every key answers, the open connection still works.
  restart:  kill, dmtcp_restart: every key of the checkpoint answers on
            the same port, the key written after it is gone; the open
            connection was to the outside: the server saw it close.
  restart2: the same, checkpointed and restarted once more (the second
            time through the restart script).
  taken:    before the restart an outside process takes the port: one
            line names the port, and the restarted redis keeps running
            (nothing listens for it; it never crashes or hangs).
Prints "PASS redis MODE" on success."""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "e2e"))
from harness import Computation, Failure, LoggedPopen, live_children, \
    reap_all, subreaper  # noqa: E402

NKEYS = 300
BIG = 1 << 20


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def value(i):
    return f"value-{i}-" + "x" * (i % 97)


def big_value():
    return bytes((i * 7 + 3) % 251 for i in range(BIG))


class Resp:
    """A minimal RESP client on one connection."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def call(self, *args):
        out = [f"*{len(args)}\r\n".encode()]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += [f"${len(a)}\r\n".encode(), a, b"\r\n"]
        self.sock.sendall(b"".join(out))
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self._exact(n)
            self._exact(2)
            return data
        if kind == b"-":
            raise Failure(f"redis error: {rest.decode()}")
        return rest


def cli(c, port, *args):
    r = subprocess.run(["redis-cli", "-p", str(port), *args], env=c.env,
                       capture_output=True, text=True, timeout=30)
    return r.stdout.strip()


def wait_ready(c, port, proc):
    deadline = time.time() + 60
    while time.time() < deadline:
        if cli(c, port, "ping") == "PONG":
            return
        if proc.poll() is not None:
            raise Failure(f"redis exited ({proc.returncode})")
        time.sleep(0.1)
    raise Failure("redis never answered PING")


def wait_peers(c, n, proc):
    deadline = time.time() + 60
    while time.time() < deadline:
        r = c.command("--status", check=False)
        have = -1
        for tok in r.stdout.split():
            if tok.startswith("NUM_PEERS="):
                have = int(tok.split("=")[1])
        # RUNNING=yes needs processes (upstream's meaning); with none, the
        # Status line says no round is running.
        idle = "RUNNING=yes" in r.stdout or (
            n == 0 and "Status: RUNNING" in r.stdout)
        if (have == 0 if n == 0 else have >= n) and idle:
            return
        if n and proc is not None and proc.poll() is not None:
            raise Failure(f"dmtcp_restart exited ({proc.returncode})")
        time.sleep(0.05)
    raise Failure("the computation did not reach its size")


def verify(c, port):
    r = Resp(port)
    for i in range(NKEYS):
        got = r.call("GET", f"key{i}")
        if got != value(i).encode():
            raise Failure(f"key{i}: {got!r}")
    if r.call("GET", "big") != big_value():
        raise Failure("the 1 MiB value differs")
    if cli(c, port, "get", "cli-key") != "from redis-cli":
        raise Failure("the key set by redis-cli is gone")
    return r


def run(c, mode):
    port = free_port()
    out = os.path.join(c.work, "redis.out")
    c.outputs.append(("redis", out))
    proc = LoggedPopen([c.tool("dmtcp_launch"), "redis-server", "--port",
                        str(port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", c.work], out,
                       env=c.env)
    wait_ready(c, port, proc)
    if cli(c, port, "set", "cli-key", "from redis-cli") != "OK":
        raise Failure("redis-cli set failed")
    r = Resp(port)
    for i in range(NKEYS):
        r.call("SET", f"key{i}", value(i))
    r.call("SET", "big", big_value())
    print(f"loaded {NKEYS + 2} keys on port {port}", flush=True)
    r2 = c.command("--bcheckpoint")
    print(r2.stdout.strip(), flush=True)
    cli(c, port, "set", "after", "written after the checkpoint")
    if mode == "resume":
        verify(c, port)
        if r.call("GET", "after") != b"written after the checkpoint":
            raise Failure("the open connection lost its way")
        return proc
    if mode == "taken":
        c.command("--kill")
        proc.wait(timeout=60)
        wait_peers(c, 0, None)
        reap_all()
        thief = socket.socket()
        thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        thief.bind(("127.0.0.1", port))
        thief.listen(1)
        out = os.path.join(c.work, "taken.out")
        c.outputs.append(("taken", out))
        imgs = c.images()
        proc = LoggedPopen([c.tool("dmtcp_restart"), *imgs], out, env=c.env)
        wait_peers(c, len(imgs), proc)
        want = f"cannot bind 127.0.0.1:{port} again: port {port}:"
        deadline = time.time() + 30
        while want not in open(out, errors="replace").read():
            if time.time() > deadline:
                raise Failure(f"no line saying {want!r}")
            time.sleep(0.05)
        lines = [ln for ln in open(out, errors="replace").read().splitlines()
                 if "cannot bind" in ln]
        if len(lines) != 1:
            raise Failure(f"{len(lines)} lines about the port, not one")
        time.sleep(0.5)
        if proc.poll() is not None:
            raise Failure(f"the restarted redis died ({proc.returncode})")
        text = open(out, errors="replace").read()
        if len(text.splitlines()) > 10:
            raise Failure("the restarted redis is not quiet: "
                          f"{text.splitlines()[-1]!r}")
        thief.close()
        return proc
    for step in range(2 if mode == "restart2" else 1):
        c.command("--kill")
        proc.wait(timeout=60)
        wait_peers(c, 0, None)
        reap_all()
        imgs = c.images()
        out = os.path.join(c.work, f"restart{step}.out")
        c.outputs.append((f"restart{step}", out))
        if step == 0:
            proc = LoggedPopen([c.tool("dmtcp_restart"), *imgs], out,
                               env=c.env)
        else:
            proc = LoggedPopen(["/bin/bash", os.path.join(
                c.work, "dmtcp_restart_script.sh")], out, env=c.env)
        wait_peers(c, len(imgs), proc)
        wait_ready(c, port, proc)
        verify(c, port)
        got = cli(c, port, "get", "after")
        if got != "":
            raise Failure(f"a key written after the checkpoint is back: "
                          f"{got!r}")
        if step == 0 and mode == "restart2":
            print(c.command("--bcheckpoint").stdout.strip(), flush=True)
            cli(c, port, "set", "after", "written after the checkpoint")
    return proc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--workdir", default=None)
    p.add_argument("mode", choices=["resume", "restart", "restart2",
                                    "taken"])
    args = p.parse_args()
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        print("SKIP: redis-server is not installed (scripts/setup.sh "
              "installs it)")
        sys.exit(77)
    subreaper()
    c = Computation(args.bin, tempfile.mkdtemp(prefix="dmtcp-redis-",
                                               dir=args.workdir))
    c.start_coordinator()
    ok = False
    try:
        proc = run(c, args.mode)
        c.command("--kill", check=False)
        proc.wait(timeout=60)
        ok = True
    except (Failure, EOFError, OSError, subprocess.SubprocessError) as e:
        print(f"FAILED ({args.mode}): {e}", flush=True)
        c.dump_outputs(30)
    finally:
        c.command("--quit", check=False)
        deadline = time.time() + 10
        while live_children() and time.time() < deadline:
            reap_all()
            time.sleep(0.05)
        for pid in live_children():
            os.kill(pid, 9)
        reap_all()
    if ok:
        print(f"PASS redis {args.mode}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
