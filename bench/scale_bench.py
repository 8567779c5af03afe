#!/usr/bin/env python3
"""Round cost against threads and processes (issue 16 item 5).

A blocking checkpoint (`dmtcp_command -bc`: suspend, drain, write, resume,
refill) of one process holding 1, 16, 64 and 256 idle threads, and of 1, 8,
16 and 32 single-threaded processes (--processes) under one coordinator,
images on disk or in --dir (/dev/shm takes the disk out), each the median
of --runs rounds.  Beside the wall time of -bc, the coordinator's own step
times (`dmtcp_command --json --stats`, docs/coordinator.md "Step times"):
suspend (until every thread is stopped), write, and resume + refill, taken
from the slowest process.  What grows per thread and per process is the
slope between rows.  --update writes the table into docs/benchmarks.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt_bench import ROOT, publish, quit_coordinator, start_coordinator  # noqa: E402


def launch(build, env, threads, count):
    """Starts count bench_idle_threads with threads threads each; returns
    the Popen objects once every one has said READY."""
    prog = os.path.join(build, "bench", "bench_idle_threads")
    procs = [subprocess.Popen([os.path.join(build, "bin", "dmtcp_launch"),
                               prog, str(threads)], env=env,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
             for _ in range(count)]
    for p in procs:
        assert p.stdout.readline().strip() == "READY"
    return procs


def measure(build, work, threads, count, runs):
    """Median of runs rounds, each column on its own: (wall s, suspend ms,
    write ms, resume..refill ms), steps from the slowest process of each
    round."""
    env = start_coordinator(build, work, os.environ)
    env["DMTCP_CHECKPOINT_DIR"] = work
    go = os.path.join(work, "go")
    if os.path.exists(go):
        os.unlink(go)
    env["DMTCP_TEST_GO"] = go
    cmd = os.path.join(build, "bin", "dmtcp_command")
    procs = launch(build, env, threads, count)
    rows = []
    try:
        # The runtime registers each process with the coordinator right
        # after it starts; READY comes after main() began, so all joined.
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run([cmd, "-bc"], env=env, check=True,
                           capture_output=True)
            wall = time.perf_counter() - t
            stats = json.loads(subprocess.run(
                [cmd, "--json", "--stats"], env=env, check=True,
                capture_output=True, text=True).stdout)["stats"]
            assert len(stats["processes"]) == count, stats
            steps = stats["steps"]
            slow = max(stats["processes"], key=lambda p: p["busy_ms"])
            ms = dict(zip(steps, slow["steps_ms"]))
            row = (wall, ms["suspend"] + ms["suspended"], ms["write"],
                   ms["resume"] + ms["register"] + ms["query"] +
                   ms["refill"])
            rows.append(row)
    finally:
        open(go, "w").close()
        for p in procs:
            p.wait()
        quit_coordinator(build, env)
        for f in os.listdir(work):
            if f.endswith(".dmtcp"):
                os.unlink(os.path.join(work, f))
    return tuple(statistics.median(r[i] for r in rows) for i in range(4))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--processes", default="1,8,16,32",
                    help="process counts, comma-separated (first and last "
                    "give the per-process slope)")
    ap.add_argument("--dir", default=ROOT,
                    help="where the images go (e.g. /dev/shm to take the "
                    "disk out)")
    args = ap.parse_args()
    counts = [int(c) for c in args.processes.split(",")]
    work = tempfile.mkdtemp(prefix="dmtcp-bench-", dir=args.dir)
    load = [os.getloadavg()[0]]
    rows = []
    try:
        for threads in (1, 16, 64, 256):
            rows.append((f"1 process, {threads} threads", threads, 1,
                         measure(args.build, work, threads - 1, 1,
                                 args.runs)))
            load.append(os.getloadavg()[0])
        for count in counts:
            rows.append((f"{count} processes, 1 thread each", 1, count,
                         measure(args.build, work, 0, count, args.runs)))
            load.append(os.getloadavg()[0])
    finally:
        subprocess.run(["rm", "-rf", work])
    out = [f"Median of {args.runs} blocking checkpoints each; load average "
           f"{min(load):.1f}-{max(load):.1f} during the run; images in "
           f"{'the source tree' if args.dir == ROOT else args.dir}.  Step "
           f"times are the coordinator's, of the slowest process.", "",
           "| computation | -bc s | suspend ms | write ms "
           "| resume..refill ms |", "|---|---|---|---|---|"]
    for name, _, _, (wall, sus, write, res) in rows:
        out.append(f"| {name} | {wall:.3f} | {sus:.0f} | {write:.0f} | "
                   f"{res:.0f} |")
    t1, t256 = rows[0][3], rows[3][3]
    p1, pn = rows[4][3], rows[-1][3]
    out += ["", f"Per extra thread: {(t256[0] - t1[0]) / 255 * 1e6:.0f} us "
            f"of -bc ({(t256[1] - t1[1]) / 255 * 1000:.0f} us of suspend).  "
            f"Per extra process: {(pn[0] - p1[0]) / (counts[-1] - counts[0]) * 1000:.1f} ms of "
            f"-bc ({(pn[2] - p1[2]) / (counts[-1] - counts[0]):.1f} ms of the "
            f"slowest write)."]
    publish(args, "scale_bench", "\n".join(out))


if __name__ == "__main__":
    main()
