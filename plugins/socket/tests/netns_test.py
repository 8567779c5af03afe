#!/usr/bin/env python3
"""A computation restarted in another network namespace.

Launches PROGRAM (a socket test program: READY, go file, PASS) under a
coordinator in our namespace, checkpoints it, kills it, and restarts the
images inside a fresh network namespace (unshare -n: only a loopback
device, brought up) with a coordinator of its own there, as after moving
to another machine: every listener is bound again there, every connection
re-made, the abstract UNIX names are the new namespace's.  Needs
CAP_SYS_ADMIN for unshare -n: without it the test says SKIP and exits 77.
Prints "PASS netns PROGRAM" when the restarted program prints PASS and
exits 0."""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "e2e"))
from harness import Computation, Failure, LoggedPopen, live_children, \
    reap_all, subreaper  # noqa: E402

INSIDE = r"""
set -e
ip link set lo up
"$BIN/dmtcp_coordinator" --daemon -q -p 0 --port-file "$WORK/port2"
export DMTCP_COORD_PORT=$(cat "$WORK/port2") DMTCP_COORD_HOST=127.0.0.1
"$BIN/dmtcp_restart" "$@" > "$WORK/restart.out" 2>&1 &
r=$!
ok=
for i in $(seq 600); do
  if "$BIN/dmtcp_command" -s | grep -q RUNNING=yes; then ok=1; break; fi
  sleep 0.1
done
[ -n "$ok" ] || { echo "restart did not finish"; kill -9 $r; exit 1; }
touch "$DMTCP_TEST_GO"
rc=0
wait $r || rc=$?
"$BIN/dmtcp_command" -q >/dev/null 2>&1 || true
exit $rc
"""


def main():
    bin_dir, workdir, program = sys.argv[1], sys.argv[2], sys.argv[3:]
    if subprocess.run(["unshare", "-n", "true"],
                      capture_output=True).returncode != 0:
        print("SKIP: unshare -n is not allowed here")
        sys.exit(77)
    subreaper()
    c = Computation(bin_dir, tempfile.mkdtemp(prefix="dmtcp-netns-",
                                              dir=workdir))
    c.start_coordinator()
    ok = False
    try:
        out = os.path.join(c.work, "launched.out")
        c.outputs.append(("launched", out))
        proc = LoggedPopen([c.tool("dmtcp_launch"), *program], out,
                           env=c.env)
        deadline = time.time() + 60
        while "READY" not in open(out).read():
            if proc.poll() is not None or time.time() > deadline:
                raise Failure("the program never printed READY")
            time.sleep(0.02)
        print(c.command("--bcheckpoint").stdout.strip(), flush=True)
        c.command("--kill")
        proc.wait(timeout=60)
        c.command("--quit", check=False)
        c.port = None
        reap_all()
        env = dict(c.env, BIN=c.bin, WORK=c.work)
        r = subprocess.run(["unshare", "-n", "/bin/bash", "-c", INSIDE,
                            "inside", *c.images()], env=env,
                           capture_output=True, text=True, timeout=300)
        c.outputs.append(("restart", os.path.join(c.work, "restart.out")))
        text = open(out, errors="replace").read() + \
            open(os.path.join(c.work, "restart.out"),
                 errors="replace").read()
        if r.returncode != 0 or "FAIL" in text or \
                text.count("\nPASS") + text.startswith("PASS") < 1:
            raise Failure(f"restart in the new namespace: exit "
                          f"{r.returncode} {r.stdout}{r.stderr}")
        ok = True
    except (Failure, OSError, subprocess.SubprocessError) as e:
        print(f"FAILED: {e}", flush=True)
        c.dump_outputs(30)
    finally:
        if c.port is not None:
            c.command("--quit", check=False)
        deadline = time.time() + 10
        while live_children() and time.time() < deadline:
            reap_all()
            time.sleep(0.05)
        for pid in live_children():
            os.kill(pid, 9)
        reap_all()
    if ok:
        print(f"PASS netns {os.path.basename(program[0])}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
