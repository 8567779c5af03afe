#!/usr/bin/env python3
"""Checkpoint, dmtcp_command --kill, restart: the usual way to test a
restart (upstream DMTCP's sysv-shm1, sysv-sem, sysv-msg).  The killed
processes leave their keyed segment, semaphore set and message queue
behind (SysV objects outlive processes), and the restart finds each key
taken by the very object the checkpoint saved: same kernel id, same ctime,
no live process using it.  dmtcp_restart removes it and makes the key
again from the image (one log line each), twice in a row, the killed
processes left unreaped (zombies use nothing).  Runs in a private IPC
namespace.  A stranger's object under the key is still refused
(stranger_key.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../tests/e2e"))
import harness  # noqa: E402
from harness import Failure  # noqa: E402

KEYS = ("0x600001", "0x600002", "0x600003")  # proc_listing.c's shm, sem, msg


def main():
    harness.subreaper()
    harness.private_ipc_namespace()
    bin_dir, program = sys.argv[1], sys.argv[2]
    comp = harness.Computation(bin_dir, harness.tempfile.mkdtemp(
        prefix="dmtcp-leftover-", dir=sys.argv[3] if len(sys.argv) > 3 else None))
    comp.start_coordinator()
    try:
        proc = comp.launch_ready([program])
        for cycle in (1, 2):
            comp.command("--bcheckpoint")
            comp.command("--kill")
            # Not reaped: the killed processes stay zombies meanwhile.
            out = os.path.join(comp.work, f"restarted{cycle}.out")
            comp.outputs.append((f"restarted{cycle}", out))
            proc = harness.LoggedPopen(
                [comp.tool("dmtcp_restart"), *comp.images()], out,
                env=comp.env)
            comp.wait_running([proc], [out], 1)
            text = open(out).read()
            for key in KEYS:
                if not any(key in l and "left by the killed computation" in l
                           for l in text.splitlines()):
                    raise Failure(f"cycle {cycle}: no line on key {key}: "
                                  + text)
            print(f"cycle {cycle}: the killed computation's objects were "
                  "made again")
        open(comp.go, "w").close()
        rc = proc.wait(timeout=60)
        text = open(out).read()
        if rc != 0 or "PASS" not in text.splitlines():
            raise Failure(f"restarted program: rc {rc}, {text}")
        print("PASS leftover_key")
        return 0
    except Failure as e:
        print(f"FAIL leftover_key: {e}")
        return 1
    finally:
        comp.command("--quit", check=False)
        harness.reap_all()


if __name__ == "__main__":
    sys.exit(main())
