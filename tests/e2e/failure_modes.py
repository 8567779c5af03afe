#!/usr/bin/env python3
"""Bad input gets one clear line and a non-zero exit, never a crash, a hang
or lost data.

  corrupt      truncated, bit-flipped, empty and foreign images
  midckpt      a process killed while writing its image: the previous image
               stays intact and still restarts
  changedfile  a mapped file (the program itself) changed between checkpoint
               and restart: refused with one line; an identical copy works
  sharedfile   a file mapped MAP_SHARED shrank or vanished before restart:
               refused with one line before anything forks; put back, the
               computation restarts
  usage        bad options, no coordinator, missing plugin
"""
import argparse
import ctypes
import os
import random
import subprocess
import sys
import tempfile
import time

from harness import LoggedPopen  # noqa: E402 (same directory)

PR_SET_CHILD_SUBREAPER = 36


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Env:
    def __init__(self, bin_dir, tests_dir):
        self.bin = bin_dir
        self.tests = tests_dir
        self.work = tempfile.mkdtemp(prefix="dmtcp-fail-")
        self.env = dict(os.environ, DMTCP_CHECKPOINT_DIR=self.work,
                        DMTCP_TEST_GO=os.path.join(self.work, "go"))
        port_file = os.path.join(self.work, "port")
        subprocess.run([self.tool("dmtcp_coordinator"), "--daemon", "-q",
                        "-p", "0", "--port-file", port_file], check=True,
                       timeout=30)
        with open(port_file) as f:
            self.env["DMTCP_COORD_PORT"] = f.read().strip()

    def tool(self, name):
        return os.path.join(self.bin, name)

    def run(self, argv, timeout=20, **kw):
        start = time.time()
        r = subprocess.run(argv, env=self.env, capture_output=True,
                           text=True, timeout=timeout, **kw)
        return r, time.time() - start

    def launch(self, *argv):
        p = LoggedPopen([self.tool("dmtcp_launch"), *argv],
                        os.path.join(self.work, "prog.out"), env=self.env)
        deadline = time.time() + 60
        while time.time() < deadline:
            with open(os.path.join(self.work, "prog.out")) as f:
                if "READY" in f.read():
                    return p
            check(p.poll() is None, "program exited before READY")
            time.sleep(0.02)
        raise Failure("program never got READY")

    def image(self):
        imgs = [f for f in os.listdir(self.work) if f.endswith(".dmtcp")]
        check(len(imgs) == 1, f"expected one image, found {imgs}")
        return os.path.join(self.work, imgs[0])

    def quit(self):
        subprocess.run([self.tool("dmtcp_command"), "-q"], env=self.env,
                       capture_output=True, timeout=30)


def one_line_error(r, what):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode != 0, f"{what}: exit status 0")
    check(r.returncode < 128, f"{what}: died of a signal ({r.returncode})")
    check(len(lines) == 1, f"{what}: expected one line, got {r.stderr!r}")
    return lines[0]


def test_corrupt(e):
    p = e.launch(os.path.join(e.tests, "e2e_memory"), "8")
    r, _ = e.run([e.tool("dmtcp_command"), "-bc"])
    check(r.returncode == 0, f"checkpoint failed: {r.stdout}{r.stderr}")
    p.kill()
    p.wait()
    good = open(e.image(), "rb").read()
    bad = os.path.join(e.work, "bad.img")
    rng = random.Random(1)
    cases = [("empty", b""), ("foreign", b"#!/bin/sh\necho hi\n" * 200),
             ("header only", good[:100])]
    for n in (300, 4096, len(good) // 3, len(good) // 2, len(good) - 1):
        cases.append((f"truncated at {n}", good[:n]))
    for off in [10, 40, 200, 600] + [rng.randrange(1000, len(good))
                                     for _ in range(8)]:
        b = bytearray(good)
        b[off] ^= 1 << rng.randrange(8)
        cases.append((f"bit flip at {off}", bytes(b)))
    cases.append(("trailing garbage", good + b"x" * 100))
    for name, data in cases:
        with open(bad, "wb") as f:
            f.write(data)
        r, took = e.run([e.tool("dmtcp_restart"), bad], timeout=30)
        line = one_line_error(r, name)
        check(took < 10, f"{name}: took {took:.1f}s")
        check(bad in line, f"{name}: message does not name the image: {line}")
        print(f"  {name}: {line}")
    r, _ = e.run([e.tool("dmtcp_restart"), os.path.join(e.work, "nope")])
    one_line_error(r, "missing file")
    # The coordinator took no harm, and the good image still restarts.
    open(e.env["DMTCP_TEST_GO"], "w").close()
    r, _ = e.run([e.tool("dmtcp_restart"), e.image()], timeout=60)
    check(r.returncode == 0 and "PASS" in r.stdout,
          f"good image after the bad ones: {r.returncode} {r.stdout}")


def test_midckpt(e):
    p = e.launch(os.path.join(e.tests, "e2e_memory"), "768")
    r, _ = e.run([e.tool("dmtcp_command"), "-bc"], timeout=120)
    check(r.returncode == 0, f"first checkpoint failed: {r.stderr}")
    img = e.image()
    before = open(img, "rb").read()
    # Start a second checkpoint and kill the process while it writes.
    subprocess.Popen([e.tool("dmtcp_command"), "-c"], env=e.env,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp = img + ".tmp"
    deadline = time.time() + 30
    while time.time() < deadline and not os.path.exists(tmp):
        time.sleep(0.001)
    check(os.path.exists(tmp), "the second checkpoint never started writing")
    time.sleep(0.05)
    p.kill()
    p.wait()
    after = open(img, "rb").read()
    check(after == before, "the previous image changed")
    # The coordinator is not stuck: status answers, and the image restarts.
    r, _ = e.run([e.tool("dmtcp_command"), "-s"])
    check(r.returncode == 0, "coordinator does not answer after the kill")
    open(e.env["DMTCP_TEST_GO"], "w").close()
    r, _ = e.run([e.tool("dmtcp_restart"), img], timeout=120)
    check(r.returncode == 0 and "PASS" in r.stdout,
          f"previous image does not restart: {r.returncode} {r.stdout}")


def test_changedfile(e):
    """Mapped files come back from disk; a changed one is refused clearly."""
    prog = os.path.join(e.work, "memory_copy")
    subprocess.run(["cp", os.path.join(e.tests, "e2e_memory"), prog],
                   check=True)
    p = e.launch(prog, "4")
    r, _ = e.run([e.tool("dmtcp_command"), "-bc"])
    check(r.returncode == 0, f"checkpoint failed: {r.stderr}")
    p.kill()
    p.wait()
    img = e.image()
    original = open(prog, "rb").read()
    # Same bytes, new inode and mtime (as after copying to another machine):
    # restart works.
    os.unlink(prog)
    with open(prog, "wb") as f:
        f.write(original)
    open(e.env["DMTCP_TEST_GO"], "w").close()
    r, _ = e.run([e.tool("dmtcp_restart"), img], timeout=60)
    check(r.returncode == 0 and "PASS" in r.stdout,
          f"identical copy refused: {r.returncode} {r.stdout}{r.stderr}")
    # One byte different, same size: refused before anything is lost.
    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0xff
    with open(prog, "wb") as f:
        f.write(changed)
    r, _ = e.run([e.tool("dmtcp_restart"), img], timeout=30)
    line = one_line_error(r, "changed binary")
    check("memory_copy has changed since the checkpoint" in line, line)
    os.unlink(prog)
    r, _ = e.run([e.tool("dmtcp_restart"), img], timeout=30)
    line = one_line_error(r, "missing binary")
    check("memory_copy is gone" in line, line)


def wait_for_peers(e, n, timeout=20):
    """Waits until the coordinator counts n processes."""
    deadline = time.time() + timeout
    while True:
        r, _ = e.run([e.tool("dmtcp_command"), "-s"])
        if f"NUM_PEERS={n}" in r.stdout:
            return
        check(time.time() < deadline, f"expected {n} processes: {r.stdout}")
        time.sleep(0.05)


def test_sharedfile(e):
    """A MAP_SHARED file's pages live in the file, not the image: a file
    that shrank or vanished is refused before any process is forked."""
    p = e.launch(os.path.join(e.tests, "e2e_shared_mem"), "file")
    r, _ = e.run([e.tool("dmtcp_command"), "-bc"])
    check(r.returncode == 0, f"checkpoint failed: {r.stderr}")
    # Parent and child: the coordinator kills both.
    e.run([e.tool("dmtcp_command"), "-k"])
    p.wait()
    wait_for_peers(e, 0)
    imgs = sorted(os.path.join(e.work, f) for f in os.listdir(e.work)
                  if f.endswith(".dmtcp"))
    check(len(imgs) == 2, f"expected two images, found {imgs}")
    # The 8 MiB mapping is in the file, not in the images.
    for img in imgs:
        check(os.path.getsize(img) < 4 << 20,
              f"{img} holds the shared file's pages "
              f"({os.path.getsize(img)} bytes)")
    mapped = e.env["DMTCP_TEST_GO"] + ".file"
    original = open(mapped, "rb").read()
    with open(mapped, "r+b") as f:
        f.truncate(len(original) // 2)
    r, took = e.run([e.tool("dmtcp_restart"), *imgs], timeout=30)
    line = one_line_error(r, "shrunk shared file")
    check(mapped in line and "has shrunk since the checkpoint" in line, line)
    print(f"  shrunk: {line}")
    check(took < 10, f"shrunk: took {took:.1f}s")
    os.unlink(mapped)
    r, _ = e.run([e.tool("dmtcp_restart"), *imgs], timeout=30)
    line = one_line_error(r, "missing shared file")
    check(mapped in line and "is gone" in line, line)
    print(f"  missing: {line}")
    # Nothing was started: no process joined the coordinator.
    wait_for_peers(e, 0, timeout=0)
    with open(mapped, "wb") as f:
        f.write(original)
    open(e.env["DMTCP_TEST_GO"], "w").close()
    r, _ = e.run([e.tool("dmtcp_restart"), *imgs], timeout=60)
    check(r.returncode == 0 and "PASS" in r.stdout,
          f"restored file refused: {r.returncode} {r.stdout}{r.stderr}")


def test_usage(e):
    true = "/bin/true"
    r, took = e.run([e.tool("dmtcp_launch"), "--no-such-option", true])
    check(r.returncode == 1, f"bad option: exit {r.returncode}")
    check("unknown option" in r.stderr, f"bad option: {r.stderr}")
    free_port = "1"  # privileged port: nobody listens there
    r, took = e.run([e.tool("dmtcp_launch"), "-j", "-p", free_port, true])
    line = one_line_error(r, "no coordinator")
    check("no coordinator" in line and took < 10, line)
    r, took = e.run([e.tool("dmtcp_restart"), "-j", "-p", free_port,
                     "/dev/null"])
    one_line_error(r, "restart without coordinator")
    r, _ = e.run([e.tool("dmtcp_launch"), "--with-plugin",
                  "/no/such/plugin.so", true])
    line = one_line_error(r, "missing plugin")
    check("/no/such/plugin.so" in line, line)
    r, _ = e.run([e.tool("dmtcp_launch"), "--ckpt-signal", "9", true])
    check(r.returncode == 1, "SIGKILL accepted as checkpoint signal")
    r, _ = e.run([e.tool("dmtcp_command"), "--bogus"])
    check(r.returncode == 1, f"dmtcp_command bad option: {r.returncode}")
    r, _ = e.run([e.tool("dmtcp_restart")])
    check(r.returncode == 1, "dmtcp_restart without images")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--tests", required=True)
    ap.add_argument("case", choices=["corrupt", "midckpt", "changedfile",
                                     "sharedfile", "usage"])
    a = ap.parse_args()
    libc = ctypes.CDLL(None)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    e = Env(os.path.abspath(a.bin), os.path.abspath(a.tests))
    ok = False
    try:
        {"corrupt": test_corrupt, "midckpt": test_midckpt,
         "changedfile": test_changedfile, "sharedfile": test_sharedfile,
         "usage": test_usage}[a.case](e)
        ok = True
    except (Failure, subprocess.SubprocessError, OSError) as ex:
        print(f"FAILED: {ex}")
    finally:
        e.quit()
        subprocess.run(["rm", "-rf", e.work])
        while True:
            try:
                if os.waitpid(-1, 0)[0] <= 0:
                    break
            except ChildProcessError:
                break
    print(f"{'PASS' if ok else 'FAIL'} {a.case}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
