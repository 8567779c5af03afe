#!/usr/bin/env python3
"""Scale figures of computations over several simulated hosts (issue 15
item 6), against this machine's own limits in the same run.

Hosts are those of tests/distributed/dist_test.py (network + UTS
namespaces joined by a bridge), but four of them, dmtcp-bench-host-a..d
on 10.199.16.1-4, in namespaces named dmtcp-bench-<pid>-*: a ctest run of
the distributed label may go on at the same time.

1. Coordinator round (--processes, default 8,16,32,64): N single-threaded
   bench_idle_threads spread evenly over the 4 hosts, one coordinator on
   host A opened to the network (--bind).  The median of --runs blocking
   checkpoints (`dmtcp_command -bc`): its wall time and the coordinator's
   step times of the slowest process (`--json --stats`, as
   scale_bench.py).  Then everything is killed and the restart script
   (run on A, the other hosts through netns_ssh.sh) brings the N processes
   back on their hosts: the wall time until the coordinator lists all N
   RUNNING, and the restart round's own time.  The slope between the
   first and last rows is what grows per process.
2. MPI (--mpi, default mpich; openmpi too): mpi_payload (bench/
   mpi_payload.c, compiled here with the flavour's mpicc) in 4 ranks over
   hosts A and B (2 each), its daemons started over real ssh (an sshd per
   host, as tests/distributed/ssh_test.py), each rank holding --mib MiB
   (default 16,64,256) of non-repeating bytes.  The median of --runs
   checkpoints, the images' total bytes (every process of the job:
   launcher, proxies, dmtcp_ssh, ranks); then --runs times: kill all,
   restart through the restart script with the hosts swapped (--hostfile
   A=B B=A) until every process is RUNNING again; the last restart gets
   the go file and its result must equal the one before the checkpoint.
   Beside them `dd` writing the images' bytes with fsync into the same
   directory (best of --runs), as ckpt_bench.py.

Needs root (ip netns; sshd for the MPI part): otherwise one SKIP line and
exit 0.  Everything it writes goes to one tempfile.mkdtemp() directory
(--dir), removed at the end (kept on failure, for a look).  --update
writes the tables into docs/benchmarks.md.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "distributed"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from ckpt_bench import ROOT, dd_fsync, publish  # noqa: E402
from dist_test import (Hosts, clean_up, run, start_coordinator,  # noqa
                       text)
from harness import Failure, LoggedPopen, reap_all, subreaper  # noqa: E402
from ssh_test import SSHD, start_sshds  # noqa: E402

NET = "10.199.16"
HOSTS = {h: (f"dmtcp-bench-host-{h}", f"{NET}.{i + 1}")
         for i, h in enumerate("abcd")}
SWAP = (f"{HOSTS['a'][0]}={HOSTS['b'][0]}\n"
        f"{HOSTS['b'][0]}={HOSTS['a'][0]}\n")
RANKS = 4


def wait_until(pred, what, timeout=300, nap=0.1):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise Failure(f"timed out waiting for {what}")
        time.sleep(nap)


class Job:
    """One computation: the hosts, a work directory of its own (keys,
    images, go file) and the coordinator on A."""

    def __init__(self, hosts, bin_dir, base, name, remote_shell):
        self.hosts, self.bin = hosts, bin_dir
        self.work = os.path.join(base, name)
        self.ckpt = os.path.join(self.work, "ckpt")
        keys = os.path.join(self.work, "keys")
        os.makedirs(self.ckpt)
        os.makedirs(keys)
        self.go = os.path.join(self.work, "go")
        self.env = dict(os.environ, DMTCP_TMPDIR=keys, TMPDIR=keys,
                        DMTCP_TEST_GO=self.go, DMTCP_TEST_HOSTS=hosts.dir,
                        DMTCP_REMOTE_SHELL=remote_shell,
                        OMPI_ALLOW_RUN_AS_ROOT="1",
                        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        for k in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT",
                  "DMTCP_CHECKPOINT_DIR", "DMTCP_RESTART_HOSTS",
                  "DMTCP_SSH_PLUGIN"):
            self.env.pop(k, None)
        start_coordinator(hosts, self.tool, self.work, self.ckpt, self.env)

    def tool(self, name):
        return os.path.join(self.bin, name)

    def command(self, *args, check=True):
        return run(self.hosts.on("a", [self.tool("dmtcp_command"), *args]),
                   env=self.env, check=check)

    def running(self):
        r = self.command("-l", check=False)
        return r.stdout.count("RUNNING") if r.returncode == 0 else -1

    def stats(self, kind):
        """The last round's stats; it must be a kind round that did not
        fail."""
        st = json.loads(self.command("--json", "--stats").stdout)["stats"]
        if st["kind"] != kind or st["failed"]:
            raise Failure(f"the last round is not a good {kind}: {st}")
        return st

    def checkpoint(self):
        """One -bc: (wall s, the round's stats)."""
        t = time.perf_counter()
        self.command("-bc")
        wall = time.perf_counter() - t
        return wall, self.stats("checkpoint")

    def kill(self, procs):
        """-k, the processes waited for, the coordinator gone."""
        self.command("-k")
        for p in procs:
            p.wait(timeout=120)
        self.command("-q", check=False)
        wait_until(lambda: self.command("-s", check=False).returncode != 0,
                   "the coordinator to go")
        reap_all()

    def restart(self, count, argv=()):
        """The restart script on A (it starts the coordinator again);
        returns (its Popen, wall s until count processes are RUNNING)."""
        env = {k: v for k, v in self.env.items()
               if k not in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT")}
        script = os.path.join(self.ckpt, "dmtcp_restart_script.sh")
        out = os.path.join(self.work, f"restart{time.time():.0f}.out")
        t = time.perf_counter()
        p = LoggedPopen(self.hosts.on("a", [script, *argv]), out, env=env,
                        cwd=self.work)

        def back():
            if p.poll() is not None:
                raise Failure(f"the restart script exited {p.poll()}: "
                              f"{text(out)}")
            return self.running() == count
        wait_until(back, f"{count} processes to restart")
        wall = time.perf_counter() - t
        p.out = out
        return p, wall


def steps_of(stats):
    """The slowest process's steps by name."""
    slow = max(stats["processes"], key=lambda q: q["busy_ms"])
    return dict(zip(stats["steps"], slow["steps_ms"]))


def round_row(hosts, bin_dir, base, count, runs):
    """N bench_idle_threads over the 4 hosts: medians of (-bc s, suspend
    ms, write ms, resume..refill ms, round total ms) and of (restart s,
    restart round ms)."""
    job = Job(hosts, bin_dir, base, f"round{count}",
              os.path.join(ROOT, "tests", "distributed", "netns_ssh.sh"))
    prog = os.path.join(os.path.dirname(bin_dir), "bench",
                        "bench_idle_threads")
    names = sorted(HOSTS)
    procs = [subprocess.Popen(
        hosts.on(names[i % len(names)],
                 [job.tool("dmtcp_launch"), prog, "0"]),
        env=job.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True) for i in range(count)]
    for p in procs:
        if p.stdout.readline().strip() != "READY":
            raise Failure("a bench_idle_threads did not start")
    wait_until(lambda: job.running() == count, f"{count} processes to join")
    ckpts = []
    for _ in range(runs):
        wall, st = job.checkpoint()
        if len(st["processes"]) != count:
            raise Failure(f"{len(st['processes'])} processes in the round")
        ms = steps_of(st)
        ckpts.append((wall, ms["suspend"] + ms["suspended"], ms["write"],
                      ms["resume"] + ms["register"] + ms["query"] +
                      ms["refill"], st["total_ms"]))
    job.kill(procs)
    restarts = []
    for i in range(runs):
        script, wall = job.restart(count)
        restarts.append((wall, job.stats("restart")["total_ms"]))
        if i + 1 < runs:
            job.kill([script])
    open(job.go, "w").close()
    rc = script.wait(timeout=120)
    if rc != 0:
        raise Failure(f"the restart script exited {rc}: {text(script.out)}")
    shutil.rmtree(job.work)
    return (tuple(statistics.median(r[i] for r in ckpts) for i in range(5)),
            tuple(statistics.median(r[i] for r in restarts)
                  for i in range(2)))


def mpi_launcher(flavour, work, ssh):
    """(mpicc, launcher argv before the program), hosts by address."""
    a, b = HOSTS["a"][1], HOSTS["b"][1]
    if flavour == "openmpi":
        hostfile = os.path.join(work, "ompi-hosts")
        with open(hostfile, "w") as f:
            f.write(f"{a} slots=2\n{b} slots=2\n")
        return "mpicc.openmpi", [
            "mpirun.openmpi", "--hostfile", hostfile, "-np", str(RANKS),
            "--map-by", "slot", "--mca", "plm_rsh_agent", ssh]
    hostfile = os.path.join(work, "hydra-hosts")
    with open(hostfile, "w") as f:
        f.write(f"{a}:2\n{b}:2\n")
    return "mpicc.mpich", ["mpiexec.mpich", "-f", hostfile, "-n",
                           str(RANKS), "-launcher", "ssh", "-launcher-exec",
                           ssh, "-localhost", a]


def mpi_row(hosts, bin_dir, base, ssh, flavour, mib, runs):
    """One MPI job of RANKS ranks holding mib MiB each: (processes, image
    bytes, median ckpt s, median restart s, median restart round ms,
    best dd s of the image bytes)."""
    job = Job(hosts, bin_dir, base, f"{flavour}{mib}", ssh)
    mpicc, launcher = mpi_launcher(flavour, job.work, ssh)
    prog = os.path.join(base, f"mpi_payload.{flavour}")
    if not os.path.exists(prog):
        run([mpicc, "-O2", "-o", prog, os.path.join(HERE, "mpi_payload.c")])
    out = os.path.join(job.work, "job.out")
    p = LoggedPopen(hosts.on("a", [job.tool("dmtcp_launch"), "--ckpt-signal",
                                   "40", *launcher, prog, str(mib)]),
                    out, env=job.env, cwd=job.work)
    wait_until(lambda: "READY" in text(out) or p.poll() is not None,
               "the job to fill its memory", timeout=600)
    if p.poll() is not None:
        raise Failure(f"the job exited {p.poll()}: {text(out)}")
    want = [ln for ln in text(out).splitlines()
            if ln.startswith("READY")][0].split()[1]
    before = job.command("-l").stdout
    count = before.count("RUNNING")
    ckpts = []
    for _ in range(runs):
        wall, st = job.checkpoint()
        size = sum(q.get("image_bytes") or 0 for q in st["processes"])
        ckpts.append((wall, size))
    job.kill([p])
    dds = []
    scratch = os.path.join(job.ckpt, "dd")
    for _ in range(runs):
        dds.append(dd_fsync(scratch, max(1, round(ckpts[-1][1] / 2**20))))
        os.unlink(scratch)
    hostfile = os.path.join(job.work, "swap")
    with open(hostfile, "w") as f:
        f.write(SWAP)
    restarts = []
    for i in range(runs):
        script, wall = job.restart(count, ["--hostfile", hostfile])
        restarts.append((wall, job.stats("restart")["total_ms"]))
        after = job.command("-l").stdout
        for h, other in (("a", "b"), ("b", "a")):
            if after.count(f"@{HOSTS[other][0]},") != \
                    before.count(f"@{HOSTS[h][0]},"):
                raise Failure(f"{HOSTS[h][0]}'s processes are not on "
                              f"{HOSTS[other][0]} after the restart:\n"
                              f"{after}")
        if i + 1 < runs:
            job.kill([script])
    open(job.go, "w").close()
    rc = script.wait(timeout=300)
    got = [ln for ln in text(script.out).splitlines()
           if ln.startswith("RESULT")]
    if rc != 0 or got != [f"RESULT {want}"]:
        raise Failure(f"the restarted job exited {rc}, {got} where "
                      f"RESULT {want} was due: {text(script.out)}")
    shutil.rmtree(job.work)
    return (count, ckpts[-1][1], statistics.median(c[0] for c in ckpts),
            statistics.median(r[0] for r in restarts),
            statistics.median(r[1] for r in restarts), min(dds))


def need_root():
    if os.geteuid() != 0 or shutil.which("ip") is None or \
            subprocess.run(["ip", "netns", "list"],
                           capture_output=True).returncode != 0:
        print("SKIP: simulated hosts need root and iproute2 (ip netns)")
        sys.exit(0)


def report(args, counts, rounds, mpis, load):
    out = [f"{args.runs} runs each (medians; dd best of {args.runs}); load "
           f"average {min(load):.1f}-{max(load):.1f} during the run; 4 "
           f"simulated hosts on this machine's 2 CPUs; images in "
           f"{args.dir or tempfile.gettempdir()}; restarts warm (images "
           f"in the page cache).", ""]
    if rounds:
        out += ["| processes (4 hosts) | -bc s | suspend ms | write ms "
                "| resume..refill ms | round ms | restart s "
                "| restart round ms |", "|---|---|---|---|---|---|---|---|"]
        for n, (c, r) in zip(counts, rounds):
            out.append(f"| {n} | {c[0]:.3f} | {c[1]:.0f} | {c[2]:.0f} | "
                       f"{c[3]:.0f} | {c[4]:.0f} | {r[0]:.2f} | {r[1]:.0f} |")
        if len(rounds) > 1:
            d = counts[-1] - counts[0]
            (c0, r0), (c1, r1) = rounds[0], rounds[-1]
            out += ["", f"Per extra process ({counts[0]} -> {counts[-1]}): "
                    f"{(c1[0] - c0[0]) / d * 1000:.1f} ms of -bc "
                    f"({(c1[1] - c0[1]) / d:.2f} ms of suspend, "
                    f"{(c1[2] - c0[2]) / d:.2f} ms of the slowest write, "
                    f"{(c1[3] - c0[3]) / d:.2f} ms of resume..refill); "
                    f"{(r1[0] - r0[0]) / d * 1000:.1f} ms of restart "
                    f"({(r1[1] - r0[1]) / d:.1f} ms of the restart round)."]
        out.append("")
    if mpis:
        out += ["| MPI, 4 ranks on 2 hosts | MiB per rank | processes "
                "| image bytes | checkpoint s | MB/s | dd s | ckpt / dd "
                "| restart s (hosts swapped) | MB/s | restart round ms |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for flavour, mib, (n, size, ck, rs, rms, dd) in mpis:
            out.append(f"| {flavour} | {mib} | {n} | {size:,} | {ck:.2f} | "
                       f"{size / ck / 1e6:.0f} | {dd:.2f} | {ck / dd:.2f} | "
                       f"{rs:.2f} | {size / rs / 1e6:.0f} | {rms:.0f} |")
    publish(args, "dist_scale_bench", "\n".join(out).rstrip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--processes", default="8,16,32,64",
                    help="process counts of the round, comma-separated "
                    "(empty: skip)")
    ap.add_argument("--mpi", default="mpich",
                    help="MPI flavours: mpich, openmpi (empty: skip)")
    ap.add_argument("--mib", default="16,64,256",
                    help="MiB per rank of the MPI job, comma-separated")
    ap.add_argument("--dir", default=None,
                    help="where the work directory goes (default $TMPDIR)")
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()
    need_root()
    counts = [int(c) for c in args.processes.split(",") if c]
    flavours = [f for f in args.mpi.split(",") if f]
    mibs = [int(m) for m in args.mib.split(",") if m]
    if flavours and not os.access(SSHD, os.X_OK):
        print("SKIP: no sshd for the MPI part (openssh-server)")
        sys.exit(0)
    for f in flavours:
        mpicc = {"mpich": "mpicc.mpich", "openmpi": "mpicc.openmpi"}[f]
        if shutil.which(mpicc) is None:
            print(f"SKIP: {mpicc} not installed (scripts/setup.sh)")
            sys.exit(0)
    bin_dir = os.path.join(os.path.abspath(args.build), "bin")
    subreaper()
    base = tempfile.mkdtemp(prefix="dmtcp-dist-bench-", dir=args.dir)
    hosts, ok = None, False
    load = [os.getloadavg()[0]]
    rounds, mpis = [], []
    try:
        hosts = Hosts(base, HOSTS, prefix="dmtcp-bench-")
        for n in counts:
            rounds.append(round_row(hosts, bin_dir, base, n, args.runs))
            print(f"{n} processes: {rounds[-1]}", flush=True)
            load.append(os.getloadavg()[0])
        if flavours:
            sshbin = os.path.join(base, "sshbin")
            os.makedirs(sshbin)
            ssh = os.path.join(sshbin, "ssh")
            client_cfg, _ = start_sshds(hosts, base)
            with open(ssh, "w") as f:
                f.write(f"#!/bin/sh\nexec /usr/bin/ssh -F {client_cfg} "
                        "\"$@\"\n")
            os.chmod(ssh, 0o755)
            for f in flavours:
                for mib in mibs:
                    row = mpi_row(hosts, bin_dir, base, ssh, f, mib,
                                  args.runs)
                    mpis.append((f, mib, row))
                    print(f"{f} {mib} MiB/rank: {row}", flush=True)
                    load.append(os.getloadavg()[0])
        ok = True
    except (Failure, subprocess.TimeoutExpired, OSError) as e:
        print(f"FAIL: {e}\n(work directory kept: {base})", flush=True)
    finally:
        clean_up(hosts, base, ok)
    if not ok:
        sys.exit(1)
    report(args, counts, rounds, mpis, load)


if __name__ == "__main__":
    main()
