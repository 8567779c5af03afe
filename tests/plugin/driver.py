#!/usr/bin/env python3
"""Plugin-API scenarios: each runs the tutorial's examples (or a rule of
SPEC section 4) under DMTCP and checks what they printed, line by line and
in order.  Usage: driver.py --bin B --tests T --build D --source S
--workdir W SCENARIO.  Prints "[driver] PASS SCENARIO" on success.

Uses the e2e harness's process handling (child subreaper, bounded waits,
no process left behind).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
import harness  # noqa: E402
from harness import Failure  # noqa: E402

import scenarios  # noqa: E402


class Session(harness.Computation):
    """One coordinator, one launched computation, its outputs."""

    def __init__(self, args, bin_dir=None, name="run"):
        super().__init__(bin_dir or args.bin,
                         tempfile.mkdtemp(prefix=f"plugin-{name}-",
                                          dir=args.workdir))
        self.args = args
        self.tests = os.path.abspath(args.tests)
        self.env.pop("DMTCP_PLUGIN", None)
        self.proc = None
        self.current_out = None

    def log(self, msg):
        print(f"[driver] {msg}", flush=True)

    def plugin(self, name):
        return os.path.join(self.tests, f"lib{name}.so")

    def prog(self, name):
        return os.path.join(self.tests, name)

    def path(self, name):
        return os.path.join(self.work, name)

    def spawn(self, argv, label, cwd=None):
        path = self.path(f"{label}.out")
        self.outputs.append((label, path))
        self.proc = harness.LoggedPopen(argv, path, env=self.env, cwd=cwd)
        self.current_out = path
        return self.proc

    def launch(self, program, opts=(), label="launched", cwd=None):
        return self.spawn([self.tool("dmtcp_launch"), *opts, *program],
                          label, cwd)

    def text(self, label=None):
        path = self.current_out if label is None else self.path(
            f"{label}.out")
        with open(path, errors="replace") as f:
            return f.read()

    def lines(self, label=None):
        return self.text(label).splitlines()

    def wait_for(self, cond, what, timeout=None):
        deadline = time.time() + (timeout or harness.STEP_TIMEOUT)
        while time.time() < deadline:
            if cond():
                return
            if self.proc is not None and self.proc.poll() is not None \
                    and not cond():
                raise Failure(f"program exited ({self.proc.returncode}) "
                              f"before {what}")
            time.sleep(0.02)
        raise Failure(f"timed out waiting for {what}")

    def wait_for_text(self, text, count=1):
        self.wait_for(lambda: self.text().count(text) >= count, repr(text))

    def checkpoint(self):
        self.command("--bcheckpoint")

    def wait_running(self, processes):
        def ok():
            r = self.command("--status", check=False)
            # RUNNING=yes needs processes (upstream's meaning); with none,
            # our Status line says no round is running.
            idle = "RUNNING=yes" in r.stdout or (
                processes == 0 and "Status: RUNNING" in r.stdout)
            return f"NUM_PEERS={processes}" in r.stdout and idle
        self.wait_for(ok, f"{processes} running processes")

    def kill(self):
        self.command("--kill")
        self.proc.wait(timeout=harness.STEP_TIMEOUT)
        self.wait_running(0)
        harness.reap_all()

    def restart(self, label="restart1"):
        imgs = self.images()
        if not imgs:
            raise Failure("no checkpoint image was written")
        self.spawn([self.tool("dmtcp_restart"), *imgs], label)
        self.wait_running(len(imgs))

    def finish(self, expect_status=0):
        with open(self.go, "w"):
            pass
        try:
            rc = self.proc.wait(timeout=harness.STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure("program did not finish after go")
        if rc != expect_status:
            raise Failure(f"exit status {rc}, expected {expect_status}")
        out = self.lines()
        if "PASS" not in out:
            raise Failure("program did not print PASS")
        bad = [l for l in out if "FAIL" in l]
        if bad:
            raise Failure(f"program reported: {bad[0]}")

    def quit(self):
        if self.port is not None:
            self.command("--quit", check=False)

    @staticmethod
    def no_leftovers():
        deadline = time.time() + 10
        while time.time() < deadline:
            harness.reap_all()
            if not harness.live_children():
                return True
            time.sleep(0.05)
        left = harness.live_children()
        for pid in left:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        harness.reap_all()
        return not left

    def dump(self):
        self.dump_outputs(60)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--tests", required=True)
    p.add_argument("--build", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--keep", action="store_true")
    p.add_argument("scenario", choices=sorted(scenarios.ALL))
    args = p.parse_args()
    harness.subreaper()
    sessions = []

    def new_session(**kw):
        s = Session(args, **kw)
        sessions.append(s)
        return s

    ok = False
    try:
        scenarios.ALL[args.scenario](args, new_session)
        ok = True
    except Exception as e:  # noqa: BLE001 -- always clean up, then report
        print(f"[driver] FAILED ({args.scenario}): {type(e).__name__}: {e}",
              flush=True)
    for s in sessions:
        s.quit()
    if not Session.no_leftovers():
        print("[driver] FAILED: processes left behind", flush=True)
        ok = False
    for s in sessions:
        if not ok:
            s.dump()
        elif not args.keep:
            subprocess.run(["rm", "-rf", s.work])
    print(f"[driver] {'PASS' if ok else 'FAIL'} {args.scenario}", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
