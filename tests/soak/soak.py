#!/usr/bin/env python3
"""Soak: every end-to-end program of the test suite through many
checkpoint/restart cycles (docs/soak.md).  Not part of ctest.

The programs are the suite's own: ctest lists every test that runs
tests/e2e/harness.py (with its harness options, environment and working
directory), and each one with a restart2 mode (checkpoint, kill, restart
through the restart script) is soaked.  For each program, each cycle:

  1. wait a random delay (0 to --max-delay s, drawn from the seed), so the
     checkpoint falls at a different point of the program each time;
  2. dmtcp_command -bc (or -kc where the test asks for --ckpt-kill), timed;
  3. kill the computation (every process gets SIGKILL);
  4. restart it with the dmtcp_restart_script.sh that checkpoint wrote,
     timed until the coordinator has all processes back and running;
  5. the program must still be running and have printed no FAIL (many
     programs verify their state continually while they wait).

Every --verify-every cycles (default 10) the computation is told to go:
it verifies its whole state (memory byte for byte, threads, fds...) and
must print PASS with the expected exit status, and the harness's output
checks (checkpoint warnings, forbidden lines) must hold; then a fresh
computation carries on with the next cycles.  --verify-every 1 runs the
self-check after every cycle, --verify-every 100 chains 100 restarts of
one computation.

Each chain runs in a worker process of its own (this script with
--worker), a child subreaper as the harness is, in the test's
environment; its log is <logdir>/<test>.<chain>.log.  A failure is
reported with the seed, program, cycle and log, and the command that
replays it (the delays of a chain depend only on the seed, the program
and the chain's first cycle).  The work directory of a failed chain is
kept.
"""
import argparse
import json
import os
import random
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness  # noqa: E402  (tests/e2e/harness.py, reused as is)

RESULT = "[soak] RESULT "
# Harness options whose tests a cycle of -bc, kill, restart does not fit.
UNSOAKABLE = {
    "--self-ckpt": "the program takes its own checkpoints (--self-ckpt)",
    "--new-coordinator": "restarts under a new coordinator "
                         "(--new-coordinator); its program is soaked as "
                         "another test",
}


# -- the programs ------------------------------------------------------
class Program:
    """One e2e test of the suite, as ctest would run its restart2 mode."""

    def __init__(self, name, harness_argv, env, cwd):
        self.name = name              # e.g. e2e.memory, socket.echo
        self.harness_argv = harness_argv  # harness options and program
        self.env = env                # ctest ENVIRONMENT entries
        self.cwd = cwd


def list_programs(build):
    """Every harness test ctest knows in `build`: (soaked, skipped), the
    soaked ones with their restart2 test's options, the skipped ones as
    (name, reason)."""
    r = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit(f"soak: ctest --show-only failed in {build}: "
                         f"{r.stderr.strip()}")
    tests = json.loads(r.stdout)["tests"]
    modes = {}   # base name -> {mode: test}
    for t in tests:
        cmd = t.get("command") or []
        if len(cmd) < 2 or not cmd[1].endswith("/e2e/harness.py"):
            continue
        base, _, mode = t["name"].rpartition(".")
        modes.setdefault(base, {})[mode] = t
    soaked, skipped = [], []
    for base in sorted(modes):
        t = modes[base].get("restart2")
        if t is None:
            skipped.append((base, "no restart2 mode in the suite (modes: "
                            + " ".join(sorted(modes[base])) + ")"))
            continue
        argv = t["command"][2:]
        reason = [why for opt, why in UNSOAKABLE.items() if opt in argv]
        if reason:
            skipped.append((base, reason[0]))
            continue
        # Drop the options the soak sets itself.
        out, i = [], 0
        while i < len(argv):
            if argv[i] in ("--bin", "--mode", "--workdir"):
                i += 2
                continue
            out.append(argv[i])
            i += 1
        env, cwd = {}, build
        for prop in t.get("properties", []):
            if prop["name"] == "ENVIRONMENT":
                for kv in prop["value"]:
                    k, _, v = kv.partition("=")
                    env[k] = v
            elif prop["name"] == "WORKING_DIRECTORY":
                cwd = prop["value"]
        soaked.append(Program(base, out, env, cwd))
    return soaked, skipped


# -- one chain (the worker) ---------------------------------------------
class SoakRun(harness.Run):
    """The harness's Run, driven through `cycles` cycles."""

    def __init__(self, args, first, cycles, delays):
        super().__init__(args)
        self.first = first
        self.cycles = cycles
        self.delays = delays
        self.cycle = first - 1  # the cycle in progress
        self.stage = "launch"   # and its step, for the report
        self.passed = 0         # cycles whose restart was checked
        self.ckpt_ms = []
        self.restart_ms = []

    def run(self):
        if self.args.new_coordinator or self.args.mode != "restart2":
            raise harness.Failure("soak: unsupported harness options")
        self.start_coordinator()
        self.spawn(self.launched_argv(), "launched")
        self.root_pid = self.proc.pid
        self.wait_for_text("READY")
        ckpt_kill = self.args.ckpt_kill
        for i in range(self.cycles):
            self.cycle = self.first + i
            self.stage = "checkpoint"
            time.sleep(self.delays[i])
            t0 = time.monotonic()
            self.checkpoint(then_kill=ckpt_kill)
            self.ckpt_ms.append((time.monotonic() - t0) * 1000)
            self.stage = "kill"
            self.kill_program(killed=ckpt_kill)
            self.stage = "restart"
            t0 = time.monotonic()
            self.restart(f"cycle{self.cycle}", use_script=True)
            self.restart_ms.append((time.monotonic() - t0) * 1000)
            self.stage = "check after restart"
            if self.proc.poll() is not None:
                raise harness.Failure(
                    f"the restarted program exited ({self.proc.returncode})")
            if "FAIL" in self.output():
                raise harness.Failure("the restarted program reported FAIL")
            self.passed += 1
            self.log(f"cycle {self.cycle} ok: checkpoint "
                     f"{self.ckpt_ms[-1]:.0f} ms, restart "
                     f"{self.restart_ms[-1]:.0f} ms")
        # The self-check: the program verifies its whole state.
        self.stage = "self-check"
        time.sleep(self.args.settle)
        self.finish()
        self.check_ckpt_warnings()


def chain_delays(seed, name, first, cycles, max_delay):
    rng = random.Random(f"{seed}/{name}/{first}")
    return [rng.uniform(0, max_delay) for _ in range(cycles)]


def worker(wargs):
    p = harness.argument_parser()
    args = p.parse_args(["--bin", wargs.bin, "--mode", "restart2",
                         "--workdir", wargs.workdir, *wargs.harness])
    if args.program and args.program[0] == "--":
        args.program = args.program[1:]
    if args.pid_namespace and os.environ.get(harness.IN_PID_NS) is None:
        harness.enter_pid_namespace("restart2")  # runs us again inside
    harness.subreaper()
    if args.remove_ipc:
        harness.private_ipc_namespace()
    delays = chain_delays(wargs.seed, wargs.name, wargs.first, wargs.cycles,
                          wargs.max_delay)
    try:
        run = SoakRun(args, wargs.first, wargs.cycles, delays)
    except OSError as e:
        print(f"[harness] FAILED: cannot set up: {e}", flush=True)
        sys.exit(1)
    error = None
    try:
        run.run()
    except (harness.Failure, subprocess.SubprocessError, OSError) as e:
        error = str(e)
        print(f"[harness] FAILED (cycle {run.cycle}, {run.stage}): {e}",
              flush=True)
    if not run.cleanup():
        print("[harness] FAILED: processes left behind", flush=True)
        error = error or "processes left behind"
    if error:
        run.dump_outputs(40, "output ")
    else:
        subprocess.run(["rm", "-rf", run.work])
    result = {"passed": run.passed, "ckpt_ms": run.ckpt_ms,
              "restart_ms": run.restart_ms, "error": error,
              "cycle": run.cycle, "stage": run.stage, "work": run.work}
    print(RESULT + json.dumps(result), flush=True)
    sys.exit(0 if error is None else 1)


# -- the driver ---------------------------------------------------------
def run_chain(opts, prog, first, cycles, logdir):
    """Runs one chain in a worker; returns its result dict."""
    log = os.path.join(logdir, f"{prog.name}.{first}.log")
    # --harness-opt goes after the test's own options (the last wins),
    # before the program.
    own = prog.harness_argv
    cut = own.index("--") if "--" in own else 0
    argv = [sys.executable, os.path.abspath(__file__), "--worker",
            "--bin", opts.bin, "--workdir", opts.workdir,
            "--name", prog.name, "--seed", str(opts.seed),
            "--first", str(first), "--cycles", str(cycles),
            "--max-delay", str(opts.max_delay), "--", *own[:cut],
            *opts.harness_opt, *own[cut:]]
    env = dict(os.environ, **prog.env)
    # Every step is bounded by the harness (DMTCP_TEST_TIMEOUT); this
    # bounds the whole chain in case something outside a step hangs.
    limit = 600 + cycles * 4 * harness.STEP_TIMEOUT
    with open(log, "w") as f:
        f.write(f"# {shlex.join(argv)}\n# cwd {prog.cwd}\n")
        f.flush()
        proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env,
                                cwd=prog.cwd, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # What a worker killed here leaves behind came to us (a subreaper).
    stray = harness.live_children()
    for pid in stray:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    harness.reap_all()
    if stray:
        with open(log, "a") as f:
            f.write(f"[soak] killed {len(stray)} process(es) left behind\n")
    result, cycle = None, first
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith(RESULT):
                result = json.loads(line[len(RESULT):])
            m = re.match(r"\[harness\] cycle (\d+) ok", line)
            if m:
                cycle = int(m.group(1)) + 1
    if result is None:
        # Killed at the chain's time limit, or crashed: the cycle after
        # the last one its log calls ok.
        how = ("killed after the chain's limit of "
               f"{limit:.0f} s" if timed_out else
               f"ended ({proc.returncode}) without a result")
        result = {"passed": 0, "ckpt_ms": [], "restart_ms": [],
                  "cycle": cycle, "stage": "worker", "work": None,
                  "error": f"the worker {how}"}
    result["log"] = log
    return result


def median(values):
    return f"{statistics.median(values):.0f}" if values else "-"


def driver(opts):
    build = os.path.abspath(opts.build)
    opts.bin = opts.bin or os.path.join(build, "bin")
    programs, skipped = list_programs(build)
    harness.subreaper()
    if opts.filter:
        pattern = re.compile(opts.filter)
        programs = [p for p in programs if pattern.search(p.name)]
        skipped = [s for s in skipped if pattern.search(s[0])]
    if opts.exclude:
        pattern = re.compile(opts.exclude)
        programs = [p for p in programs if not pattern.search(p.name)]
    if opts.list:
        for p in programs:
            print(f"{p.name}: {shlex.join(p.harness_argv)}")
        for name, why in skipped:
            print(f"{name}: not soaked, {why}")
        return 0
    if not programs:
        print("soak: no program matches", file=sys.stderr)
        return 2
    if opts.seed is None:
        opts.seed = random.SystemRandom().randrange(1 << 32)
    logdir = os.path.abspath(opts.logdir or os.path.join(
        build, "soak", time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(logdir, exist_ok=True)
    opts.workdir = os.path.join(logdir, "work")
    os.makedirs(opts.workdir, exist_ok=True)
    every = opts.verify_every or opts.cycles
    print(f"[soak] seed {opts.seed}, {opts.cycles} cycle(s) per program, "
          f"self-check every {every}, {len(programs)} program(s), logs in "
          f"{logdir}", flush=True)
    for name, why in skipped:
        print(f"[soak] {name}: not soaked, {why}", flush=True)
    rows, failures = [], []
    started = time.monotonic()
    for prog in programs:
        passed, ckpt, restart, failure = 0, [], [], None
        t0 = time.monotonic()
        first = 1
        while first <= opts.cycles:
            n = min(every, opts.cycles - first + 1)
            r = run_chain(opts, prog, first, n, logdir)
            ckpt += r["ckpt_ms"]
            restart += r["restart_ms"]
            if r["error"]:
                # A cycle passes with its chain's self-check: none of a
                # failed chain's count.
                failure = (f'{r["cycle"]} ({r["stage"]})', r["error"],
                           r["log"], r["work"])
                break
            passed += r["passed"]
            first += n
        secs = time.monotonic() - t0
        rows.append((prog.name, passed, median(ckpt), median(restart),
                     f"{secs:.0f}"))
        if failure:
            cycle, error, log, work = failure
            replay = (f"{shlex.quote(sys.argv[0])} --build "
                      f"{shlex.quote(build)} --bin {shlex.quote(opts.bin)} "
                      f"--seed {opts.seed} "
                      f"--cycles {opts.cycles} --verify-every {every} "
                      f"--max-delay {opts.max_delay} " +
                      "".join(f"--harness-opt={shlex.quote(o)} "
                              for o in opts.harness_opt) +
                      f"--filter '^{re.escape(prog.name)}$'")
            failures.append(
                f"FAIL seed={opts.seed} program={prog.name} cycle={cycle} "
                f"log={log}\n  {error}\n"
                f"  work dir: {work or '(in the log)'}\n"
                f"  replay: {replay}")
            print(f"[soak] {failures[-1]}", flush=True)
        else:
            print(f"[soak] {prog.name}: {passed}/{opts.cycles} cycles "
                  f"passed in {secs:.0f} s", flush=True)
        if opts.budget and time.monotonic() - started > opts.budget * 60:
            print(f"[soak] budget of {opts.budget} min spent: stopping "
                  f"after {len(rows)} of {len(programs)} program(s)",
                  flush=True)
            break
    width = max(len("program"), *(len(r[0]) for r in rows))
    print()
    print(f"{'program':<{width}}  cycles passed  median ckpt ms  "
          f"median restart ms  seconds")
    for name, passed, c, r, s in rows:
        print(f"{name:<{width}}  {f'{passed}/{opts.cycles}':>13}  {c:>14}  "
              f"{r:>17}  {s:>7}")
    print()
    print(f"[soak] seed {opts.seed}: {len(rows) - len(failures)} of "
          f"{len(rows)} program(s) passed all {opts.cycles} cycles")
    for f in failures:
        print(f)
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(
        description="Runs every e2e program of the suite through many "
                    "checkpoint/restart cycles (docs/soak.md).")
    p.add_argument("--build", default="build",
                   help="the configured and built build directory "
                        "(default: build)")
    p.add_argument("--bin", default=None,
                   help="the tools (default: BUILD/bin)")
    p.add_argument("-n", "--cycles", type=int, default=100,
                   help="cycles per program (default 100)")
    p.add_argument("--filter", default=None,
                   help="a regex: soak only the programs whose test name "
                        "(e.g. e2e.memory, socket.echo) matches")
    p.add_argument("--exclude", default=None,
                   help="a regex: leave out the programs that match")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the random delays (default: a random "
                        "one, printed)")
    p.add_argument("--verify-every", type=int, default=10,
                   help="cycles between self-checks, each on a fresh "
                        "computation (default 10; 0: one chain of all "
                        "cycles)")
    p.add_argument("--max-delay", type=float, default=0.3,
                   help="longest random wait before a checkpoint, seconds "
                        "(default 0.3)")
    p.add_argument("--budget", type=float, default=None,
                   help="minutes: start no further program after this")
    p.add_argument("--logdir", default=None,
                   help="where logs go (default BUILD/soak/<time>)")
    p.add_argument("--harness-opt", action="append", default=[],
                   help="a harness option added to every program's own "
                        "(e.g. --ckpt-kill, --in-terminal); repeatable")
    p.add_argument("--list", action="store_true",
                   help="list the programs and exit")
    # The worker's options (one chain; run by the driver).
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    p.add_argument("--name", default=None, help=argparse.SUPPRESS)
    p.add_argument("--first", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("harness", nargs=argparse.REMAINDER,
                   help=argparse.SUPPRESS)
    opts = p.parse_args()
    if opts.cycles < 1 or opts.verify_every < 0 or opts.max_delay < 0:
        p.error("--cycles must be at least 1, --verify-every and "
                "--max-delay not negative")
    if opts.worker:
        if opts.harness and opts.harness[0] == "--":
            opts.harness = opts.harness[1:]
        worker(opts)
    if opts.harness:
        p.error(f"unexpected arguments: {shlex.join(opts.harness)}")
    sys.exit(driver(opts))


if __name__ == "__main__":
    main()
