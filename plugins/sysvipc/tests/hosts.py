#!/usr/bin/env python3
"""A computation on two simulated hosts: its two processes (hosts.c, each
launched on its own) run in two IPC namespaces, where the kernels hand out
the same ids to their different objects.  After a checkpoint and a kill
each image restarts with its own dmtcp_restart in a new IPC namespace (two
hosts, or two reboots): each process must find its own segment, set and
queue with their contents.  Runs in a private IPC namespace (harness
--remove-ipc's), so it touches no one else's objects."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../tests/e2e"))
import harness  # noqa: E402
from harness import Failure  # noqa: E402


def wait_for(path, text, proc):
    deadline = time.time() + harness.STEP_TIMEOUT
    while text not in open(path).read():
        if time.time() > deadline or proc.poll() is not None:
            raise Failure(f"no {text!r} in {path}: {open(path).read()}")
        time.sleep(0.02)


def main():
    bin_dir, program = sys.argv[1], sys.argv[2]
    harness.subreaper()
    harness.private_ipc_namespace()
    comp = harness.Computation(bin_dir, harness.tempfile.mkdtemp(
        prefix="dmtcp-hosts-", dir=sys.argv[3] if len(sys.argv) > 3 else None))
    comp.start_coordinator()
    ok = False
    try:
        procs, ids = [], []
        for host in (1, 2):
            harness.fresh_ipc_namespace()  # this host's kernel
            out = os.path.join(comp.work, f"launched{host}.out")
            comp.outputs.append((f"launched{host}", out))
            procs.append(harness.LoggedPopen(
                [comp.tool("dmtcp_launch"), program, str(host)], out,
                env=comp.env))
            wait_for(out, "READY", procs[-1])
            ids.append([l for l in open(out).read().splitlines()
                        if l.startswith("IDS ")][0])
        if ids[0] != ids[1]:
            raise Failure(f"the two hosts gave different ids ({ids}): "
                          "nothing tested")
        print(f"both hosts: {ids[0]}")
        comp.command("--bcheckpoint")
        comp.command("--kill")
        for p in procs:
            p.wait(timeout=30)
        harness.reap_all()
        images = comp.images()
        if len(images) != 2:
            raise Failure(f"{len(images)} images, wanted 2")
        procs, outs = [], []
        for n, image in enumerate(images, 1):
            harness.fresh_ipc_namespace()  # another host, after a reboot
            out = os.path.join(comp.work, f"restarted{n}.out")
            comp.outputs.append((f"restarted{n}", out))
            outs.append(out)
            procs.append(harness.LoggedPopen(
                [comp.tool("dmtcp_restart"), image], out, env=comp.env))
        deadline = time.time() + harness.STEP_TIMEOUT
        while True:
            st = comp.command("--status").stdout
            if "RUNNING=yes" in st and "NUM_PEERS=2" in st:
                break
            if time.time() > deadline or any(p.poll() is not None
                                             for p in procs):
                raise Failure("the restart did not come up: " + " | ".join(
                    open(o).read() for o in outs))
            time.sleep(0.05)
        open(comp.go, "w").close()
        for p, out in zip(procs, outs):
            rc = p.wait(timeout=harness.STEP_TIMEOUT)
            text = open(out).read()
            if rc != 0 or "PASS" not in text.splitlines() or \
                    "sysvipc:" in text:
                raise Failure(f"{out}: rc {rc}: {text}")
        ok = True
    except (Failure, OSError, harness.subprocess.SubprocessError) as e:
        print(f"FAIL hosts: {e}")
    finally:
        comp.command("--quit", check=False)
        harness.reap_all()
    if ok:
        print("PASS hosts")
        harness.subprocess.run(["rm", "-rf", comp.work])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
