#!/usr/bin/env python3
"""Incremental checkpoints against full ones and the disk, in one run.

bench_dirty holds MIB (default 1024) MiB of random bytes.  Under
`dmtcp_launch --incremental` it is checkpointed once (the chain's full
image), then ROUNDS times after rewriting PERMILLE/1000 (default 1%) of its
pages; the same is done without --incremental.  For each round: the
wall time of `dmtcp_command -bc` (the program is frozen for all of it) and
the image's bytes.  Beside them: `dd` of the full image's size with fsync,
and the load average.  Then a full checkpoint of a small process that also
maps 2 TiB of MAP_NORESERVE memory with 16 pages written (upstream's
mmap-noreserve), beside the same process without it.  Prints a Markdown
table; --update writes it into docs/benchmarks.md between the incremental
markers.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- incr_bench begin -->"
END = "<!-- incr_bench end -->"


def timed(cmd, **kw):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t


def run(build, work, mib, permille, rounds, incremental, sparse_gib=0):
    bin_dir = os.path.join(build, "bin")
    port_file = os.path.join(work, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    subprocess.run([os.path.join(bin_dir, "dmtcp_coordinator"), "--daemon",
                    "-q", "-p", "0", "--port-file", port_file], check=True)
    with open(port_file) as f:
        env = dict(os.environ, DMTCP_COORD_PORT=f.read().strip(),
                   DMTCP_CHECKPOINT_DIR=work)
    launch = [os.path.join(bin_dir, "dmtcp_launch")]
    if incremental:
        launch += ["--incremental", "--incremental-full-every", "0"]
    args = [str(mib), str(permille)] + ([str(sparse_gib)] if sparse_gib else [])
    p = subprocess.Popen(launch + [os.path.join(build, "bench", "bench_dirty")]
                         + args,
                         env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "READY"
    rows = []
    command = os.path.join(bin_dir, "dmtcp_command")
    for n in range(rounds + 1):
        if n > 0:
            p.stdin.write("dirty\n")
            p.stdin.flush()
            assert p.stdout.readline().strip() == "DIRTIED"
        seconds = timed([command, "-bc"], env=env, capture_output=True)
        images = sorted((f for f in os.listdir(work)
                         if f.endswith(f"_gen{n + 1}.dmtcp")))
        assert len(images) == 1, images
        size = os.path.getsize(os.path.join(work, images[0]))
        rows.append((seconds, size, os.getloadavg()[0]))
    p.stdin.close()
    subprocess.run([command, "-k"], env=env, capture_output=True)
    p.wait()
    subprocess.run([command, "-q"], env=env, capture_output=True)
    for f in os.listdir(work):
        os.unlink(os.path.join(work, f))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--permille", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", default=None, help="where images go")
    ap.add_argument("--sparse-gib", type=int, default=2048)
    ap.add_argument("--update", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="incr-bench-", dir=a.dir)
    dd = timed(["dd", "if=/dev/zero", f"of={work}/dd", "bs=1M",
                f"count={a.mib}", "conv=fsync", "status=none"])
    os.unlink(f"{work}/dd")
    # The round's own cost: the same with a 4 MiB process (suspend,
    # barriers, a small image, fsync, the restart script).
    small = run(a.build, work, 4, a.permille, a.rounds, True)
    incr = run(a.build, work, a.mib, a.permille, a.rounds, True)
    full = run(a.build, work, a.mib, a.permille, a.rounds, False)
    # Full checkpoints of a 4 MiB process with and without a huge sparse
    # mapping: what finding 16 pages in 2 TiB costs.
    plain4 = run(a.build, work, 4, a.permille, a.rounds, False)
    sparse = run(a.build, work, 4, a.permille, a.rounds, False, a.sparse_gib)
    os.rmdir(work)
    first = incr[0][1]
    med_t = statistics.median(r[0] for r in incr[1:])
    med_b = statistics.median(r[1] for r in incr[1:])
    full_t = statistics.median(r[0] for r in full[1:])
    full_b = statistics.median(r[1] for r in full[1:])
    small_t = statistics.median(r[0] for r in small[1:])
    # The disk's part of an incremental checkpoint: `dd` of the incremental
    # image's size with fsync, in the same run.
    work2 = tempfile.mkdtemp(prefix="incr-bench-", dir=a.dir)
    small_dd = statistics.median(
        timed(["dd", "if=/dev/zero", f"of={work2}/dd{i}", "bs=1M",
               f"count={(med_b >> 20) + 1}", "conv=fsync", "status=none"])
        for i in range(5))
    for f in os.listdir(work2):
        os.unlink(os.path.join(work2, f))
    os.rmdir(work2)
    plain4_t = statistics.median(r[0] for r in plain4)
    sparse_t = statistics.median(r[0] for r in sparse)
    loads = [r[2] for r in incr + full + plain4 + sparse]
    lines = [
        f"{a.mib} MiB of random bytes, {a.permille / 10:g}% of the pages "
        f"rewritten before each of {a.rounds} checkpoints; `dd` of "
        f"{a.mib} MiB with fsync: {dd:.3f} s; load average "
        f"{min(loads):.1f}-{max(loads):.1f} (2 cores).",
        "",
        "| checkpoint | `-bc` time (median) | image bytes (median) "
        "| bytes / full image |",
        "|---|---:|---:|---:|",
        f"| first, full (`--incremental`) | {incr[0][0]:.3f} s "
        f"| {first:,} | 1 |",
        f"| incremental, after {a.permille / 10:g}% changed | {med_t:.3f} s "
        f"| {med_b:,} | {med_b / first:.4f} |",
        f"| plain (no `--incremental`), same changes | {full_t:.3f} s "
        f"| {full_b:,} | {full_b / first:.4f} |",
        f"| incremental, a 4 MiB process (the round's own cost) "
        f"| {small_t:.3f} s | | |",
        f"| `dd` of the incremental image's size with fsync (median of 5) "
        f"| {small_dd:.3f} s | | |",
        "",
        "Each incremental round: " + ", ".join(
            f"{t:.3f} s / {b:,} B" for t, b, _ in incr[1:]) + ".",
        "",
        f"Full checkpoints ({a.rounds + 1} each, median) of a 4 MiB process: "
        f"{plain4_t:.3f} s; the same process with {a.sparse_gib} GiB of "
        f"`MAP_NORESERVE` memory, 16 pages of it written: {sparse_t:.3f} s "
        f"(" + ", ".join(f"{t:.3f}" for t, _, _ in sparse) + ").",
    ]
    table = "\n".join(lines)
    print(table)
    if a.update:
        path = os.path.join(ROOT, "docs", "benchmarks.md")
        text = open(path).read()
        if BEGIN in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            text = head + BEGIN + "\n" + table + "\n" + END + tail
        else:
            text += ("\n## Incremental checkpoints\n\n"
                     "`python3 bench/incr_bench.py --update` "
                     "(docs/incremental.md).\n\n" + BEGIN + "\n" + table +
                     "\n" + END + "\n")
        open(path, "w").write(text)


if __name__ == "__main__":
    sys.exit(main())
