#!/usr/bin/env python3
"""Lazy restart against plain restart (docs/lazy-restart.md): a process
with MiB of random data (bench_lazy_first) is checkpointed once, then
restarted RUNS times each way from the same (warm) image.  For each:
time from starting dmtcp_restart to the program's first instruction, and
to the end of its read of every page (full residency).  Prints the median
of each and the load average.  Usage: lazy_bench.py [--mib N] [--runs R]"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    bin_dir = os.path.join(a.build, "bin")
    prog = os.path.join(a.build, "bench", "bench_lazy_first")
    work = tempfile.mkdtemp(prefix="lazy-bench-")
    env = dict(os.environ, DMTCP_CHECKPOINT_DIR=work)
    port_file = os.path.join(work, "port")
    subprocess.run([os.path.join(bin_dir, "dmtcp_coordinator"), "--daemon",
                    "-q", "-p", "0", "--port-file", port_file], check=True)
    env["DMTCP_COORD_PORT"] = open(port_file).read().strip()
    results = os.path.join(work, "results")
    out = open(os.path.join(work, "out"), "w")
    p = subprocess.Popen([os.path.join(bin_dir, "dmtcp_launch"), prog,
                          str(a.mib), results], env=env, stdout=out)
    while "READY" not in open(os.path.join(work, "out")).read():
        if p.poll() is not None:
            raise SystemExit(f"{prog} exited ({p.returncode}) before READY")
        time.sleep(0.05)
    cmd = os.path.join(bin_dir, "dmtcp_command")
    subprocess.run([cmd, "-bc"], env=env, check=True, capture_output=True)
    p.kill()
    p.wait()
    image = [f for f in os.listdir(work) if f.endswith(".dmtcp")][0]
    image = os.path.join(work, image)
    times = {"plain": [], "lazy": []}
    for _ in range(a.runs):
        for kind in ("plain", "lazy"):
            if os.path.exists(results):
                os.unlink(results)
            argv = [os.path.join(bin_dir, "dmtcp_restart")]
            if kind == "lazy":
                argv.append("--lazy")
            t0 = time.time_ns()
            subprocess.run(argv + [image], env=env, check=True,
                           capture_output=True, timeout=300)
            vals = dict(l.split()[:2] for l in open(results) if l.strip())
            times[kind].append(((int(vals["FIRST"]) - t0) / 1e6,
                                (int(vals["RESIDENT"]) - t0) / 1e6))
    subprocess.run([cmd, "-q"], env=env, capture_output=True)
    load = open("/proc/loadavg").read().split()[:3]
    print(f"{a.mib} MiB random, {a.runs} runs each, load {' '.join(load)}")
    for kind, v in times.items():
        first = statistics.median(x[0] for x in v)
        res = statistics.median(x[1] for x in v)
        print(f"  {kind:5s}: first instruction {first:8.1f} ms, "
              f"full residency {res:8.1f} ms  (all: "
              + ", ".join(f"{x[0]:.0f}/{x[1]:.0f}" for x in v) + ")")


if __name__ == "__main__":
    main()
