#!/usr/bin/env python3
"""A file the program had open is gone at restart, and no copy was kept:
dmtcp_restart stops within seconds with one line naming the file, and the
coordinator is left with no process.  With --ckpt-open-files the same
restart brings the file back from its copy."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../tests/e2e"))
import harness  # noqa: E402
from harness import Failure  # noqa: E402


def one_run(comp, program, copies):
    opts = ["--ckpt-open-files"] if copies else []
    for name in ("log", "stdio"):  # file_fds appends to these
        if os.path.exists(os.path.join(comp.work, name)):
            os.unlink(os.path.join(comp.work, name))
    out = os.path.join(comp.work, "launched.out")
    proc = harness.launch_ready([comp.tool("dmtcp_launch"), *opts, program],
                                out, comp.env)
    comp.command("--bcheckpoint")
    comp.command("--kill")
    proc.wait(timeout=30)
    data = os.path.join(comp.work, "data")
    os.unlink(data)
    return data


def main():
    bin_dir, program = sys.argv[1], sys.argv[2]
    comp = harness.Computation(bin_dir, harness.tempfile.mkdtemp(
        prefix="dmtcp-missing-", dir=sys.argv[3] if len(sys.argv) > 3 else None))
    comp.start_coordinator()
    try:
        data = one_run(comp, program, copies=False)
        start = time.time()
        r = harness.subprocess.run(
            [comp.tool("dmtcp_restart"), *comp.images()], env=comp.env,
            capture_output=True, text=True, timeout=60)
        took = time.time() - start
        lines = [l for l in r.stderr.splitlines() if "no longer exists" in l]
        if r.returncode == 0 or len(lines) != 1 or data not in lines[0]:
            raise Failure(f"restart without the file: rc {r.returncode}, "
                          f"stderr {r.stderr!r}")
        if took > 10:
            raise Failure(f"restart took {took:.1f} s to give up")
        print(f"without a copy: {lines[0]} (rc {r.returncode}, {took:.2f} s)")
        for img in comp.images():
            os.unlink(img)
        # Same again with copies: the restarted program finds its file.
        one_run(comp, program, copies=True)
        out = os.path.join(comp.work, "restarted.out")
        proc = harness.LoggedPopen(
            [comp.tool("dmtcp_restart"), *comp.images()], out, env=comp.env)
        comp.wait_running([proc], [out], 1, "restart with a copy")
        open(os.path.join(comp.work, "go"), "w").close()
        rc = proc.wait(timeout=60)
        text = open(out).read()
        if rc != 0 or "PASS" not in text.splitlines():
            raise Failure(f"restart with a copy: rc {rc}, {text}")
        print("with a copy: restarted and PASS")
    except Failure as e:
        print(f"FAIL missing_file: {e}")
        return 1
    finally:
        comp.command("--quit", check=False)
    print("PASS missing_file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
