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
  usage        bad options (one line each), no coordinator, a host that does
               not resolve, missing, crashing and unknown plugins
  plugins      --with-plugin finds a bare name through LD_LIBRARY_PATH; a
               plugin named twice is loaded once
  tmpdir       dmtcp_launch --tmpdir: the coordinator it starts keeps its key
               there, where the program looks; one whose key is elsewhere
               is found through its copy in $TMPDIR/dmtcp-<uid>, and
               refused with one line when that is not there either
  launchfail   a coordinator dmtcp_launch started goes away when the program
               cannot run (exec failure, static binary refused up front),
               and its log with it
  restartset   images of two computations given to one dmtcp_restart, and
               one image restarted twice: refused with one line, nothing
               (more) started
  generations  images of two generations of a computation that lost a
               process between them: the newest is restarted, the older
               ones named in one line; with an image of another
               computation among them, refused with one line

  incrchain    an incremental chain (docs/incremental.md) with a link
               missing, replaced by another image, or damaged: refused with
               one line before anything starts; put back, it restarts
  incrcompact  --incremental-full-every 3: depths 0 1 2 0 1 2 ..., the
               chain before a committed full image is pruned
  incrfailed   a round failed by another process: the next incremental
               image builds on the last committed generation

Fault injection (issue 10 item 3): a good checkpoint (generation N-1) is
taken, its images and restart scripts are hashed, a failure is injected in
the next round, and then `dmtcp_command -bc` must fail within a bounded time
with one line naming the cause, N-1 must be byte-identical with nothing of
generation N left (image or .tmp), the program must still run, a later
checkpoint must work, and N-1 must restart through its own script:

  diskfull     RLIMIT_FSIZE lowered under one of two processes (prlimit):
               its image write fails with EFBIG (SIGXFSZ does not kill
               it), the other's image of N is removed; as non-root also a
               read-only checkpoint directory
  midckpt      (above) the blocking -bc names the killed process; the
               script stays byte-identical, no file of N is left
  coordkill    the coordinator SIGKILLed while a large image is written:
               the program runs on, N-1 stays; a new coordinator on the
               same port and key directory takes the computation over, a
               new -bc works and the newest checkpoint restarts
  sigstop      a process SIGSTOPped while writing its image, round timeout
               3 s: -bc names it ("did not reach"); after SIGCONT it comes
               back and the next -bc succeeds
  keepgens     --keep-generations 2 keeps the images of the last two
               generations (the older one still restarts); the default
               keeps one
  planted      a world-writable checkpoint directory (sticky, then not)
               with symlinks to a victim file planted at the next
               generation's image and temporary names, then regular files
               there (owned by nobody when we are root): dmtcp_launch warns
               in one line, each -bc succeeds with images of our own or
               fails with one line, the victim is unchanged, the newest
               checkpoint restarts
  forkedkill   forked checkpoints (--forked-checkpoint): the image writer
               of one of two processes SIGKILLed mid-write: -bc fails with
               one line naming it and the signal, N-1 byte-identical, both
               programs run on, the next checkpoint works; then `-k` while
               a writer writes: the processes and the writer die, no .tmp
               stays, N-1 is intact and restarts; a writer SIGSTOPped with
               a round timeout of 3 s: -bc names its process, the writer
               is ended, the next -bc works
  bcqueue      20 back-to-back -bc right after a restart on a new
               coordinator all succeed (queued behind the restart), and
               the interval set with -i before the checkpoint is still set
"""
import argparse
import ctypes
import glob
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import LoggedPopen, launch_ready  # noqa: E402 (same directory)

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
        self.tmpdirs = []

    def tool(self, name):
        return os.path.join(self.bin, name)

    def new_coordinator(self, *args, **env):
        """Quits the coordinator and starts another (on a new port) with
        these options and environment variables."""
        self.quit()
        port_file = os.path.join(self.work, "port")
        os.unlink(port_file)
        subprocess.run([self.tool("dmtcp_coordinator"), "--daemon", "-q",
                        "-p", "0", "--port-file", port_file, *args],
                       env=dict(self.env, **env), check=True, timeout=30)
        with open(port_file) as f:
            self.env["DMTCP_COORD_PORT"] = f.read().strip()

    def run(self, argv, timeout=20, **kw):
        start = time.time()
        r = subprocess.run(argv, env=self.env, capture_output=True,
                           text=True, timeout=timeout, **kw)
        return r, time.time() - start

    def launch(self, *argv, env=None, out="prog.out", **kw):
        return launch_ready([self.tool("dmtcp_launch"), *argv],
                            os.path.join(self.work, out), env or self.env,
                            timeout=60, **kw)

    def private_tmpdir(self, name):
        """A DMTCP_TMPDIR of our own: coordinators started with it are
        found by their key files (and quit at the end)."""
        d = os.path.join(self.work, name)
        self.tmpdirs.append(d)
        return d

    def image(self):
        imgs = [f for f in os.listdir(self.work) if f.endswith(".dmtcp")]
        check(len(imgs) == 1, f"expected one image, found {imgs}")
        return os.path.join(self.work, imgs[0])

    def quit(self):
        subprocess.run([self.tool("dmtcp_command"), "-q"], env=self.env,
                       capture_output=True, timeout=30)
        for d in self.tmpdirs:
            for port in coordinators(d):
                subprocess.run([self.tool("dmtcp_command"), "-p", str(port),
                                "-q"], env=dict(self.env, DMTCP_TMPDIR=d),
                               capture_output=True, timeout=30)


def coord_files(tmpdir, ext):
    return glob.glob(os.path.join(tmpdir, f"dmtcp-{os.getuid()}",
                                  f"coordinator-*.{ext}"))


def coordinators(tmpdir):
    """Ports of the coordinators whose key files are under tmpdir."""
    return sorted(int(os.path.basename(k)[len("coordinator-"):-len(".key")])
                  for k in coord_files(tmpdir, "key"))


def wait_no_coordinator(tmpdir, what, timeout=10):
    """Every coordinator under tmpdir exits (its key goes) and leaves no
    log behind."""
    deadline = time.time() + timeout
    while coord_files(tmpdir, "key") and time.time() < deadline:
        time.sleep(0.05)
    check(not coord_files(tmpdir, "key"),
          f"{what}: a coordinator stays: {coord_files(tmpdir, 'key')}")
    time.sleep(0.1)
    check(not coord_files(tmpdir, "log"),
          f"{what}: its log stays: {coord_files(tmpdir, 'log')}")


def one_line_error(r, what):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode != 0, f"{what}: exit status 0")
    check(r.returncode < 128, f"{what}: died of a signal ({r.returncode})")
    check(len(lines) == 1, f"{what}: expected one line, got {r.stderr!r}")
    return lines[0]


def checkpointed_image(e, *argv):
    """Launches argv, checkpoints it, kills it: the image's bytes."""
    p = e.launch(*argv)
    r, _ = e.run([e.tool("dmtcp_command"), "-bc"])
    check(r.returncode == 0, f"checkpoint failed: {r.stdout}{r.stderr}")
    p.kill()
    p.wait()
    return open(e.image(), "rb").read()


def damaged(good, rng, truncations, flips):
    """(name, bytes) of good truncated at each length, then with one bit
    flipped at each offset."""
    cases = [(f"truncated at {n}", good[:n]) for n in truncations]
    for off in flips:
        b = bytearray(good)
        b[off] ^= 1 << rng.randrange(8)
        cases.append((f"bit flip at {off}", bytes(b)))
    return cases


def test_corrupt(e):
    good = checkpointed_image(e, os.path.join(e.tests, "e2e_memory"), "8")
    bad = os.path.join(e.work, "bad.img")
    rng = random.Random(1)
    cases = [("empty", b""), ("foreign", b"#!/bin/sh\necho hi\n" * 200),
             ("header only", good[:100])]
    cases += damaged(good, rng,
                     (300, 4096, len(good) // 3, len(good) // 2,
                      len(good) - 1),
                     [10, 40, 200, 600] + [rng.randrange(1000, len(good))
                                           for _ in range(8)])
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
    snap = snapshot(e)
    check(SCRIPT in snap, f"no restart script: {sorted(snap)}")
    before = open(img, "rb").read()
    # Start a second (blocking) checkpoint and kill the process while it
    # writes.
    bc = subprocess.Popen([e.tool("dmtcp_command"), "-bc"], env=e.env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    # Each generation has its own image: the second writes gen2's.
    check(img.endswith("_gen1.dmtcp"), f"unexpected image name {img}")
    tmp = temporary_of(img[:-len("_gen1.dmtcp")] + "_gen2.dmtcp", 30)
    check(tmp is not None, "the second checkpoint never started writing")
    time.sleep(0.05)
    pid = p.pid
    p.kill()
    p.wait()
    after = open(img, "rb").read()
    check(after == before, "the previous image changed")
    # The blocking command hears why its round failed, in one line.
    line = failed_bc(e, bc, 30, "midckpt", f"e2e_memory[{pid}]", "died")
    # Nobody will finish the half-written image: the coordinator removed it
    # when the failed round ended, before answering.
    check(not os.path.exists(tmp), f"{tmp} stays after the failed round")
    check_intact(e, snap, "after the kill")
    # The coordinator is not stuck: status answers, and the image restarts.
    r, _ = e.run([e.tool("dmtcp_command"), "-s"])
    check(r.returncode == 0, "coordinator does not answer after the kill")
    # (RUNNING=no: no process is left; our Status line names the round.)
    check("Status: RUNNING" in r.stdout,
          f"a round is still running: {r.stdout}")
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
    launch, restart, command = (e.tool("dmtcp_launch"), e.tool("dmtcp_restart"),
                                e.tool("dmtcp_command"))
    free_port = "1"  # privileged port: nobody listens there
    plugins = os.path.join(e.tests, "launch-plugins")
    crash = os.path.join(plugins, "libcrash_plugin.so")
    # (what, argv, exit status, text the one line must hold)
    cases = [
        ("launch: bad option", [launch, "--no-such-option", true], 1,
         "unknown option '--no-such-option'"),
        ("launch: no program", [launch], 1, "no program"),
        ("launch: value missing", [launch, "--ckptdir"], 1, "needs a value"),
        ("launch: SIGKILL as checkpoint signal",
         [launch, "--ckpt-signal", "9", true], 1, "not a usable signal"),
        ("launch: no coordinator", [launch, "-j", "-p", free_port, true], 1,
         "no coordinator"),
        ("launch: host does not resolve",
         [launch, "-h", "no-such-host.invalid", true], 1,
         "cannot resolve the coordinator host 'no-such-host.invalid'"),
        ("launch: missing plugin",
         [launch, "--with-plugin", "/no/such/plugin.so", true], 1,
         "/no/such/plugin.so"),
        ("launch: plugin not on LD_LIBRARY_PATH",
         [launch, "--with-plugin", "libno_such_plugin.so", true], 1,
         "LD_LIBRARY_PATH"),
        ("launch: crashing plugin", [launch, "--with-plugin", crash, true], 1,
         f"plugin {crash} crashed while loading (SIGSEGV"),
        ("launch: unknown internal plugin",
         [launch, "--disable-bogus-plugin", true], 1, "unknown plugin 'bogus'"),
        ("launch: missing program", [launch, "/no/such/program"], 127,
         "cannot run /no/such/program"),
        ("launch: incremental and forked",
         [launch, "--incremental", "--forked-checkpoint", true], 1,
         "--incremental and --forked-checkpoint cannot be combined"),
        ("launch: bad --incremental-full-every",
         [launch, "--incremental-full-every", "-2", true], 1,
         "--incremental-full-every"),
        ("restart: incremental and forked",
         [restart, "--incremental", "--forked-checkpoint", "img"], 1,
         "--incremental and --forked-checkpoint cannot be combined"),
        ("restart: bad --incremental-full-every",
         [restart, "--incremental-full-every", "x", "img"], 1,
         "--incremental-full-every wants a count"),
        ("restart: bad option", [restart, "--bogus", "img"], 1,
         "unknown option '--bogus'"),
        ("restart: value missing", [restart, "-p"], 1, "needs a value"),
        ("restart: no image", [restart], 1, "no image"),
        ("restart: without coordinator",
         [restart, "-j", "-p", free_port, "/dev/null"], 1, "/dev/null"),
        ("command: bad option", [command, "--bogus"], 1,
         "dmtcp_command: unknown option '--bogus' (see dmtcp_command --help)"),
        ("command: no command", [command], 1, "no command"),
        ("command: two commands", [command, "-s", "-l"], 1, "one command"),
        ("command: host does not resolve",
         [command, "-h", "no-such-host.invalid", "-s"], 2,
         "cannot resolve the coordinator host 'no-such-host.invalid'"),
        ("coordinator: bad option",
         [e.tool("dmtcp_coordinator"), "--bogus"], 1,
         "unknown option '--bogus'"),
    ]
    for what, argv, status, text in cases:
        r, took = e.run(argv)
        line = one_line_error(r, what)
        check(r.returncode == status,
              f"{what}: exit {r.returncode}, expected {status}: {line}")
        check(text in line, f"{what}: {line!r} lacks {text!r}")
        check(took < 10, f"{what}: took {took:.1f}s")
        print(f"  {what}: {line}")
    # Upstream's --disable-alloc-plugin and --disable-dl-plugin name plugins
    # we do not have: accepted, so DMTCP scripts run unchanged.
    r, _ = e.run([launch, "--disable-alloc-plugin", "--disable-dl-plugin",
                  true])
    check(r.returncode == 0, f"--disable-alloc-plugin: {r.stderr}")


def test_plugins(e):
    plugins = os.path.join(e.tests, "launch-plugins")
    noop = os.path.join(plugins, "libnoop_plugin.so")
    log = os.path.join(e.work, "loads")
    elsewhere = os.path.join(e.work, "elsewhere")
    os.mkdir(elsewhere)

    def loads(argv, **env):
        if os.path.exists(log):
            os.unlink(log)
        run_env = dict(e.env, LAUNCH_TEST_PLUGIN_LOG=log, **env)
        r = subprocess.run([e.tool("dmtcp_launch"), *argv, "/bin/true"],
                           env=run_env, cwd=elsewhere, capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0, f"{argv}: exit {r.returncode}: {r.stderr}")
        return len(open(log).read().splitlines()) if os.path.exists(log) else 0

    # A bare name is found through LD_LIBRARY_PATH (tutorial section 3.1):
    # one trial load by dmtcp_launch, one in the program.
    n = loads(["--with-plugin", "libnoop_plugin.so"],
              LD_LIBRARY_PATH=f"/nonexistent:{plugins}")
    check(n == 2, f"bare name via LD_LIBRARY_PATH: {n} loads, expected 2")
    # Named in DMTCP_PLUGIN and again (twice, two spellings) on the command
    # line: still loaded once each way.
    n = loads(["--with-plugin", f"{noop}:{plugins}/../launch-plugins/"
               "libnoop_plugin.so", "--with-plugin", noop], DMTCP_PLUGIN=noop)
    check(n == 2, f"plugin named four times: {n} loads, expected 2")


def test_tmpdir(e):
    """dmtcp_launch --tmpdir D: the coordinator it starts writes its key
    under D, where the program (and dmtcp_command with DMTCP_TMPDIR=D)
    look for it."""
    tmpdir = e.private_tmpdir("tmpd")
    # Where a coordinator would go without --tmpdir: private too, so one
    # started there by mistake is found and quit.
    env = dict(e.env, DMTCP_COORD_PORT="0",
               TMPDIR=e.private_tmpdir("default"))
    os.mkdir(env["TMPDIR"])
    env.pop("DMTCP_TMPDIR", None)
    # A relative --tmpdir: the program may change directories later.
    p = e.launch("--tmpdir", "tmpd", os.path.join(e.tests, "e2e_memory"),
                 "8", env=env, cwd=e.work)
    ports = coordinators(tmpdir)
    check(len(ports) == 1, f"expected one coordinator key in {tmpdir}: "
          f"{ports}")
    cenv = dict(env, DMTCP_TMPDIR=tmpdir, DMTCP_COORD_PORT=str(ports[0]))
    r = subprocess.run([e.tool("dmtcp_command"), "-bc"], env=cenv,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"checkpoint: {r.stdout}{r.stderr}")
    open(e.env["DMTCP_TEST_GO"], "w").close()
    check(p.wait(timeout=60) == 0, "program failed after the checkpoint")
    out = open(os.path.join(e.work, "prog.out")).read()
    check("PASS" in out, f"no PASS: {out}")
    # --exit-on-last: the coordinator goes, with its key and its log.
    wait_no_coordinator(tmpdir, "after the program ended")
    check(not os.listdir(env["TMPDIR"]), "files outside --tmpdir: "
          f"{os.listdir(env['TMPDIR'])}")
    # A running coordinator whose key is not under --tmpdir: found through
    # the copy it keeps in $TMPDIR/dmtcp-<uid> (upstream's tools find it
    # too; docs/coordinator.md) ...
    r, _ = e.run([e.tool("dmtcp_launch"), "--tmpdir",
                  e.private_tmpdir("other"), "/bin/true"])
    check(r.returncode == 0, f"--tmpdir elsewhere: {r.stderr}")
    # ... and when it is in neither place, refused up front with one line,
    # not an authentication failure in the program.
    empty = e.private_tmpdir("empty")
    os.mkdir(empty)
    r = subprocess.run([e.tool("dmtcp_launch"), "--tmpdir",
                        e.private_tmpdir("other"), "/bin/true"],
                       env=dict(e.env, TMPDIR=empty), capture_output=True,
                       text=True, timeout=20)
    line = one_line_error(r, "coordinator with its key elsewhere")
    check("key" in line and "--tmpdir" in line, line)
    print(f"  key elsewhere: {line}")


def test_launchfail(e):
    """A coordinator that dmtcp_launch started for a program that cannot
    run does not stay behind."""
    tmpdir = e.private_tmpdir("tmpd")
    env = dict(e.env, DMTCP_COORD_PORT="0", DMTCP_TMPDIR=tmpdir)
    bad = os.path.join(e.work, "bad_interpreter")
    with open(bad, "w") as f:
        f.write("#!/no/such/interpreter\n")
    os.chmod(bad, 0o755)
    static = next((p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig")
                   if os.path.exists(p)), None)
    cases = [("missing program", ["/no/such/program"], 127),
             ("exec fails", [bad], 127)]
    if static:
        cases.append(("static binary", [static, "--version"], 1))
    else:
        print("  (no static binary found: that case is skipped)")
    for what, argv, status in cases:
        r = subprocess.run([e.tool("dmtcp_launch"), *argv], env=env,
                           capture_output=True, text=True, timeout=30)
        line = one_line_error(r, what)
        check(r.returncode == status, f"{what}: exit {r.returncode}: {line}")
        print(f"  {what}: {line}")
        wait_no_coordinator(tmpdir, what, timeout=3)
    # The same coordinator, joined by someone else's program before ours
    # failed, stays for them.
    p = e.launch(os.path.join(e.tests, "e2e_memory"), "8", env=env)
    port = coordinators(tmpdir)
    check(len(port) == 1, f"expected one coordinator: {port}")
    penv = dict(env, DMTCP_COORD_PORT=str(port[0]))
    r = subprocess.run([e.tool("dmtcp_launch"), bad], env=penv,
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 127, f"exec failure: {r.returncode}")
    check(coordinators(tmpdir) == port, "the shared coordinator went away")
    open(e.env["DMTCP_TEST_GO"], "w").close()
    check(p.wait(timeout=60) == 0, "program failed")
    wait_no_coordinator(tmpdir, "after the program ended")


def test_restartset(e):
    """Only one checkpoint's images restart together, each once."""
    prog = os.path.join(e.tests, "e2e_memory")
    imgs = []
    for run in ("first", "second"):
        # A computation each: the coordinator forgets the id when the last
        # process leaves.
        p = e.launch(prog, "4", out=f"{run}.out")
        r, _ = e.run([e.tool("dmtcp_command"), "-bc"])
        check(r.returncode == 0, f"checkpoint: {r.stderr}")
        e.run([e.tool("dmtcp_command"), "-k"])
        p.wait()
        wait_for_peers(e, 0)
        new = [i for i in glob.glob(os.path.join(e.work, "*.dmtcp"))
               if i not in imgs]
        check(len(new) == 1, f"expected one new image: {new}")
        imgs += new
    open(e.env["DMTCP_TEST_GO"], "w").close()
    r, took = e.run([e.tool("dmtcp_restart"), *imgs], timeout=60)
    line = one_line_error(r, "images of two computations")
    check("restart the images of one checkpoint together" in line, line)
    check(took < 10, f"took {took:.1f}s")
    check("PASS" not in r.stdout, f"part of the set ran: {r.stdout}")
    wait_for_peers(e, 0, timeout=0)
    print(f"  two computations: {line}")
    # One image twice on one command line.
    r, _ = e.run([e.tool("dmtcp_restart"), imgs[0], imgs[0]], timeout=60)
    line = one_line_error(r, "one image twice")
    check("same process" in line, line)
    # One image restarted twice into the running computation: the second
    # is refused, the first goes on.
    os.unlink(e.env["DMTCP_TEST_GO"])
    p = LoggedPopen([e.tool("dmtcp_restart"), imgs[0]],
                    os.path.join(e.work, "restart1.out"), env=e.env)
    wait_for_peers(e, 1)
    r, took = e.run([e.tool("dmtcp_restart"), imgs[0]], timeout=60)
    line = one_line_error(r, "the same image again")
    check("already connected" in line, line)
    check(took < 10, f"took {took:.1f}s")
    print(f"  same image again: {line}")
    wait_for_peers(e, 1, timeout=0)
    open(e.env["DMTCP_TEST_GO"], "w").close()
    check(p.wait(timeout=60) == 0, "the first restart failed")
    check("PASS" in open(os.path.join(e.work, "restart1.out")).read(),
          "the first restart did not PASS")

def new_images(e, since):
    """The images in the checkpoint dir written at or after since."""
    return sorted(i for i in glob.glob(os.path.join(e.work, "*.dmtcp"))
                  if os.path.getmtime(i) >= since)


def checkpoint(e, what):
    """A blocking checkpoint; returns the images it wrote."""
    since = time.time() - 0.01
    time.sleep(0.02)  # a coarse-grained mtime would not tell them apart
    r, _ = e.run([e.tool("dmtcp_command"), "-bc"], timeout=60)
    check(r.returncode == 0, f"{what}: checkpoint failed: {r.stderr}")
    return new_images(e, since)


def test_generations(e):
    """dmtcp_restart over images of two generations: a parent and a child
    checkpointed (generation 1, kept aside: the coordinator may remove or
    replace them), the child exits, the parent alone checkpointed
    (generation 2).  All three images restart generation 2, and one line
    names the two of generation 1; so does ckpt_*.dmtcp over the
    checkpoint dir."""
    p = e.launch(os.path.join(e.tests, "e2e_generations"))
    wait_for_peers(e, 2)
    first = checkpoint(e, "parent and child")
    check(len(first) == 2, f"expected two images, found {first}")
    aside = os.path.join(e.work, "gen1")
    os.mkdir(aside)
    kept = []
    for img in first:
        kept.append(os.path.join(aside, os.path.basename(img)))
        shutil.copy2(img, kept[-1])
    open(e.env["DMTCP_TEST_GO"] + ".child", "w").close()
    wait_for_peers(e, 1)
    out = os.path.join(e.work, "prog.out")
    deadline = time.time() + 20
    while "CHILD_GONE" not in open(out).read():
        check(time.time() < deadline, "the parent never reaped its child")
        time.sleep(0.02)
    second = checkpoint(e, "the parent alone")
    check(len(second) == 1, f"expected one image, found {second}")
    e.run([e.tool("dmtcp_command"), "-k"])
    p.wait(timeout=30)
    wait_for_peers(e, 0)

    open(e.env["DMTCP_TEST_GO"], "w").close()
    r, _ = e.run([e.tool("dmtcp_restart"), *kept, *second], timeout=60)
    check(r.returncode == 0 and "PASS" in r.stdout,
          f"restart of the newest generation: {r.returncode} "
          f"{r.stdout}{r.stderr}")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(len(lines) == 1, f"expected one line on stderr: {r.stderr!r}")
    m = re.fullmatch(r"dmtcp_restart: ignoring 2 images of older generation "
                     r"(\d+) \(.*\): (.+)", lines[0])
    check(m is not None, f"not the line expected: {lines[0]}")
    check(m.group(2).split() == kept, f"not the old images: {lines[0]}")
    print(f"  two generations: {lines[0]}")
    wait_for_peers(e, 0)

    # As the README has it: every image in the checkpoint dir, whatever the
    # coordinator kept there (the child's old image, older generations, or
    # only the newest).
    here = sorted(glob.glob(os.path.join(e.work, "*.dmtcp")))
    r, _ = e.run([e.tool("dmtcp_restart"), *here], timeout=60)
    check(r.returncode == 0 and "PASS" in r.stdout,
          f"restart of ckpt_*.dmtcp: {r.returncode} {r.stdout}{r.stderr}")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(len(lines) <= 1, f"more than one line: {r.stderr!r}")
    check(not lines or (lines[0].startswith("dmtcp_restart: ignoring ") and
                        second[0] not in lines[0]),
          f"not the line expected: {lines}")
    print(f"  ckpt_*.dmtcp ({len(here)}): {lines[0] if lines else '-'}")
    wait_for_peers(e, 0)

    # A damaged region table (the header whole): in the older generation,
    # ignored with a mention; in the one to restart, refused.
    def damage(img):
        bad = img + ".bad.dmtcp"
        shutil.copy2(img, bad)
        with open(bad, "r+b") as f:
            header_size = int.from_bytes(f.read(16)[12:16], "little")
            f.seek(header_size + 8)
            byte = f.read(1)
            f.seek(header_size + 8)
            f.write(bytes([byte[0] ^ 0xff]))
        return bad
    old_bad = damage(kept[0])
    r, _ = e.run([e.tool("dmtcp_restart"), old_bad, kept[1], *second],
                 timeout=60)
    check(r.returncode == 0 and "PASS" in r.stdout,
          f"restart beside a damaged old image: {r.returncode} "
          f"{r.stdout}{r.stderr}")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(len(lines) == 1 and f"{old_bad} (damaged)" in lines[0],
          f"damaged old image not named once: {r.stderr!r}")
    print(f"  damaged old image: {lines[0]}")
    wait_for_peers(e, 0)
    new_bad = damage(second[0])
    r, _ = e.run([e.tool("dmtcp_restart"), *kept, new_bad], timeout=60)
    line = one_line_error(r, "damaged image of the newest generation")
    check(line.startswith(f"dmtcp_restart: {new_bad}: ") and
          "corrupt image" in line, line)
    check("PASS" not in r.stdout, f"part of the set ran: {r.stdout}")
    wait_for_peers(e, 0, timeout=0)
    print(f"  damaged new image: {line}")

    # An image of another computation among them: refused whole.  Its
    # program must still be running at the checkpoint: no go file yet (it
    # would verify and exit at once, and the checkpoint find no process).
    os.unlink(e.env["DMTCP_TEST_GO"])
    other = e.launch(os.path.join(e.tests, "e2e_memory"), "4",
                     out="other.out")
    stranger = checkpoint(e, "another computation")
    check(len(stranger) == 1, f"expected one image, found {stranger}")
    e.run([e.tool("dmtcp_command"), "-k"])
    other.wait(timeout=30)
    wait_for_peers(e, 0)
    r, took = e.run([e.tool("dmtcp_restart"), *kept, *second, *stranger],
                    timeout=60)
    line = one_line_error(r, "images of two computations")
    check(f"{stranger[0]} belongs to computation" in line and
          "restart the images of one checkpoint together" in line, line)
    check("PASS" not in r.stdout, f"part of the set ran: {r.stdout}")
    check(took < 10, f"took {took:.1f}s")
    wait_for_peers(e, 0, timeout=0)
    print(f"  two computations: {line}")


SCRIPT = "dmtcp_restart_script.sh"
# An image is written to <image>.tmp.<64 random bits> (image_dump.cpp).
TMP_RE = re.compile(r"\.dmtcp\.tmp\.[0-9a-f]{16}$")


def temporary_of(image, timeout):
    """Waits for the temporary of image (a path) to appear; returns its
    path, or None."""
    d, base = os.path.split(image)
    deadline = time.time() + timeout
    while time.time() < deadline:
        for f in os.listdir(d):
            if f.startswith(base + ".tmp.") and TMP_RE.search(f):
                return os.path.join(d, f)
        time.sleep(0.001)
    return None


def ckpt_files(d):
    """Images, their temporaries and restart scripts in directory d."""
    return sorted(
        f for f in os.listdir(d)
        if (f.startswith("ckpt_") and
            (f.endswith(".dmtcp") or TMP_RE.search(f))) or
        (f.startswith("dmtcp_restart_script") and f.endswith(".sh")))


def snapshot(e):
    """The sha256 of every checkpoint file in the checkpoint dir."""
    snap = {}
    for f in ckpt_files(e.work):
        with open(os.path.join(e.work, f), "rb") as fh:
            snap[f] = hashlib.sha256(fh.read()).hexdigest()
    return snap


def check_intact(e, snap, what):
    """The last good checkpoint is byte-identical and nothing else is
    there: no image or .tmp of the failed generation, no other script."""
    now = snapshot(e)
    check(sorted(now) == sorted(snap),
          f"{what}: checkpoint files changed: {sorted(snap)} -> {sorted(now)}")
    for f, digest in snap.items():
        check(now[f] == digest, f"{what}: {f} changed")


def generation(path):
    m = re.search(r"_gen(\d+)\.dmtcp$", path)
    check(m is not None, f"not an image name: {path}")
    return int(m.group(1))


def generations_present(e):
    return sorted({generation(f) for f in ckpt_files(e.work)
                   if f.endswith(".dmtcp")})


def newest_checkpoint(e, what):
    """A blocking checkpoint; returns the images of the newest generation
    in the checkpoint dir (by name, not mtime: older kept generations may
    have been written a moment before)."""
    r, _ = e.run([e.tool("dmtcp_command"), "-bc"], timeout=120)
    check(r.returncode == 0, f"{what}: checkpoint failed: {r.stderr}")
    gens = generations_present(e)
    check(gens, f"{what}: no image")
    return sorted(os.path.join(e.work, f) for f in ckpt_files(e.work)
                  if f.endswith(f"_gen{gens[-1]}.dmtcp"))


def good_checkpoint(e, procs):
    """A blocking checkpoint of procs processes; returns its generation and
    the snapshot of the checkpoint dir, with a copy of its files kept in
    <work>/aside (the coordinator prunes them once a newer one commits)."""
    imgs = newest_checkpoint(e, "the good checkpoint")
    check(len(imgs) == procs, f"expected {procs} images, found {imgs}")
    gens = {generation(i) for i in imgs}
    check(len(gens) == 1, f"images of several generations: {imgs}")
    snap = snapshot(e)
    check(SCRIPT in snap, f"no restart script: {sorted(snap)}")
    aside = os.path.join(e.work, "aside")
    shutil.rmtree(aside, ignore_errors=True)
    os.mkdir(aside)
    for f in snap:
        shutil.copy2(os.path.join(e.work, f), aside)
    return gens.pop(), snap


def failed_bc(e, bc, limit, what, *texts):
    """A blocking checkpoint (Popen) that must fail within limit seconds
    with one line holding every one of texts."""
    start = time.time()
    try:
        out, err = bc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        bc.kill()
        bc.communicate()
        raise Failure(f"{what}: dmtcp_command -bc still waits after "
                      f"{limit} s")
    r = subprocess.CompletedProcess(bc.args, bc.returncode, out, err)
    line = one_line_error(r, what)
    for t in texts:
        check(t in line, f"{what}: {line!r} lacks {t!r}")
    print(f"  {what}: -bc said after {time.time() - start:.1f} s more: "
          f"{line}")
    return line


def start_bc(e):
    return subprocess.Popen([e.tool("dmtcp_command"), "-bc"], env=e.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_stopped(pid):
    """Until /proc says pid is stopped (state T)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        time.sleep(0.01)
    raise Failure(f"{pid} never stopped")


def running(p, what):
    check(p.poll() is None, f"{what}: the program exited ({p.returncode})")


def launch_memory(e, mib, out):
    return e.launch(os.path.join(e.tests, "e2e_memory"), str(mib), out=out)


def kill_computation(e, procs):
    e.run([e.tool("dmtcp_command"), "-k"], timeout=30)
    for p in procs:
        p.wait(timeout=60)
    wait_for_peers(e, 0)


def restart_aside(e, passes, what):
    """Restarts the copy of the good checkpoint through its own restart
    script (--restartdir) and waits for every process's PASS."""
    aside = os.path.join(e.work, "aside")
    open(e.env["DMTCP_TEST_GO"], "w").close()
    r, _ = e.run(["/bin/bash", os.path.join(aside, SCRIPT), "--restartdir",
                  aside], timeout=180)
    check(r.returncode == 0 and r.stdout.count("PASS") == passes,
          f"{what}: the good checkpoint does not restart: {r.returncode} "
          f"{r.stdout}{r.stderr}")
    wait_for_peers(e, 0)


def wait_gone(path, timeout):
    deadline = time.time() + timeout
    while os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    return not os.path.exists(path)


def wait_tmp(e, upid_part, gen, timeout=60):
    """Waits for the .tmp of generation gen of the image whose name holds
    upid_part; returns its path."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for f in os.listdir(e.work):
            if upid_part in f and re.search(f"_gen{gen}" + TMP_RE.pattern,
                                            f):
                return os.path.join(e.work, f)
        time.sleep(0.001)
    raise Failure(f"no image of generation {gen} was ever being written")


def upid_of(e, pid):
    """The unique pid (as in image names) of the process with real pid."""
    r, _ = e.run([e.tool("dmtcp_command"), "-l"])
    for line in r.stdout.splitlines():
        f = [x.strip() for x in line.split(",")]
        if len(f) >= 3 and f"[{pid}]@" in f[1]:
            return f[2]
    raise Failure(f"process {pid} is not listed: {r.stdout}")


def prlimit_fsize(pid, value):
    r = subprocess.run(["prlimit", f"--pid={pid}", f"--fsize={value}"],
                       capture_output=True, text=True, timeout=10)
    check(r.returncode == 0, f"prlimit: {r.stderr}")


def test_diskfull(e):
    """An image write that fails (file-size limit, read-only directory)
    fails the round; the other process's image of it goes too."""
    big = launch_memory(e, 16, "big.out")
    small = launch_memory(e, 4, "small.out")
    wait_for_peers(e, 2)
    gen, snap = good_checkpoint(e, 2)
    # The limit of the process, not of our tools: only its image write
    # hits it.  Its checkpoint thread blocks SIGXFSZ, so write() fails
    # with EFBIG instead of the signal killing the program.
    # The soft limit only: raising a hard limit again needs
    # CAP_SYS_RESOURCE, which a container's root may lack.
    prlimit_fsize(big.pid, "65536:")
    start = time.time()
    line = failed_bc(e, start_bc(e), 60, "file-size limit",
                     f"e2e_memory[{big.pid}]", "could not write its image")
    check(time.time() - start < 60, "file-size limit: too slow")
    running(big, "file-size limit")
    running(small, "file-size limit")
    check("File too large" in open(os.path.join(e.work, "big.out")).read(),
          "the process did not say why its image failed")
    check_intact(e, snap, "file-size limit")
    wait_for_peers(e, 2)
    prlimit_fsize(big.pid, "unlimited:")
    if os.geteuid() == 0:
        print("  read-only directory: skipped (root writes anyway)")
    else:
        os.chmod(e.work, 0o555)
        try:
            line = failed_bc(e, start_bc(e), 60, "read-only directory",
                             "could not write its image")
        finally:
            os.chmod(e.work, 0o755)
        running(big, "read-only directory")
        running(small, "read-only directory")
        check_intact(e, snap, "read-only directory")
    # The failures cost nothing: the next checkpoint works and replaces
    # the good one.
    later = newest_checkpoint(e, "after the failures")
    check(len(later) == 2 and all(generation(i) > gen for i in later),
          f"later checkpoint: {later}")
    check(generations_present(e) == [generation(later[0])],
          f"older images stay: {ckpt_files(e.work)}")
    kill_computation(e, [big, small])
    restart_aside(e, 2, "file-size limit")


def coordinator_pid(e):
    """The pid of the coordinator listening on our port (its command line
    names our port file)."""
    port_file = os.path.join(e.work, "port")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if (argv and argv[0].endswith(b"dmtcp_coordinator") and
                port_file.encode() in argv):
            return int(pid)
    raise Failure("the coordinator's process was not found")


def test_coordkill(e):
    """The coordinator dies during a round: the computation runs on, the
    last checkpoint stays; a new coordinator on the same port and key
    directory takes the computation over."""
    big = launch_memory(e, 256, "big.out")
    small = launch_memory(e, 4, "small.out")
    wait_for_peers(e, 2)
    gen, snap = good_checkpoint(e, 2)
    upid = upid_of(e, big.pid)
    coord = coordinator_pid(e)
    bc = start_bc(e)
    tmp = wait_tmp(e, upid, gen + 1)
    os.kill(coord, signal.SIGKILL)
    failed_bc(e, bc, 30, "coordinator killed", "lost the coordinator")
    # The writer finishes alone; its .tmp does not stay.
    check(wait_gone(tmp, 60), f"{tmp} stays")
    time.sleep(1)
    running(big, "coordinator killed")
    running(small, "coordinator killed")
    now = snapshot(e)
    for f, digest in snap.items():
        check(now.get(f) == digest, f"coordinator killed: {f} changed")
    check(not [f for f in now if TMP_RE.search(f)],
          f"coordinator killed: temporaries stay: {sorted(now)}")
    leftover = sorted(set(now) - set(snap))
    print(f"  left by the round the coordinator never finished: {leftover}")
    # A new coordinator on the same port (same DMTCP_TMPDIR) takes over.
    subprocess.run([e.tool("dmtcp_coordinator"), "--daemon", "-q", "-p",
                    e.env["DMTCP_COORD_PORT"]], env=e.env, check=True,
                   timeout=30)
    start = time.time()
    wait_for_peers(e, 2, timeout=30)
    print(f"  both processes rejoined in {time.time() - start:.1f} s")
    r, _ = e.run([e.tool("dmtcp_command"), "-l"])
    check(f"[{big.pid}]@" in r.stdout and f"[{small.pid}]@" in r.stdout,
          f"not our processes: {r.stdout}")
    later = newest_checkpoint(e, "after the takeover")
    check(len(later) == 2 and all(generation(i) > gen for i in later),
          f"later checkpoint: {later}")
    # Its commit removed the older images, the stray one too.
    check(generations_present(e) == [generation(later[0])],
          f"older images stay: {ckpt_files(e.work)}")
    kill_computation(e, [big, small])
    open(e.env["DMTCP_TEST_GO"], "w").close()
    r, _ = e.run(["/bin/bash", os.path.join(e.work, SCRIPT)], timeout=180)
    check(r.returncode == 0 and r.stdout.count("PASS") == 2,
          f"the newest checkpoint does not restart: {r.returncode} "
          f"{r.stdout}{r.stderr}")


def test_sigstop(e):
    """A writer stopped during a round: the round fails after the round
    timeout naming it; once continued it is back, and the next round
    works."""
    timeout = 3
    e.new_coordinator(DMTCP_ROUND_TIMEOUT=str(timeout))
    big = launch_memory(e, 128, "big.out")
    small = launch_memory(e, 4, "small.out")
    wait_for_peers(e, 2)
    upid = upid_of(e, big.pid)
    for attempt in range(5):
        gen, snap = good_checkpoint(e, 2)
        bc = start_bc(e)
        tmp = wait_tmp(e, upid, gen + 1)
        os.kill(big.pid, signal.SIGSTOP)
        if os.path.exists(tmp):
            break
        # Stopped too late (the image was already written): let that round
        # finish and try again.
        os.kill(big.pid, signal.SIGCONT)
        out, err = bc.communicate(timeout=120)
        print(f"  missed the write (attempt {attempt + 1}): {err.strip()}")
    else:
        raise Failure("never stopped the process while it wrote")
    try:
        # While the round waits, the status names whom it waits for (once
        # the kernel has stopped it: SIGSTOP is delivered asynchronously).
        wait_stopped(big.pid)
        r, _ = e.run([e.tool("dmtcp_command"), "-s"], timeout=60)
        check(f"Waiting for: e2e_memory[{big.pid}]@" in r.stdout and
              "(stopped: /proc state T" in r.stdout,
              f"status while stopped: {r.stdout}")
        failed_bc(e, bc, timeout + 30, "stopped writer",
                  f"e2e_memory[{big.pid}]@", "did not reach",
                  "(stopped: /proc state T", f"within {timeout} s")
        running(small, "stopped writer")
        check_intact(e, snap, "stopped writer")
        # No new round while it is away, and the refusal says why.
        r, _ = e.run([e.tool("dmtcp_command"), "-bc"], timeout=60)
        line = one_line_error(r, "while stopped")
        check("has not come back" in line, line)
    finally:
        os.kill(big.pid, signal.SIGCONT)
    # It finishes the round alone: its image of the failed round is
    # never completed.
    start = time.time()
    while True:
        r, took = e.run([e.tool("dmtcp_command"), "-bc"], timeout=120)
        if r.returncode == 0:
            break
        check("has not come back" in r.stderr and time.time() - start < 30,
              f"after SIGCONT: {r.stderr}")
        time.sleep(0.2)
    print(f"  back after {time.time() - start:.1f} s")
    running(big, "after SIGCONT")
    running(small, "after SIGCONT")
    # A process already stopped when -bc comes: refused at once, named.
    os.kill(small.pid, signal.SIGSTOP)
    try:
        wait_stopped(small.pid)
        r, took = e.run([e.tool("dmtcp_command"), "-bc"], timeout=60)
        line = one_line_error(r, "already stopped")
        check(f"e2e_memory[{small.pid}]@" in line and "is stopped" in line
              and took < 10, f"already stopped ({took:.1f} s): {line}")
    finally:
        os.kill(small.pid, signal.SIGCONT)
    later = sorted(os.path.join(e.work, f) for f in ckpt_files(e.work))
    check(generations_present(e) == [gen + 2] and
          all(f.endswith(".dmtcp") or f.endswith(".sh") for f in later),
          f"after SIGCONT: {later}")
    kill_computation(e, [big, small])
    restart_aside(e, 2, "stopped writer")


def test_keepgens(e):
    """--keep-generations 2 keeps the last two checkpoints; the default
    keeps one."""
    e.new_coordinator("--keep-generations", "2")
    p = launch_memory(e, 4, "keep2.out")
    kept = []
    for n in range(1, 4):
        imgs = newest_checkpoint(e, f"checkpoint {n}")
        check(len(imgs) == 1, f"checkpoint {n}: {imgs}")
        kept.append(generation(imgs[0]))
        want = kept[-2:]
        check(generations_present(e) == want,
              f"--keep-generations 2 after {n}: {ckpt_files(e.work)}")
    # The older of the two kept still restarts.
    older = [os.path.join(e.work, f) for f in ckpt_files(e.work)
             if f.endswith(f"_gen{kept[-2]}.dmtcp")]
    kill_computation(e, [p])
    restart_expect_pass(e, older, "older kept generation")
    # The default: one (in a directory of its own).
    d = os.path.join(e.work, "default")
    os.mkdir(d)
    e.new_coordinator(DMTCP_CHECKPOINT_DIR=d)
    env = dict(e.env, DMTCP_CHECKPOINT_DIR=d)
    p = e.launch(os.path.join(e.tests, "e2e_memory"), "4", env=env,
                 out="keep1.out")
    for n in range(1, 4):
        r, _ = e.run([e.tool("dmtcp_command"), "-bc"], timeout=60)
        check(r.returncode == 0, f"default, checkpoint {n}: {r.stderr}")
        imgs = [f for f in ckpt_files(d) if f.endswith(".dmtcp")]
        check(len(imgs) == 1, f"default after {n}: {ckpt_files(d)}")
    kill_computation(e, [p])


def test_planted(e):
    """Names planted at what the next checkpoint writes never receive it."""
    victim = os.path.join(e.work, "victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    for sticky in (True, False):
        d = os.path.join(e.work, "sticky" if sticky else "open")
        os.mkdir(d)
        os.chmod(d, 0o1777 if sticky else 0o777)
        e.new_coordinator(DMTCP_CHECKPOINT_DIR=d)
        env = dict(e.env, DMTCP_CHECKPOINT_DIR=d)
        out = f"planted-{sticky}.out"
        p = e.launch(os.path.join(e.tests, "e2e_memory"), "4", env=env,
                     out=out)
        said = open(os.path.join(e.work, out)).read()
        want = "is writable by others" + ("" if sticky else
                                          " and is not sticky")
        check(f"dmtcp_launch: warning: checkpoint directory {d} " in said
              and want in said, f"no warning about {d}: {said!r}")
        r, _ = e.run([e.tool("dmtcp_command"), "-bc"], timeout=60)
        check(r.returncode == 0, f"first checkpoint: {r.stderr}")
        imgs = [f for f in os.listdir(d) if f.endswith(".dmtcp")]
        check(len(imgs) == 1, f"expected one image in {d}: {imgs}")
        gen = generation(imgs[0])
        for kind in ("symlink", "file"):
            gen += 1
            names = [re.sub(r"_gen\d+\.dmtcp$", f"_gen{gen}.dmtcp", imgs[0])]
            # The temporary names of before (<image>.tmp) and a guess at
            # the random one: nothing may go through either.
            names.append(names[0] + ".tmp")
            names.append(names[0] + ".tmp.0000000000000000")
            for n in names:
                path = os.path.join(d, n)
                if kind == "symlink":
                    os.symlink(victim, path)
                else:
                    with open(path, "w") as f:
                        f.write("planted\n")
                    if os.getuid() == 0:
                        os.chown(path, 65534, 65534)
            r, _ = e.run([e.tool("dmtcp_command"), "-bc"], timeout=60)
            what = f"{kind}s planted in {d}"
            if r.returncode == 0:
                img = os.path.join(d, names[0])
                st = os.lstat(img)
                check(not os.path.islink(img) and st.st_uid == os.getuid()
                      and st.st_mode & 0o777 == 0o600,
                      f"{what}: the image is not ours: {st}")
                outcome = "written under the planted name, replaced"
            else:
                outcome = one_line_error(r, what)
                gen -= 1  # that generation did not commit
                for n in names:  # clear them for the next kind
                    os.unlink(os.path.join(d, n))
            with open(victim) as f:
                check(f.read() == "precious\n", f"{what}: victim changed")
            running(p, what)
            print(f"  {what}: {outcome}")
        kill_computation(e, [p])
        newest = newest_images(d)
        # The pid plugin's list of the restarted computation's pids, in the
        # shared temporary directory under a name anyone can predict.
        r, _ = e.run([e.tool("dmtcp_inspect"), "--json", newest[0]])
        check(r.returncode == 0, f"dmtcp_inspect: {r.stderr}")
        cid = json.loads(r.stdout)[0]["header"]["computation_id"]
        tmp = e.env.get("DMTCP_TMPDIR") or e.env.get("TMPDIR") or "/tmp"
        pids = os.path.join(tmp, f"dmtcp-pids-{cid}")
        os.symlink(victim, pids)
        restart_expect_pass(e, newest, f"restart from {d}")
        with open(victim) as f:
            check(f.read() == "precious\n",
                  f"restart wrote through a link planted at {pids}")
        if os.path.lexists(pids):
            os.unlink(pids)


def newest_images(d):
    imgs = [f for f in os.listdir(d)
            if f.startswith("ckpt_") and f.endswith(".dmtcp")]
    check(imgs, f"no image in {d}")
    top = max(generation(f) for f in imgs)
    return [os.path.join(d, f) for f in imgs if generation(f) == top]


def test_bcqueue(e):
    """Back-to-back blocking checkpoints right after a restart all
    succeed, and the interval set before the checkpoint stays."""
    p = launch_memory(e, 4, "launched.out")
    r, _ = e.run([e.tool("dmtcp_command"), "-i", "5"])
    check(r.returncode == 0, f"-i 5: {r.stderr}")
    imgs = newest_checkpoint(e, "before the restart")
    check(len(imgs) == 1, f"expected one image: {imgs}")
    kill_computation(e, [p])
    e.new_coordinator()
    r, _ = e.run([e.tool("dmtcp_command"), "-s"])
    check("Checkpoint interval: disabled" in r.stdout,
          f"the new coordinator has an interval already: {r.stdout}")
    restart = LoggedPopen([e.tool("dmtcp_restart"), imgs[0]],
                          os.path.join(e.work, "restart.out"), env=e.env)
    # At once: as soon as the coordinator has heard of the restart (before
    # that, there is nothing to checkpoint).
    deadline = time.time() + 60
    while True:
        r, _ = e.run([e.tool("dmtcp_command"), "-s"])
        if "NUM_PEERS=1" in r.stdout:
            break
        check(time.time() < deadline and restart.poll() is None,
              f"the restart never joined: {r.stdout}")
        time.sleep(0.01)
    status = re.search(r"Status: (\w+)", r.stdout)
    print(f"  first -bc while the coordinator says "
          f"{status.group(1) if status else '?'}")
    for n in range(20):
        r, took = e.run([e.tool("dmtcp_command"), "-bc"], timeout=120)
        check(r.returncode == 0, f"-bc {n + 1} of 20 after the restart: "
              f"{r.stdout}{r.stderr}")
    r, _ = e.run([e.tool("dmtcp_command"), "-s"])
    check("Checkpoint interval: 5 s" in r.stdout,
          f"the interval was lost in the restart: {r.stdout}")
    running(restart, "after 20 checkpoints")
    open(e.env["DMTCP_TEST_GO"], "w").close()
    check(restart.wait(timeout=120) == 0, "the restarted program failed")
    check("PASS" in open(os.path.join(e.work, "restart.out")).read(),
          "the restarted program did not PASS")


def image_writer_of(pid, timeout=60):
    """The pid of the forked image writer of process pid (its child named
    dmtcp_imgwriter), once there is one."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if name == "dmtcp_imgwriter" and ppid == pid:
                return int(d)
        time.sleep(0.001)
    raise Failure(f"process {pid} never had an image writer")


def wait_dead(pid, timeout):
    """Until pid is gone or a zombie."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except OSError:
            return True
        time.sleep(0.01)
    return False


def test_forkedkill(e):
    """Forked checkpoints: a writer that dies fails the round cleanly, and
    a kill of the computation while a writer writes leaves nothing."""
    e.env["DMTCP_FORKED_CHECKPOINT"] = "1"
    big = launch_memory(e, 256, "big.out")
    small = launch_memory(e, 4, "small.out")
    wait_for_peers(e, 2)
    upid = upid_of(e, big.pid)
    for attempt in range(5):
        gen, snap = good_checkpoint(e, 2)
        bc = start_bc(e)
        wait_tmp(e, upid, gen + 1)
        writer = image_writer_of(big.pid)
        os.kill(writer, signal.SIGKILL)
        out, err = bc.communicate(timeout=120)
        if bc.returncode == 0:
            # Killed just after it was done: try again.
            print(f"  missed the write (attempt {attempt + 1})")
            continue
        r = subprocess.CompletedProcess(bc.args, bc.returncode, out, err)
        line = one_line_error(r, "writer killed")
        for t in (f"e2e_memory[{big.pid}]", "killed by signal 9",
                  "previous checkpoint is intact"):
            check(t in line, f"writer killed: {line!r} lacks {t!r}")
        print(f"  writer killed: -bc said: {line}")
        break
    else:
        raise Failure("never killed a writer while it wrote")
    running(big, "writer killed")
    running(small, "writer killed")
    check_intact(e, snap, "writer killed")
    check(not os.path.exists(f"/proc/{writer}"), "the writer stays")
    later = newest_checkpoint(e, "after the writer died")
    check(len(later) == 2 and all(generation(i) > gen for i in later),
          f"later checkpoint: {later}")
    # The computation killed while a writer writes.
    gen, snap = good_checkpoint(e, 2)
    bc = start_bc(e)
    tmp = wait_tmp(e, upid, gen + 1)
    writer = image_writer_of(big.pid)
    e.run([e.tool("dmtcp_command"), "-k"], timeout=30)
    for p in (big, small):
        p.wait(timeout=60)
    out, err = bc.communicate(timeout=60)
    check(bc.returncode != 0, f"-k mid-write: -bc succeeded: {out}")
    # The coordinator SIGKILLs local processes itself: the writer dies
    # with its process (PR_SET_PDEATHSIG) and is then a zombie of ours,
    # the subreaper, until we reap it.
    check(wait_dead(writer, 10), "-k mid-write: the writer stays")
    check(wait_gone(tmp, 10), f"-k mid-write: {tmp} stays")
    wait_for_peers(e, 0)
    check_intact(e, snap, "-k mid-write")
    restart_aside(e, 2, "-k mid-write")
    # A writer stopped (SIGSTOP) mid-write: the round timeout names its
    # process, which stops the writer and goes on; the next round works.
    timeout = 3
    e.new_coordinator(DMTCP_ROUND_TIMEOUT=str(timeout))
    for f in ckpt_files(e.work):  # the earlier computation's
        os.unlink(os.path.join(e.work, f))
    os.unlink(e.env["DMTCP_TEST_GO"])  # restart_aside's
    big = launch_memory(e, 256, "big2.out")
    wait_for_peers(e, 1)
    upid = upid_of(e, big.pid)
    gen, snap = good_checkpoint(e, 1)
    bc = start_bc(e)
    tmp = wait_tmp(e, upid, gen + 1)
    writer = image_writer_of(big.pid)
    os.kill(writer, signal.SIGSTOP)
    line = failed_bc(e, bc, timeout + 60, "stopped writer",
                     f"e2e_memory[{big.pid}]@", "did not reach CKPT_WRITTEN")
    check(wait_dead(writer, 10), "stopped writer: the writer stays")
    check(wait_gone(tmp, 10), f"stopped writer: {tmp} stays")
    running(big, "stopped writer")
    check_intact(e, snap, "stopped writer")
    start = time.time()
    while True:
        r, _ = e.run([e.tool("dmtcp_command"), "-bc"], timeout=120)
        if r.returncode == 0:
            break
        check("has not come back" in r.stderr and time.time() - start < 30,
              f"after the stopped writer: {r.stderr}")
        time.sleep(0.2)
    kill_computation(e, [big])


def chain_info(e, path):
    """The chain fields of an image's header (dmtcp_inspect --json)."""
    r, _ = e.run([e.tool("dmtcp_inspect"), "--json", "--header", path])
    check(r.returncode == 0, f"dmtcp_inspect {path}: {r.stderr}")
    h = json.loads(r.stdout)[0]["header"]
    return h["incremental"]


def launch_incremental(e, out, *opts):
    """e2e_incremental (five application checkpoints, each after random
    page changes) under dmtcp_launch --incremental: READY after the
    fifth."""
    return e.launch("--incremental", *opts,
                    os.path.join(e.tests, "e2e_incremental"), "8", out=out)


def restart_expect_pass(e, images, what):
    open(e.env["DMTCP_TEST_GO"], "w").close()
    r, _ = e.run([e.tool("dmtcp_restart"), *images], timeout=120)
    check(r.returncode == 0 and "PASS" in r.stdout,
          f"{what}: {r.returncode} {r.stdout}{r.stderr}")
    wait_for_peers(e, 0)
    os.unlink(e.env["DMTCP_TEST_GO"])


def test_incrchain(e):
    """An incremental chain of six (five application checkpoints and one
    -bc) with a link missing, or a file of the right name that is another
    image (an older generation, of another run), is refused with one line
    naming the link, before anything starts; put back, it restarts and the
    program finds its memory byte for byte."""
    p = launch_incremental(e, "chain.out")
    imgs = newest_checkpoint(e, "sixth checkpoint")
    check(len(imgs) == 1, f"one process, images {imgs}")
    newest = imgs[0]
    gens = generations_present(e)
    check(gens == [1, 2, 3, 4, 5, 6], f"the chain's images: {gens}")
    link = chain_info(e, newest)
    check(link is not None and link["depth"] == 5 and
          link["parent_generation"] == 5 and link["base_generation"] == 1,
          f"the newest image's link: {link}")
    check(chain_info(e, newest.replace("_gen6", "_gen1")) is None,
          "generation 1 is not the full image")
    kill_computation(e, [p])
    middle = newest.replace("_gen6", "_gen3")
    aside = os.path.join(e.work, "aside")
    os.rename(middle, aside)
    r, _ = e.run([e.tool("dmtcp_restart"), newest], timeout=60)
    one_line_error(r, "a missing link")
    check("predecessor (generation 3" in r.stderr and
          "is missing" in r.stderr, f"missing link: {r.stderr!r}")
    wait_for_peers(e, 0)
    # Another image under the link's name: generation 2's bytes.
    shutil.copyfile(newest.replace("_gen6", "_gen2"), middle)
    r, _ = e.run([e.tool("dmtcp_restart"), newest], timeout=60)
    one_line_error(r, "a mismatched link")
    check("predecessor (generation 3" in r.stderr and
          "does not match" in r.stderr, f"mismatched link: {r.stderr!r}")
    wait_for_peers(e, 0)
    # A damaged link is refused too (its checksums), before anything runs.
    os.unlink(middle)
    data = bytearray(open(aside, "rb").read())
    data[len(data) // 2] ^= 0x40
    with open(middle, "wb") as f:
        f.write(data)
    r, _ = e.run([e.tool("dmtcp_restart"), newest], timeout=60)
    check(r.returncode != 0 and "PASS" not in r.stdout,
          f"a damaged link restarted: {r.returncode} {r.stdout}{r.stderr}")
    wait_for_peers(e, 0)
    os.replace(aside, middle)
    restart_expect_pass(e, [newest], "the chain put back")


def test_incrcompact(e):
    """--incremental-full-every 3: every third image is full (depths 0 1 2
    0 1 2 ...); once a full image is committed the chain before it goes
    (default --keep-generations 1), the kept chain restarts."""
    p = launch_incremental(e, "compact.out", "--incremental-full-every", "3")

    def depth(g):
        path = [os.path.join(e.work, f) for f in ckpt_files(e.work)
                if f.endswith(f"_gen{g}.dmtcp")]
        check(len(path) == 1, f"generation {g}: {ckpt_files(e.work)}")
        link = chain_info(e, path[0])
        return 0 if link is None else link["depth"]

    # Generation 4 is full and committed: 1-3 are gone, 4 and 5 stay.
    check(generations_present(e) == [4, 5],
          f"after five: {ckpt_files(e.work)}")
    check([depth(4), depth(5)] == [0, 1], f"depths {depth(4)} {depth(5)}")
    newest_checkpoint(e, "sixth")
    check(generations_present(e) == [4, 5, 6],
          f"after six: {ckpt_files(e.work)}")
    check(depth(6) == 2, f"depth of the sixth: {depth(6)}")
    imgs = newest_checkpoint(e, "seventh")
    check(chain_info(e, imgs[0]) is None, "the seventh is not full")
    check(generations_present(e) == [7],
          f"after the seventh (full): {ckpt_files(e.work)}")
    kill_computation(e, [p])
    restart_expect_pass(e, imgs, "a compacted chain")


def test_lazycorrupt(e):
    """dmtcp_restart --lazy refuses a damaged image as a plain restart
    does, with the same line, before the program runs: the image is
    checked whole (headers, order, trailer, compressed data through the
    trailer's hash) and only the lazy chunks' pages wait
    (docs/lazy-restart.md)."""
    good = checkpointed_image(e, os.path.join(e.tests, "e2e_lazy"), "touch",
                              "64")
    bad = os.path.join(e.work, "bad.img")
    rng = random.Random(2)
    cases = [("header only", good[:100])]
    cases += damaged(good, rng,
                     (300, len(good) // 3, len(good) // 2, len(good) - 1),
                     [10, 200] + [rng.randrange(len(good) // 4, len(good))
                                  for _ in range(6)])
    lazy_env = dict(e.env, DMTCP_RESTART_LAZY="1")
    for name, data in cases:
        with open(bad, "wb") as f:
            f.write(data)
        plain, _ = e.run([e.tool("dmtcp_restart"), bad], timeout=60)
        plain_line = one_line_error(plain, f"{name} (plain)")
        lazy = subprocess.run([e.tool("dmtcp_restart"), bad], env=lazy_env,
                              capture_output=True, text=True, timeout=60)
        line = one_line_error(lazy, f"{name} (lazy)")
        # Damaged data of a lazy chunk is found by the trailer's hash of
        # the compressed bytes rather than by the chunk's own checksum
        # (its pages are not decompressed before the program runs): still
        # one line and a refusal, but another line than a plain restart's.
        same = line == plain_line or (
            "data checksum mismatch" in plain_line and
            "compressed data differ" in line)
        check(same and bad in line and lazy.returncode == 1,
              f"{name}: lazy says {line!r} ({lazy.returncode}), "
              f"plain {plain_line!r}")
        print(f"  {name}: {line}")
    # The good image restarts lazily, and the program finds every page.
    open(e.env["DMTCP_TEST_GO"], "w").close()
    r = subprocess.run([e.tool("dmtcp_restart"), e.image()], env=lazy_env,
                       capture_output=True, text=True, timeout=120)
    out = open(os.path.join(e.work, "prog.out")).read()
    check(r.returncode == 0 and ("PASS" in out or "PASS" in r.stdout),
          f"good image after the bad ones: {r.returncode} {out} {r.stderr}")


def test_incrfailed(e):
    """A round that fails because of another process: this process's
    image of it was written, then removed by the coordinator; the next
    image must build on the last committed generation, not on the removed
    one, so the chain stays whole and restarts."""
    a = launch_incremental(e, "failed-a.out")
    b = e.launch("--incremental", os.path.join(e.tests, "e2e_memory"), "4",
                 out="failed-b.out")
    wait_for_peers(e, 2)
    prlimit_fsize(b.pid, "4096:")  # the soft limit only: B cannot write
    r, _ = e.run([e.tool("dmtcp_command"), "-bc"], timeout=120)
    check(r.returncode != 0, f"round 6 did not fail: {r.stdout}{r.stderr}")
    check(generations_present(e) == [1, 2, 3, 4, 5],
          f"after the failed round: {ckpt_files(e.work)}")
    prlimit_fsize(b.pid, "unlimited:")
    imgs = newest_checkpoint(e, "after the failure")
    check(len(imgs) == 2, f"two processes, images {imgs}")
    links = [chain_info(e, i) for i in imgs]
    parents = sorted(l["parent_generation"] for l in links if l is not None)
    check(parents == [5], f"the images after the failed round: {links}")
    kill_computation(e, [a, b])
    restart_expect_pass(e, imgs, "a chain across a failed round")

def test_incrrestart(e):
    """A chain goes on across a restart (docs/incremental.md, "Across a
    restart"): restarted from generation 6 (depth 5), the program changes
    its pages again; the next image names generation 6 as its predecessor
    (depth 6) and is a small part of a full one; restarted from it, the
    program finds its memory byte for byte."""
    p = launch_incremental(e, "incrrestart.out")
    imgs = newest_checkpoint(e, "sixth checkpoint")
    check(len(imgs) == 1, f"one process, images {imgs}")
    six = chain_info(e, imgs[0])
    check(six is not None and six["depth"] == 5, f"the sixth: {six}")
    full_size = os.path.getsize(imgs[0].replace("_gen6", "_gen1"))
    kill_computation(e, [p])
    out = os.path.join(e.work, "incrrestart1.out")
    r1 = LoggedPopen([e.tool("dmtcp_restart"), imgs[0]], out, env=e.env)
    wait_for_peers(e, 1)
    open(e.env["DMTCP_TEST_GO"] + "1", "w").close()
    deadline = time.time() + 60
    while "MUTATED" not in open(out).read():
        check(time.time() < deadline and r1.poll() is None,
              f"no MUTATED after the restart: {open(out).read()}")
        time.sleep(0.02)
    imgs = newest_checkpoint(e, "after the restart")
    check(len(imgs) == 1 and imgs[0].endswith("_gen7.dmtcp"),
          f"the image after the restart: {imgs}")
    seven = chain_info(e, imgs[0])
    check(seven is not None and seven["depth"] == 6 and
          seven["parent_generation"] == 6 and seven["base_generation"] == 1,
          f"the image after the restart does not continue the chain: {seven}")
    size = os.path.getsize(imgs[0])
    print(f"  after the restart: depth {seven['depth']}, {size} bytes "
          f"(full image {full_size})")
    check(size < full_size / 2, f"{size} bytes against {full_size} full")
    kill_computation(e, [r1])
    restart_expect_pass(e, imgs, "a chain continued across a restart")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--tests", required=True)
    cases = {"corrupt": test_corrupt, "midckpt": test_midckpt,
             "changedfile": test_changedfile, "sharedfile": test_sharedfile,
             "usage": test_usage, "plugins": test_plugins,
             "tmpdir": test_tmpdir, "launchfail": test_launchfail,
             "restartset": test_restartset,
             "generations": test_generations, "diskfull": test_diskfull,
             "coordkill": test_coordkill, "sigstop": test_sigstop,
             "keepgens": test_keepgens, "bcqueue": test_bcqueue,
             "planted": test_planted, "forkedkill": test_forkedkill,
             "incrchain": test_incrchain, "incrcompact": test_incrcompact,
             "incrfailed": test_incrfailed,
             "incrrestart": test_incrrestart,
             "lazycorrupt": test_lazycorrupt}
    ap.add_argument("case", choices=sorted(cases))
    a = ap.parse_args()
    libc = ctypes.CDLL(None)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    e = Env(os.path.abspath(a.bin), os.path.abspath(a.tests))
    ok = False
    try:
        cases[a.case](e)
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
