#!/usr/bin/env python3
"""Checkpoint/restart speed against this machine's own limits, in one run.

For each payload (1 GiB random, touched zeros, repetitive text) it measures
`dd` writing the same number of bytes with fsync, then a blocking
checkpoint of a process holding the payload, then a restart of that image.
It also times `dmtcp_launch /bin/true` against `/bin/true`, and runs
`clock_bench`, `mutex_bench`, `pid_bench` and `file_bench --compare` (the overhead on the
calls a checkpointer could slow down), and clock_gettime before a
checkpoint and after the restart of the same process.  Prints a
Markdown table; --update writes it into docs/benchmarks.md.

--forked measures forked checkpoints only (docs/benchmarks.md, "Forked
checkpoints"): bench_pause holds 1 GiB of random bytes and records the
longest gap between two clock reads while it is checkpointed plainly,
forked, and forked while it rewrites a page on every pass; beside them
the machine's own cost of the copy (a native clone() of the same memory).
--update then writes that table into its own block.

--restart measures restart only (docs/benchmarks.md, "Restart against the
machine's limits"): for each payload (random, zero, text, a mix) the
checkpoint, a cold restart (the image dropped from the page cache with
POSIX_FADV_DONTNEED first, then 5 s of rest), a warm one right after it,
and a warm one with one thread and no huge pages (DMTCP_RESTART_THREADS=1
DMTCP_RESTART_THP=0, roughly the reader before issue 16); beside them a
cold `cat image > /dev/null` and bench_populate's cheapest way to populate
the same bytes, right after other memory was freed and after 5 s of rest,
and the load average.  --update writes that table into its own block.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def publish(args, name, text):
    """Prints text; with --update also puts it between <!-- name --> and
    <!-- /name --> in docs/benchmarks.md."""
    print(text)
    if not args.update:
        return
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(path) as f:
        doc = f.read()
    start = doc.index(f"<!-- {name} -->")
    end = doc.index(f"<!-- /{name} -->")
    doc = doc[:start] + f"<!-- {name} -->\n" + text + "\n" + doc[end:]
    with open(path, "w") as f:
        f.write(doc)


def timed(cmd, **kw):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t


def start_coordinator(build, work, env):
    """A private coordinator on a free port; returns env pointing at it."""
    port_file = os.path.join(work, f"port{len(os.listdir(work))}")
    subprocess.run([os.path.join(build, "bin", "dmtcp_coordinator"),
                    "--daemon", "-q", "-p", "0", "--port-file", port_file],
                   check=True)
    with open(port_file) as f:
        return dict(env, DMTCP_COORD_PORT=f.read().strip())


def quit_coordinator(build, env):
    subprocess.run([os.path.join(build, "bin", "dmtcp_command"), "-q"],
                   env=env, capture_output=True)


def dd_fsync(path, mib):
    return timed(["dd", "if=/dev/zero", f"of={path}", "bs=1M",
                  f"count={mib}", "conv=fsync", "status=none"])


class Bench:
    def __init__(self, build, mib, work):
        self.bin = os.path.join(build, "bin")
        self.fill = os.path.join(build, "bench", "bench_fill")
        self.mib = mib
        self.work = work
        self.build = build
        self.env = start_coordinator(build, work, os.environ)
        self.env["DMTCP_CHECKPOINT_DIR"] = work

    def quit(self):
        quit_coordinator(self.build, self.env)

    def checkpoint(self, kind, gzip=True):
        """Launches bench_fill holding kind, checkpoints it (-bc) and kills
        it; returns (seconds, image path, env with the go file)."""
        go = os.path.join(self.work, "go")
        if os.path.exists(go):
            os.unlink(go)
        for f in os.listdir(self.work):
            if f.endswith(".dmtcp"):
                os.unlink(os.path.join(self.work, f))
        env = dict(self.env, DMTCP_TEST_GO=go)
        launch = [os.path.join(self.bin, "dmtcp_launch")]
        if not gzip:
            launch.append("--no-gzip")
        p = subprocess.Popen(launch + [self.fill, kind, str(self.mib)],
                             env=env, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "READY"
        ckpt = timed([os.path.join(self.bin, "dmtcp_command"), "-bc"],
                     env=env, capture_output=True)
        p.kill()
        p.wait()
        image = [f for f in os.listdir(self.work) if f.endswith(".dmtcp")][0]
        open(go, "w").close()
        return ckpt, os.path.join(self.work, image), env

    def one(self, kind, gzip=True):
        ckpt, image, env = self.checkpoint(kind, gzip)
        size = os.path.getsize(image)
        restart = timed([os.path.join(self.bin, "dmtcp_restart"), image],
                        env=env, stdout=subprocess.DEVNULL)
        return ckpt, restart, size


def drop_cache(path):
    """Makes the next read of path cold (its pages are clean: fsynced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# Seconds of rest before the cold restart and each idle population: long
# enough for a VM that reports free memory to its host (virtio-balloon free
# page reporting, 2 s after memory is freed) to have handed it back.
IDLE = 5


def populate_limit(build, mib, idle=0):
    """bench_populate's cheapest way to populate mib MiB, each method after
    idle seconds of rest: (name, s)."""
    out = subprocess.run([os.path.join(build, "bench", "bench_populate"),
                          str(mib), str(idle)], check=True,
                         capture_output=True, text=True).stdout
    best = out.strip().splitlines()[-1].split()
    return best[1], float(best[2])


def restart_run(b, kind):
    """One checkpoint of kind, then restarts of its image: returns
    (ckpt, cold restart, warm restart, warm 1-thread no-THP restart,
    cold cat, image bytes)."""
    ckpt, image, env = b.checkpoint(kind)
    size = os.path.getsize(image)
    drop_cache(image)
    cat = timed(["cat", image], stdout=subprocess.DEVNULL)
    restart = [os.path.join(b.bin, "dmtcp_restart"), image]
    drop_cache(image)
    time.sleep(IDLE)
    cold = timed(restart, env=env, stdout=subprocess.DEVNULL)
    warm = timed(restart, env=env, stdout=subprocess.DEVNULL)
    old = timed(restart, env=dict(env, DMTCP_RESTART_THREADS="1",
                                  DMTCP_RESTART_THP="0"),
                stdout=subprocess.DEVNULL)
    return ckpt, cold, warm, old, cat, size


def restart_main(args):
    work = tempfile.mkdtemp(prefix="dmtcp-bench-", dir=ROOT)
    rows = []
    load = [os.getloadavg()[0]]
    try:
        b = Bench(args.build, args.mib, work)
        pops = [populate_limit(args.build, args.mib)]
        idle_pop = populate_limit(args.build, args.mib, IDLE)
        for kind in ("random", "zero", "text", "mix"):
            runs = [restart_run(b, kind) for _ in range(args.runs)]
            rows.append((kind,) + tuple(min(r[i] for r in runs)
                                        for i in range(5)) + (runs[-1][5],))
            load.append(os.getloadavg()[0])
        pops.append(populate_limit(args.build, args.mib))
        b.quit()
    finally:
        subprocess.run(["rm", "-rf", work])
    pop_name, pop = min(pops, key=lambda x: x[1])
    idle_name, idle = idle_pop
    cat = rows[0][5]
    out = [f"Payload {args.mib} MiB, best of {args.runs} runs each; load "
           f"average {min(load):.1f}-{max(load):.1f} during the run.  "
           f"Limits from the same run: cold `cat` of the random image "
           f"{cat:.3f} s; cheapest population of {args.mib} MiB right after "
           f"other memory was freed {pop:.3f} s (bench_populate: {pop_name}; "
           f"other run {max(p[1] for p in pops):.3f} s), after {IDLE} s of "
           f"rest {idle:.3f} s ({idle_name}).  The cold restart comes after "
           f"{IDLE} s of rest too, the warm one right after it.", "",
           "| payload | checkpoint s | restart cold s | restart warm s "
           "| warm, 1 thread, no THP s | cold cat s | image bytes "
           "| cold restart / ckpt | cold restart / (cat + populate at rest) "
           "| warm restart / (cat + populate) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, ckpt, cold, warm, old, kcat, size in rows:
        out.append(f"| {kind} | {ckpt:.3f} | {cold:.3f} | {warm:.3f} | "
                   f"{old:.3f} | {kcat:.3f} | {size:,} | {cold / ckpt:.2f} "
                   f"| {cold / (kcat + idle):.2f} "
                   f"| {warm / (kcat + pop):.2f} |")
    publish(args, "restart_bench", "\n".join(out))


def clock_across_restart(build, work):
    """clock_gettime ns/call before a checkpoint and after a restart of the
    same process (the vDSO must be back in place, not a system call)."""
    env = start_coordinator(build, work, os.environ)
    env["DMTCP_CHECKPOINT_DIR"] = work
    go = os.path.join(work, "clock-go")
    env["DMTCP_TEST_GO"] = go
    bin_dir = os.path.join(build, "bin")
    prog = [os.path.join(build, "bench", "clock_bench"), "--across-restart"]
    p = subprocess.Popen([os.path.join(bin_dir, "dmtcp_launch")] + prog,
                         env=env, stdout=subprocess.PIPE, text=True)
    before = float(p.stdout.readline().split()[0])
    subprocess.run([os.path.join(bin_dir, "dmtcp_command"), "-bc"], env=env,
                   check=True, capture_output=True)
    p.kill()
    p.wait()
    image = [os.path.join(work, f) for f in os.listdir(work)
             if f.startswith("ckpt_clock_bench") and f.endswith(".dmtcp")]
    open(go, "w").close()
    out = subprocess.run([os.path.join(bin_dir, "dmtcp_restart")] + image,
                         env=env, check=True, capture_output=True,
                         text=True).stdout
    quit_coordinator(build, env)
    return before, float(out.split()[0])


def launch_overhead(build, work):
    env = start_coordinator(build, work, os.environ)
    native = [timed(["/bin/true"]) for _ in range(20)]
    launched = [timed([os.path.join(build, "bin", "dmtcp_launch"),
                       "/bin/true"], env=env) for _ in range(20)]
    quit_coordinator(build, env)
    return statistics.median(native), statistics.median(launched)


def compute_slowdown(build, work):
    """Median self-timed run of a CPU loop, native and under dmtcp_launch."""
    env = start_coordinator(build, work, os.environ)
    prog = os.path.join(build, "bench", "bench_compute")

    def run(argv):
        out = subprocess.run(argv, env=env, check=True, capture_output=True,
                             text=True).stdout
        return float(out.split()[0])
    native, launched = [], []
    for _ in range(7):  # interleaved, so drift hits both alike
        native.append(run([prog]))
        launched.append(run([os.path.join(build, "bin", "dmtcp_launch"),
                             prog]))
    quit_coordinator(build, env)
    return statistics.median(native), statistics.median(launched)


def overhead(build, program):
    """bench/<program> --compare: its loops natively and under dmtcp_launch
    (each best of 5, timed inside the program, so start-up is not counted).
    Returns [(label, native ns, launched ns)], one per loop."""
    out = subprocess.run([os.path.join(build, "bench", program),
                          "--compare", os.path.join(build, "bin")],
                         check=True, capture_output=True, text=True).stdout
    loops = []
    for line in out.splitlines():
        # "<label>: native N ns, launched M ns, ratio R"
        label, rest = line.split(": ", 1)
        words = rest.replace(",", " ").split()
        loops.append((label, float(words[1]), float(words[4])))
    return loops


def pause_run(build, work, env, mib, forked, dirty):
    """One blocking checkpoint of bench_pause: (seconds for -bc, the
    program's longest gap in ms, image bytes)."""
    for f in os.listdir(work):
        if f.endswith(".dmtcp") or f == "go":
            os.unlink(os.path.join(work, f))
    go = os.path.join(work, "go")
    env = dict(env, DMTCP_TEST_GO=go)
    launch = [os.path.join(build, "bin", "dmtcp_launch")]
    if forked:
        launch.append("--forked-checkpoint")
    if dirty is None:  # an idle program (bench_fill sleeps 1 ms a pass)
        argv = [os.path.join(build, "bench", "bench_fill"), "random",
                str(mib)]
    else:
        argv = [os.path.join(build, "bench", "bench_pause"), str(mib)]
    if dirty:
        argv.append("dirty")
    p = subprocess.Popen(launch + argv, env=env, stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "READY"
    time.sleep(0.5)
    ckpt = timed([os.path.join(build, "bin", "dmtcp_command"), "-bc"],
                 env=env, capture_output=True)
    time.sleep(0.2)
    open(go, "w").close()
    words = p.stdout.readline().split()
    p.wait()
    if dirty is None:
        words = ["-", "-1000"]
    image = [f for f in os.listdir(work) if f.endswith(".dmtcp")][0]
    return ckpt, int(words[1]) / 1000, os.path.getsize(
        os.path.join(work, image))


def forked_bench(build, mib, work, runs):
    """Rows (mode, -bc s best/median, gap ms best/median, image bytes)
    and the native clone() cost in ms (best, median)."""
    env = start_coordinator(build, work, os.environ)
    env["DMTCP_CHECKPOINT_DIR"] = work
    out = subprocess.run([os.path.join(build, "bench", "bench_pause"),
                          "--clone-cost", str(mib)], check=True,
                         capture_output=True, text=True).stdout
    clones = [int(x) / 1000 for x in out.split()]
    modes = (("plain", False, False), ("forked", True, False),
             ("forked, program dirtying pages", True, True),
             ("plain, idle program", False, None),
             ("forked, idle program", True, None))
    results = {name: [] for name, _, _ in modes}
    for _ in range(runs):  # interleaved, so drift hits every mode alike
        for name, forked, dirty in modes:
            results[name].append(pause_run(build, work, env, mib, forked,
                                           dirty))
    quit_coordinator(build, env)
    rows = []
    for name, _, _ in modes:
        r = results[name]
        rows.append((name, min(x[0] for x in r),
                     statistics.median(x[0] for x in r),
                     min(x[1] for x in r), statistics.median(x[1] for x in r),
                     r[-1][2]))
    return rows, (min(clones), statistics.median(clones))


def forked_main(args):
    work = tempfile.mkdtemp(prefix="dmtcp-bench-", dir=ROOT)
    try:
        rows, clone = forked_bench(args.build, args.mib, work, args.runs)
    finally:
        subprocess.run(["rm", "-rf", work])
    out = [f"Payload {args.mib} MiB of random bytes, {args.runs} runs of "
           f"each mode interleaved; best / median.  The machine's own cost "
           f"of the copy (a native `clone()` of the same memory): "
           f"{clone[0]:.1f} / {clone[1]:.1f} ms.", "",
           "| mode | -bc s | pause ms (longest clock gap) | image bytes "
           "| -bc / plain (best, median) |", "|---|---|---|---|---|"]
    for name, bc_best, bc_med, gap_best, gap_med, size in rows:
        plain = rows[3] if "idle" in name else rows[0]
        gap = ("-" if gap_best < 0 else
               f"{gap_best:.1f} / {gap_med:.1f}")
        out.append(f"| {name} | {bc_best:.3f} / {bc_med:.3f} | {gap} | "
                   f"{size:,} | {bc_best / plain[1]:.2f}, "
                   f"{bc_med / plain[2]:.2f} |")
    publish(args, "forked_bench", "\n".join(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--forked", action="store_true",
                    help="forked checkpoints only (their own table)")
    ap.add_argument("--restart", action="store_true",
                    help="restart against its limits only (own table)")
    ap.add_argument("--runs", type=int, default=None,
                    help="runs of each mode with --forked (5) or --restart "
                    "(3)")
    args = ap.parse_args()
    if args.forked:
        args.runs = args.runs or 5
        return forked_main(args)
    if args.restart:
        args.runs = args.runs or 3
        return restart_main(args)
    work = tempfile.mkdtemp(prefix="dmtcp-bench-", dir=ROOT)
    rows = []
    try:
        b = Bench(args.build, args.mib, work)
        # The machine's write speed is noisy (the first large write after
        # freeing memory is slow, and later ones vary by a third): best of
        # five for dd and of three for each payload, so noise flatters
        # neither side much.
        dds = []
        for _ in range(5):
            dds.append(dd_fsync(os.path.join(work, "dd.out"), args.mib))
            os.unlink(os.path.join(work, "dd.out"))
        dd = min(dds)
        for kind, gzip in (("random", True), ("random", False),
                           ("zero", True), ("text", True)):
            runs = [b.one(kind, gzip) for _ in range(3)]
            ckpt = min(r[0] for r in runs)
            restart = min(r[1] for r in runs)
            size = runs[-1][2]
            rows.append((kind, "zstd" if gzip else "none", ckpt, restart,
                         size, ckpt / dd, restart / ckpt))
        b.quit()
        native, launched = launch_overhead(args.build, work)
        compute = compute_slowdown(args.build, work)
        loops = (overhead(args.build, "clock_bench") +
                 overhead(args.build, "mutex_bench") +
                 overhead(args.build, "pid_bench") +
                 overhead(args.build, "file_bench"))
        clock = clock_across_restart(args.build, work)
    finally:
        subprocess.run(["rm", "-rf", work])
    gib = args.mib / 1024
    out = [f"Payload {args.mib} MiB; `dd` of the same bytes with fsync: "
           f"best {dd:.3f} s ({gib / dd:.2f} GiB/s) of "
           f"{', '.join(f'{d:.3f}' for d in dds)}.", "",
           "| payload | compression | checkpoint s | restart s | image bytes "
           "| ckpt / dd | restart / ckpt |", "|---|---|---|---|---|---|---|"]
    for kind, comp, ckpt, restart, size, r1, r2 in rows:
        out.append(f"| {kind} | {comp} | {ckpt:.3f} | {restart:.3f} | "
                   f"{size:,} | {r1:.2f} | {r2:.2f} |")
    out += ["", f"`/bin/true`: {native * 1000:.1f} ms native, "
            f"{launched * 1000:.1f} ms under dmtcp_launch "
            f"(+{(launched - native) * 1000:.1f} ms, median of 20).",
            f"CPU loop: {compute[0]:.3f} s native, {compute[1]:.3f} s under "
            f"dmtcp_launch (ratio {compute[1] / compute[0]:.3f}, median of "
            f"7 interleaved runs)."]
    for label, nat, lau in loops:
        out.append(f"{label} loop: {nat:.0f} ns/iteration native, {lau:.0f} "
                   f"ns under dmtcp_launch (ratio {lau / nat:.3f}, best of 5 "
                   f"each).")
    out.append(f"clock_gettime in one launched process: {clock[0]:.1f} ns "
               f"before the checkpoint, {clock[1]:.1f} ns after its restart "
               f"(ratio {clock[1] / clock[0]:.3f}, best of 5 each).")
    publish(args, "ckpt_bench", "\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
