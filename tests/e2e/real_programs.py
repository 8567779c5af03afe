#!/usr/bin/env python3
"""Real programs under many back-to-back blocking checkpoints.

  subprocess  python running subprocess.run() children in a loop
              (programs/subprocess_loop.py): every child's status and
              output are checked by the program itself
  churn       a bash loop piping through tr and sed (programs/churn.sh):
              several short-lived processes a second

Each case launches the program, waits for READY, runs `dmtcp_command -bc`
--checkpoints times back to back (a loop, no sleeps), then lets the program
finish.  It passes only if every checkpoint succeeded, the program is still
running after them, and the program printed PASS and exited 0.  The counts
("checkpoints ok N/M", the failure messages) are printed either way.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time

from harness import Computation, Failure, LoggedPopen, live_children, \
    reap_all, subreaper  # noqa: E402 (same directory)

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")


def program(case):
    if case == "subprocess":
        return ["/usr/bin/python3",
                os.path.join(PROGRAMS, "subprocess_loop.py")]
    with open(os.path.join(PROGRAMS, "churn.sh")) as f:
        return ["/bin/bash", "-c", f.read()]


def run_case(c, case, checkpoints, retry_busy=False):
    out = os.path.join(c.work, "program.out")
    c.outputs.append(("program", out))
    proc = LoggedPopen([c.tool("dmtcp_launch"), *program(case)], out,
                       env=c.env)
    deadline = time.time() + 60
    while "READY" not in open(out).read():
        if proc.poll() is not None or time.time() > deadline:
            raise Failure("the program never printed READY")
        time.sleep(0.02)
    ok = 0
    errors = collections.Counter()
    start = time.time()
    for i in range(checkpoints):
        r = c.command("--bcheckpoint", check=False)
        while retry_busy and "already in progress" in r.stderr + r.stdout:
            time.sleep(0.01)
            r = c.command("--bcheckpoint", check=False)
        if r.returncode == 0:
            ok += 1
        else:
            text = (r.stdout + r.stderr).strip() or f"exit {r.returncode}"
            # One count per kind of failure: pids and generations vary.
            text = re.sub(r"\[\d+\]", "[PID]", text)
            errors[re.sub(r"generation \d+", "generation N", text)] += 1
        if proc.poll() is not None:
            print(f"the program exited during checkpoint {i + 1}")
            break
    took = time.time() - start
    print(f"checkpoints ok {ok}/{checkpoints} in {took:.1f} s", flush=True)
    for text, n in errors.most_common():
        print(f"  {n} x {text}")
    with open(c.go, "w"):
        pass
    rc = proc.wait(timeout=120)
    text = open(out, errors="replace").read()
    for line in text.splitlines():
        if not line.startswith(("READY", "PASS")):
            print(f"  program: {line}")
    print(f"images left in the checkpoint directory: {len(c.images())}")
    if ok != checkpoints:
        raise Failure(f"{checkpoints - ok} of {checkpoints} checkpoints "
                      "failed")
    if rc != 0 or "PASS" not in text.splitlines():
        raise Failure(f"the program failed (exit {rc})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--checkpoints", type=int, default=100)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--retry-busy", action="store_true",
                    help="diagnosis only: repeat a -bc refused because the "
                    "previous round is still finishing")
    ap.add_argument("case", choices=["subprocess", "churn"])
    a = ap.parse_args()
    subreaper()
    c = Computation(a.bin, tempfile.mkdtemp(prefix=f"dmtcp-{a.case}-",
                                            dir=a.workdir))
    ok = False
    try:
        c.start_coordinator()
        run_case(c, a.case, a.checkpoints, a.retry_busy)
        ok = True
    except (Failure, subprocess.SubprocessError, OSError) as e:
        print(f"FAILED: {e}", flush=True)
    if c.port is not None:
        c.command("--quit", check=False)
    deadline = time.time() + 10
    while live_children() and time.time() < deadline:
        reap_all()
        time.sleep(0.05)
    if live_children():
        print("FAILED: processes left behind")
        ok = False
    if not ok:
        c.dump_outputs(30)
    if ok and not a.keep:
        subprocess.run(["rm", "-rf", c.work])
    print(f"{'PASS' if ok else 'FAIL'} {a.case}", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
