#!/usr/bin/env python3
"""Socket plugin costs, in one run on this machine.

1. send+recv (and write+read) of 64 bytes on a TCP loopback connection
   (bench/socket_bench), natively and under dmtcp_launch: the ratio (the
   plugin's recv and read wrappers test one counter when no socket holds
   bytes that did not fit back at a refill; target 1.03x).  Native and
   launched runs alternate, so a change of load hits both.
   Also recv/read on fd -1 (EBADF at once): the wrappers' own cost
   against the cheapest call that reaches the kernel.
   --send-recv-only stops here.
2. Checkpoint (dmtcp_command -bc) and restart (dmtcp_restart until the
   coordinator sees every process running) of tests/socket_many holding
   N TCP connections between two processes, each with 1,500 bytes in
   flight, for N = 1, 100, 1000; the added time per connection is the
   slope between 1 and 1000.  The same program with no connection to
   measure (N = 0) is the baseline.
Median of --runs runs.  Prints a Markdown table."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def status(tool, env):
    r = subprocess.run([tool("dmtcp_command"), "--status"], env=env,
                       capture_output=True, text=True)
    peers = -1
    for tok in r.stdout.split():
        if tok.startswith("NUM_PEERS="):
            peers = int(tok.split("=")[1])
    return peers, "RUNNING=yes" in r.stdout


def wait_for(tool, env, n, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        peers, running = status(tool, env)
        if running and (peers == n if n == 0 else peers >= n):
            return
        time.sleep(0.005)
    raise RuntimeError(f"computation did not reach {n} processes")


def one_run(build, conns, work):
    tool = lambda name: os.path.join(build, "bin", name)  # noqa: E731
    go = os.path.join(work, "go")
    env = dict(os.environ, DMTCP_CHECKPOINT_DIR=work, DMTCP_TEST_GO=go)
    port_file = os.path.join(work, "port")
    subprocess.run([tool("dmtcp_coordinator"), "--daemon", "-q", "-p", "0",
                    "--port-file", port_file], check=True)
    env["DMTCP_COORD_PORT"] = open(port_file).read().strip()
    env["DMTCP_COORD_HOST"] = "127.0.0.1"
    out = open(os.path.join(work, "out"), "w")
    prog = subprocess.Popen([tool("dmtcp_launch"),
                             os.path.join(build, "tests", "socket_many"),
                             str(conns)], env=env, stdout=out,
                            stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while "READY" not in open(os.path.join(work, "out")).read():
        if time.time() > deadline or prog.poll() is not None:
            raise RuntimeError("socket_many did not get ready")
        time.sleep(0.01)
    t = time.perf_counter()
    subprocess.run([tool("dmtcp_command"), "-bc"], env=env, check=True,
                   capture_output=True)
    ckpt = time.perf_counter() - t
    subprocess.run([tool("dmtcp_command"), "-k"], env=env,
                   capture_output=True)
    prog.wait(timeout=60)
    wait_for(tool, env, 0)
    imgs = [os.path.join(work, f) for f in os.listdir(work)
            if f.startswith("ckpt_") and f.endswith(".dmtcp")]
    t = time.perf_counter()
    rest = subprocess.Popen([tool("dmtcp_restart"), *imgs], env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    wait_for(tool, env, len(imgs))
    restart = time.perf_counter() - t
    open(go, "w").close()
    rc = rest.wait(timeout=120)
    subprocess.run([tool("dmtcp_command"), "-q"], env=env,
                   capture_output=True)
    if rc != 0 or "PASS" not in open(os.path.join(work, "out")).read():
        raise RuntimeError(f"socket_many {conns} failed after restart")
    return ckpt, restart


def send_recv(build, launched, mode="send", plugin_off=False):
    cmd = [os.path.join(build, "bench", "socket_bench"), "200000", mode]
    env = dict(os.environ)
    if launched:
        work = tempfile.mkdtemp(prefix="sockbench-")
        port_file = os.path.join(work, "port")
        subprocess.run([os.path.join(build, "bin", "dmtcp_coordinator"),
                        "--daemon", "-q", "-p", "0", "--port-file",
                        port_file, "--exit-on-last"], check=True)
        env["DMTCP_COORD_PORT"] = open(port_file).read().strip()
        env["DMTCP_CHECKPOINT_DIR"] = work
        if plugin_off:
            env["DMTCP_SOCKET_PLUGIN"] = "0"
        cmd = [os.path.join(build, "bin", "dmtcp_launch"), *cmd]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       check=True)
    return float(r.stdout.split()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--send-recv-only", action="store_true")
    args = p.parse_args()
    build = os.path.abspath(args.build)
    print(f"load average {os.getloadavg()[0]:.1f} at start")
    print("| measure | value |")
    print("|---|---|")
    for mode, name in (("send", "send+recv"), ("read", "write+read"),
                       ("ebadf", "recv/read on fd -1 (EBADF), per call")):
        nat, lau = [], []
        for _ in range(args.runs):
            nat.append(send_recv(build, False, mode))
            lau.append(send_recv(build, True, mode))
        nat, lau = statistics.median(nat), statistics.median(lau)
        what = name if mode == "ebadf" else f"{name} 64 B, TCP loopback"
        print(f"| {what}, native | {nat:.0f} ns |")
        print(f"| same under dmtcp_launch | {lau:.0f} ns "
              f"({lau / nat:.2f}x) |", flush=True)
    # The plugin's own share: launched with it and without it
    # (DMTCP_SOCKET_PLUGIN=0), alternating.
    for mode in ("ebadf", "send"):
        on, off = [], []
        for _ in range(args.runs):
            off.append(send_recv(build, True, mode, plugin_off=True))
            on.append(send_recv(build, True, mode))
        on, off = statistics.median(on), statistics.median(off)
        print(f"| {mode}: launched, socket plugin off / on | {off:.0f} ns / "
              f"{on:.0f} ns ({on / off:.3f}x) |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    if args.send_recv_only:
        return 0
    res = {}
    for conns in (0, 1, 100, 1000):
        runs = []
        for _ in range(args.runs):
            work = tempfile.mkdtemp(prefix="sockbench-")
            runs.append(one_run(build, conns, work))
        res[conns] = (statistics.median(r[0] for r in runs),
                      statistics.median(r[1] for r in runs))
        print(f"| {conns} connections: checkpoint / restart | "
              f"{res[conns][0] * 1000:.0f} ms / "
              f"{res[conns][1] * 1000:.0f} ms |", flush=True)
    ck = (res[1000][0] - res[1][0]) / 999 * 1000
    rs = (res[1000][1] - res[1][1]) / 999 * 1000
    print(f"| added per connection (slope 1 -> 1000) | checkpoint "
          f"{ck:.2f} ms, restart {rs:.2f} ms |")


if __name__ == "__main__":
    sys.exit(main())
