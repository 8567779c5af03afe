#!/usr/bin/python3
"""Checkpoint and restart time against image size, drawn as SVG.

For each payload size (MiB) it measures `dd` writing that many bytes with
fsync (the machine's limit, best of 3), then, for each payload kind
(random, touched zeros, repetitive text), a blocking checkpoint and a
restart of a process holding it (best of 2; ckpt_bench.py's Bench).  It
writes docs/plots/checkpoint_vs_size.svg, docs/plots/restart_vs_size.svg
(the `dd` time as a dashed line in both) and docs/plots/sizes.csv with
every figure; docs/benchmarks.md links them.

Needs matplotlib (Debian: python3-matplotlib), hence /usr/bin/python3.
    bench/plot_sizes.py [--build build] [--sizes 64,256,1024]
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt_bench import ROOT, Bench, dd_fsync  # noqa: E402

KINDS = ("random", "zero", "text")
COLORS = {"random": "tab:red", "zero": "tab:blue", "text": "tab:green"}


def measure(build, sizes, work):
    """Rows (mib, kind, checkpoint s, restart s, image bytes, dd s)."""
    rows = []
    b = Bench(build, sizes[0], work)
    try:
        for mib in sizes:
            dd = min(dd_fsync(os.path.join(work, "dd.out"), mib)
                     for _ in range(3))
            os.unlink(os.path.join(work, "dd.out"))
            b.mib = mib
            for kind in KINDS:
                runs = [b.one(kind) for _ in range(2)]
                rows.append((mib, kind, min(r[0] for r in runs),
                             min(r[1] for r in runs), runs[-1][2], dd))
                print(f"{mib} MiB {kind}: checkpoint {rows[-1][2]:.3f} s, "
                      f"restart {rows[-1][3]:.3f} s, dd {dd:.3f} s",
                      flush=True)
    finally:
        b.quit()
    return rows


def draw(rows, column, title, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    # Same input, same file: no date, fixed ids.
    matplotlib.rcParams["svg.hashsalt"] = "dmtcp-cpp"
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    sizes = sorted({r[0] for r in rows})
    for kind in KINDS:
        pts = sorted((r[0], r[column]) for r in rows if r[1] == kind)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                color=COLORS[kind], label=kind)
    dd = sorted({(r[0], r[5]) for r in rows})
    ax.plot([d[0] for d in dd], [d[1] for d in dd], linestyle="--",
            color="black", label="dd + fsync (limit)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    ax.set_xlabel("payload (MiB)")
    ax.set_ylabel("seconds")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--sizes", default="64,128,256,512,1024")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "plots"))
    args = ap.parse_args()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        sys.exit("plot_sizes.py: matplotlib is missing "
                 "(apt-get install python3-matplotlib)")
    sizes = [int(s) for s in args.sizes.split(",")]
    work = tempfile.mkdtemp(prefix="dmtcp-plot-", dir=ROOT)
    try:
        rows = measure(args.build, sizes, work)
    finally:
        subprocess.run(["rm", "-rf", work])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "sizes.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mib", "kind", "checkpoint_s", "restart_s", "image_bytes",
                    "dd_fsync_s"])
        for r in rows:
            w.writerow([r[0], r[1], f"{r[2]:.4f}", f"{r[3]:.4f}", r[4],
                        f"{r[5]:.4f}"])
    draw(rows, 2, "Blocking checkpoint (zstd) against dd + fsync",
         os.path.join(args.out, "checkpoint_vs_size.svg"))
    draw(rows, 3, "Restart against dd + fsync of the same bytes",
         os.path.join(args.out, "restart_vs_size.svg"))
    print(f"wrote {args.out}/checkpoint_vs_size.svg, restart_vs_size.svg, "
          "sizes.csv")


if __name__ == "__main__":
    main()
