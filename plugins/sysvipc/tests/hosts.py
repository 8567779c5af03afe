#!/usr/bin/env python3
"""A computation on two simulated hosts, each an IPC namespace of its own.

1. Its two processes (hosts.c, each launched on its own) run on the two
   hosts, whose kernels hand out the same ids to their different objects.
   After a checkpoint and a kill each image restarts with its own
   dmtcp_restart in a new IPC namespace (two hosts, or two reboots): each
   process must find its own segment, set and queue with their contents.
2. A process and its child share a segment on one host; their images
   restart on two hosts: the segment is on the host of its saver, intact;
   the other process is told so in the log and its calls on the id fail
   with EINVAL (no stranger's object reached).

Runs in a private IPC namespace (harness --remove-ipc's), so it touches no
one else's objects."""
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


def launch(comp, argv, label):
    out = os.path.join(comp.work, f"{label}.out")
    comp.outputs.append((label, out))
    proc = harness.LoggedPopen([comp.tool("dmtcp_launch"), *argv], out,
                               env=comp.env)
    wait_for(out, "READY", proc)
    return proc, out


def checkpoint_and_kill(comp, procs):
    comp.command("--bcheckpoint")
    comp.command("--kill")
    for p in procs:
        p.wait(timeout=30)
    harness.reap_all()
    images = comp.images()
    if len(images) != 2:
        raise Failure(f"{len(images)} images, wanted 2")
    return images


def restart_apart(comp, images, passes=2):
    """Each image with its own dmtcp_restart in a new IPC namespace; go;
    returns the outputs once both ended with status 0 and `passes` PASS
    lines between them."""
    procs, outs = [], []
    for n, image in enumerate(images, 1):
        harness.fresh_ipc_namespace()  # another host, after a reboot
        out = os.path.join(comp.work, f"restarted{n}.out")
        comp.outputs.append((f"restarted{n}", out))
        outs.append(out)
        procs.append(harness.LoggedPopen(
            [comp.tool("dmtcp_restart"), image], out, env=comp.env))
    comp.wait_running(procs, outs, 2)
    open(comp.go, "w").close()
    for p, out in zip(procs, outs):
        rc = p.wait(timeout=harness.STEP_TIMEOUT)
        if rc != 0:
            raise Failure(f"{out}: rc {rc}: {open(out).read()}")
    harness.reap_all()
    texts = [open(out).read() for out in outs]
    if sum(t.splitlines().count("PASS") for t in texts) != passes:
        raise Failure(f"wanted {passes} PASS lines: {texts}")
    return texts


def own_objects(comp, program):
    procs, ids = [], []
    for host in (1, 2):
        harness.fresh_ipc_namespace()  # this host's kernel
        proc, out = launch(comp, [program, str(host)], f"launched{host}")
        procs.append(proc)
        ids.append([line for line in open(out).read().splitlines()
                    if line.startswith("IDS ")][0])
    if ids[0] != ids[1]:
        raise Failure(f"the two hosts gave different ids ({ids}): "
                      "nothing tested")
    print(f"both hosts: {ids[0]}")
    for text in restart_apart(comp, checkpoint_and_kill(comp, procs)):
        if "sysvipc:" in text or "PASS" not in text.splitlines():
            raise Failure(f"{text}")
    print("each process has its own objects")


def split(comp, program):
    harness.fresh_ipc_namespace()
    proc, _ = launch(comp, [program, "3", "split"], "launched")
    # The child's stdout is its parent's pipe, which is on the other host
    # now: count the lines of both outputs together.
    lines = "".join(restart_apart(comp, checkpoint_and_kill(comp, [proc])))
    lines = lines.splitlines()
    count = {w: sum(1 for line in lines if w in line)
             for w in ("SEGMENT HERE", "SEGMENT GONE",
                       "re-made in another IPC namespace", "sysvipc:")}
    if count != {"SEGMENT HERE": 1, "SEGMENT GONE": 1,
                 "re-made in another IPC namespace": 1, "sysvipc:": 2}:
        raise Failure(f"wanted one SEGMENT HERE, one GONE and its two log "
                      f"lines (re-made elsewhere, mapping reads zero): "
                      f"{count}: {lines}")
    print("the segment is on its saver's host; the other process was told")


def main():
    bin_dir, program = sys.argv[1], sys.argv[2]
    harness.subreaper()
    harness.private_ipc_namespace()
    for scenario in (own_objects, split):
        comp = harness.Computation(bin_dir, harness.tempfile.mkdtemp(
            prefix="dmtcp-hosts-",
            dir=sys.argv[3] if len(sys.argv) > 3 else None))
        comp.start_coordinator()
        try:
            scenario(comp, program)
        except (Failure, OSError, harness.subprocess.SubprocessError) as e:
            print(f"FAIL hosts ({scenario.__name__}): {e}")
            return 1
        finally:
            comp.command("--quit", check=False)
            harness.reap_all()
        harness.subprocess.run(["rm", "-rf", comp.work])
    print("PASS hosts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
