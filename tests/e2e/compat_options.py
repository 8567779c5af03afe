#!/usr/bin/env python3
"""Upstream DMTCP's launch and restart options, as scripts written for
current DMTCP use them (docs/compatibility.md).

  table        every option of upstream's tables is in our --help and is
               accepted (not "unknown option"); --version says "(DMTCP)"
  launch       --ckptdir that does not exist yet is created;
               --enable-unique-checkpoint-filenames (and
               DMTCP_UNIQUE_CKPT_PLUGIN=1) put each generation in
               ckpt_<computation>_<generation>/, --disable-... does not;
               --checkpoint-open-files is --ckpt-open-files; --port-file
               and --coord-logfile reach a coordinator we start;
               --pathvirt and --kernel-loader: one line, exit 1
  restart      --restartdir finds the images; --debug-restart-pause and
               DMTCP_RESTART_PAUSE wait before joining (SIGCONT goes on);
               --no-strict-checking is accepted; --ckptdir (made if
               missing) is where the next checkpoint goes
  tmpdir       launch and restart with a --tmpdir other than the
               coordinator's still find its key
  modifyenv    --modify-env: after a restart <ckptdir>/dmtcp_env.txt sets
               (with $VAR of dmtcp_restart's environment) and unsets
               variables
  ownenv       a program exec'd with an environment without our variables
               still joins our coordinator (upstream's forkexec)
  badpath      stat, lstat, access, open of NULL or a kernel address fail
               with EFAULT under dmtcp_launch (not SIGSEGV)
  nocheckpoint dmtcp_nocheckpoint runs a program outside the computation,
               with the LD_PRELOAD the user had at launch, and a checkpoint
               does not wait for it
"""
import argparse
import ctypes
import glob
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36

# Upstream DMTCP's option tables (its --help texts), per tool.
UPSTREAM = {
    "dmtcp_launch": [
        "--coord-host", "--coord-port", "--port-file", "--join-coordinator",
        "--new-coordinator", "--any-coordinator", "--interval", "--gzip",
        "--no-gzip", "--ckptdir", "--ckpt-open-files",
        "--checkpoint-open-files", "--allow-file-overwrite", "--ckpt-signal",
        "--enable-unique-checkpoint-filenames",
        "--disable-unique-checkpoint-filenames", "--with-plugin",
        "--modify-env", "--pathvirt", "--disable-alloc-plugin",
        "--disable-dl-plugin", "--disable-ssh-plugin",
        "--disable-event-plugin", "--disable-file-plugin",
        "--disable-pty-plugin", "--disable-socket-plugin",
        "--disable-svipc-plugin", "--disable-timer-plugin",
        "--disable-pid-plugin", "--disable-all-plugins", "--tmpdir",
        "--quiet", "--coord-logfile", "--help", "--version"],
    "dmtcp_restart": [
        "--coord-host", "--coord-port", "--port-file", "--join-coordinator",
        "--new-coordinator", "--any-coordinator", "--interval",
        "--no-strict-checking", "--ckptdir", "--restartdir", "--tmpdir",
        "--quiet", "--coord-logfile", "--debug-restart-pause", "--help",
        "--version"],
    "dmtcp_coordinator": [
        "--coord-port", "--port-file", "--status-file", "--ckptdir",
        "--tmpdir", "--write-kv-data", "--exit-on-last", "--kill-after-ckpt",
        "--timeout", "--stale-timeout", "--daemon", "--interval",
        "--coord-logfile", "--quiet", "--help", "--version"],
    "dmtcp_command": [
        "--coord-host", "--coord-port", "--help", "--version", "--json",
        "--status", "--list", "--checkpoint", "--bcheckpoint",
        "--kcheckpoint", "--interval", "--kill", "--quit"],
}
# Options whose upstream meaning cannot apply here: one line, exit 1.
REFUSED = {"dmtcp_launch": ["--pathvirt", "--kernel-loader"]}


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Env:
    def __init__(self, bindir):
        self.bin = bindir
        self.work = tempfile.mkdtemp(prefix="compat_options.")
        self.env = dict(os.environ)
        for v in list(self.env):
            if v.startswith("DMTCP_") or v == "LD_PRELOAD":
                del self.env[v]
        self.env["DMTCP_TMPDIR"] = os.path.join(self.work, "tmp")
        self.procs = []
        self.port = None

    def tool(self, name):
        return os.path.join(self.bin, name)

    def run(self, argv, timeout=60, env=None, **kw):
        return subprocess.run(argv, env=env or self.env, cwd=self.work,
                              capture_output=True, text=True,
                              timeout=timeout, **kw)

    def spawn(self, argv, env=None):
        p = subprocess.Popen(argv, env=env or self.env, cwd=self.work,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def coordinator(self, *extra, env=None):
        pf = os.path.join(self.work, "port")
        if os.path.exists(pf):
            os.unlink(pf)
        self.spawn([self.tool("dmtcp_coordinator"), "-q", "-p", "0",
                    "--port-file", pf, *extra], env=env)
        deadline = time.time() + 10
        while time.time() < deadline and not (
                os.path.exists(pf) and open(pf).read().endswith("\n")):
            time.sleep(0.02)
        self.port = int(open(pf).read())
        self.env["DMTCP_COORD_PORT"] = str(self.port)
        return self.port

    def status(self):
        r = self.run([self.tool("dmtcp_command"), "--json", "-s"])
        return json.loads(r.stdout)

    def wait_peers(self, n, running=True, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.status()
            if s.get("num_peers") == n and s.get("running") == running:
                return
            time.sleep(0.1)
        raise Failure(f"timed out waiting for {n} peers: {self.status()}")

    def command(self, *args):
        r = self.run([self.tool("dmtcp_command"), *args])
        check(r.returncode == 0, f"dmtcp_command {args}: {r.stderr}")
        return r.stdout

    def close(self):
        if self.port is not None:
            self.run([self.tool("dmtcp_command"), "-q"])
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def images(root):
    return sorted(glob.glob(os.path.join(root, "**", "ckpt_*.dmtcp"),
                            recursive=True))


def test_table(e):
    for tool, options in UPSTREAM.items():
        r = e.run([e.tool(tool), "--help"])
        check(r.returncode == 0, f"{tool} --help: exit {r.returncode}")
        for opt in options:
            check(opt in r.stdout, f"{tool} --help lacks {opt}")
        r = e.run([e.tool(tool), "--version"])
        check(r.returncode == 0 and f"{tool} (DMTCP) " in r.stdout,
              f"{tool} --version: {r.stdout!r}")
    # Each option is known: whatever else goes wrong, never "unknown".
    values = {"--coord-host": "127.0.0.1", "--coord-port": "1",
              "--port-file": "pf", "--interval": "0", "--ckptdir": "ck",
              "--ckpt-signal": "10", "--with-plugin": "", "--tmpdir": "t",
              "--coord-logfile": "log", "--restartdir": "rd",
              "--debug-restart-pause": "1", "--status-file": "sf",
              "--timeout": "1", "--stale-timeout": "1"}
    for tool in ("dmtcp_launch", "dmtcp_restart", "dmtcp_coordinator"):
        for opt in UPSTREAM[tool]:
            if opt in ("--help", "--version", "--daemon"):
                continue
            argv = [e.tool(tool), opt]
            if opt in values:
                argv.append(values[opt])
            if tool == "dmtcp_launch":
                argv += ["-j", "-p", "1", "/bin/true"]
            elif tool == "dmtcp_restart":
                argv += ["-j", "-p", "1", "/dev/null"]
            else:
                argv += ["--timeout", "1", "-p", "0"]
            r = e.run(argv, timeout=20, stdin=subprocess.DEVNULL)
            check("unknown option" not in r.stderr,
                  f"{tool} {opt}: {r.stderr.strip()}")
    for tool, options in REFUSED.items():
        for opt in options:
            r = e.run([e.tool(tool), opt, "/bin/true"])
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 1 and len(lines) == 1 and opt in lines[0],
                  f"{tool} {opt}: exit {r.returncode} {r.stderr!r}")


def test_launch(e):
    e.coordinator()
    # A checkpoint directory two levels down that does not exist yet.
    ck = os.path.join(e.work, "new", "ck")
    data = os.path.join(e.work, "data.txt")
    with open(data, "w") as f:
        f.write("kept\n")
    e.spawn([e.tool("dmtcp_launch"), "--checkpoint-open-files",
             "--allow-file-overwrite", "--ckptdir", ck, "/bin/sh", "-c",
             f"exec 3<{data}; sleep 300; true"])
    e.wait_peers(2)  # sh and its sleep
    e.command("-bc")
    got = images(ck)
    check(len(got) == 2 and os.path.dirname(got[0]) == ck,
          f"images in {ck}: {got}")
    check(glob.glob(os.path.join(ck, "ckpt_*_files")),
          "--checkpoint-open-files kept no copies")
    e.command("-k")
    e.wait_peers(0, running=False)
    # Unique directories per generation, by option and by upstream's
    # variable; --disable-... wins over the variable.
    for how in (["--enable-unique-checkpoint-filenames"], []):
        env = dict(e.env)
        if not how:
            env["DMTCP_UNIQUE_CKPT_PLUGIN"] = "1"
        ck = os.path.join(e.work, "uniq" + str(len(how)))
        e.spawn([e.tool("dmtcp_launch"), *how, "--ckptdir", ck,
                 "/bin/sleep", "300"], env=env)
        e.wait_peers(1)
        e.command("-bc")
        e.command("-bc")
        got = images(ck)
        dirs = sorted({os.path.basename(os.path.dirname(p)) for p in got})
        check(len(dirs) == 2 and all(d.startswith("ckpt_") for d in dirs)
              and dirs[0].endswith("_00001") and dirs[1].endswith("_00002"),
              f"unique directories {how}: {got}")
        e.command("-k")
        e.wait_peers(0, running=False)
    env = dict(e.env)
    env["DMTCP_UNIQUE_CKPT_PLUGIN"] = "1"
    ck = os.path.join(e.work, "plain")
    e.spawn([e.tool("dmtcp_launch"), "--disable-unique-checkpoint-filenames",
             "--ckptdir", ck, "/bin/sleep", "300"], env=env)
    e.wait_peers(1)
    e.command("-bc")
    got = images(ck)
    check(len(got) == 1 and os.path.dirname(got[0]) == ck,
          f"--disable-unique-checkpoint-filenames: {got}")
    e.command("-k")
    e.wait_peers(0, running=False)
    # A coordinator we start: its port in --port-file, its log in
    # --coord-logfile, a random port with --new-coordinator.
    pf = os.path.join(e.work, "launch.port")
    log = os.path.join(e.work, "launch.log")
    env = dict(e.env)
    del env["DMTCP_COORD_PORT"]
    p = e.spawn([e.tool("dmtcp_launch"), "--new-coordinator", "--port-file",
                 pf, "--coord-logfile", log, "/bin/sleep", "300"], env=env)
    deadline = time.time() + 10
    while time.time() < deadline and not os.path.exists(pf):
        time.sleep(0.05)
    port = int(open(pf).read())
    check(port not in (0, 7779, e.port), f"--new-coordinator port {port}")
    r = e.run([e.tool("dmtcp_command"), "-p", str(port), "-k"])
    check(r.returncode == 0, f"kill: {r.stderr}")
    p.wait(timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline and "DMTCP coordinator exiting" not in (
            open(log).read() if os.path.exists(log) else ""):
        time.sleep(0.05)
    check("DMTCP coordinator exiting" in open(log).read(),
          f"--coord-logfile: {open(log).read()!r}")


def test_restart(e):
    e.coordinator()
    ck = os.path.join(e.work, "ck")
    e.spawn([e.tool("dmtcp_launch"), "--ckptdir", ck, "/bin/sleep", "300"])
    e.wait_peers(1)
    e.command("-bc")
    e.command("-k")
    e.wait_peers(0, running=False)
    # Paused before joining, by option and by variable; SIGCONT goes on.
    for how in (["--debug-restart-pause", "2"], []):
        env = dict(e.env)
        if not how:
            env["DMTCP_RESTART_PAUSE"] = "1"
        p = e.spawn([e.tool("dmtcp_restart"), *how, "--restartdir", ck],
                    env=env)
        time.sleep(1.5)
        check(p.poll() is None, f"dmtcp_restart {how} exited")
        s = e.status()
        check(s["num_peers"] == 0 and not s["running"],
              f"joined while paused: {s}")
        os.kill(p.pid, signal.SIGCONT)
        e.wait_peers(1)
        e.command("-k")
        e.wait_peers(0, running=False)
    # --ckptdir (not there yet): the next checkpoint goes there, even when
    # the coordinator names another directory.
    e.run([e.tool("dmtcp_command"), "-q"])
    e.coordinator("--ckptdir", os.path.join(e.work, "coordinator-ckpt"))
    newck = os.path.join(e.work, "restart-ckpt", "deeper")
    e.spawn([e.tool("dmtcp_restart"), "--no-strict-checking", "--ckptdir",
             newck, *images(ck)])
    e.wait_peers(1)
    e.command("-bc")
    check(len(images(newck)) == 1, f"restart --ckptdir: {images(newck)}")
    e.command("-k")
    e.wait_peers(0, running=False)
    # Bad uses: one line each.
    for argv, text in (
            ([e.tool("dmtcp_restart"), "--restartdir", e.work + "/none"],
             "--restartdir"),
            ([e.tool("dmtcp_restart"), "--restartdir", e.work],
             "no checkpoint image"),
            ([e.tool("dmtcp_restart"), "--debug-restart-pause", "9", "x"],
             "1 to 7"),
            ([e.tool("dmtcp_restart"), "--restartdir", ck, "img"],
             "--restartdir")):
        r = e.run(argv)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 1 and len(lines) == 1 and text in lines[0],
              f"{argv[1:]}: exit {r.returncode} {r.stderr!r}")


def test_tmpdir(e):
    e.coordinator()
    env = dict(e.env)
    env["DMTCP_TMPDIR"] = os.path.join(e.work, "other-tmp")
    ck = os.path.join(e.work, "ck")
    e.spawn([e.tool("dmtcp_launch"), "--tmpdir",
             os.path.join(e.work, "launch-tmp"), "--ckptdir", ck,
             "/bin/sleep", "300"], env=env)
    e.wait_peers(1)
    e.command("-bc")
    e.command("-k")
    e.wait_peers(0, running=False)
    e.spawn([e.tool("dmtcp_restart"), "--tmpdir",
             os.path.join(e.work, "restart-tmp"), *images(ck)], env=env)
    e.wait_peers(1)
    e.command("-bc")
    e.command("-k")


def test_nocheckpoint(e):
    e.coordinator()
    out = os.path.join(e.work, "out")
    nocheckpoint = e.tool("dmtcp_nocheckpoint")
    inner = f'echo "[${{LD_PRELOAD-unset}}]" >> {out}; sleep 300'
    script = (f"{nocheckpoint} /bin/sh -c '{inner}' & "
              f"LD_PRELOAD=USER_STRING {nocheckpoint} /bin/sh -c '{inner}' & "
              "wait")
    e.spawn([e.tool("dmtcp_launch"), "/bin/sh", "-c", script])
    deadline = time.time() + 20
    while time.time() < deadline and not (
            os.path.exists(out) and len(open(out).readlines()) == 2):
        time.sleep(0.05)
    lines = sorted(open(out).read().split())
    # LD_PRELOAD as the user had it at launch (none), whatever the
    # program set since (upstream's meaning).
    check(lines == ["[]", "[]"], f"LD_PRELOAD seen: {lines}")
    e.wait_peers(1)  # the shell only
    t0 = time.time()
    e.command("-bc")
    took = time.time() - t0
    check(took < 8, f"the checkpoint waited {took:.1f}s for the outsiders")
    check(e.status()["num_peers"] == 1, f"{e.status()}")


def test_modifyenv(e):
    e.coordinator()
    ck = os.path.join(e.work, "ck")
    out = os.path.join(e.work, "env.out")
    env = dict(e.env, T="before", R="remove-me", K="kept")
    e.spawn([e.tool("dmtcp_launch"), "--modify-env", "--ckptdir", ck,
             os.path.join(e.tests, "e2e_getenv_loop"), out, "T", "R", "K",
             "N"], env=env)
    e.wait_peers(1)
    e.command("-bc")
    e.command("-k")
    e.wait_peers(0, running=False)
    with open(os.path.join(ck, "dmtcp_env.txt"), "w") as f:
        f.write("# a comment\nT=\"$FROM_RESTART-after\"\nR\n\nN=${FROM_RESTART}2\n")
    os.unlink(out)
    e.spawn([e.tool("dmtcp_restart"), *images(ck)],
            env=dict(e.env, FROM_RESTART="x"))
    e.wait_peers(1)
    deadline = time.time() + 10
    while time.time() < deadline and not os.path.exists(out):
        time.sleep(0.05)
    got = open(out).read().split("\n")
    check(got[:4] == ["T=x-after", "R unset", "K=kept", "N=x2"],
          f"environment after restart: {got}")


def test_ownenv(e):
    e.coordinator()
    # execve with an environment of the program's own, without our
    # variables: the new program still joins our coordinator (not 7779).
    code = ("import os; os.execve('/bin/sleep', ['sleep', '300'], "
            "{'PATH': '/bin:/usr/bin'})")
    e.spawn([e.tool("dmtcp_launch"), sys.executable, "-c", code])
    deadline = time.time() + 20
    while time.time() < deadline:
        r = e.run([e.tool("dmtcp_command"), "--json", "-l"])
        if "sleep[" in json.loads(r.stdout).get("workers", ""):
            break
        time.sleep(0.1)
    r = e.run([e.tool("dmtcp_command"), "--json", "-l"])
    check("sleep[" in json.loads(r.stdout).get("workers", ""),
          f"the exec'd program did not rejoin: {r.stdout}")
    e.command("-bc")


def last_round_forked(e):
    j = json.loads(e.run([e.tool("dmtcp_command"), "--json",
                          "--stats"]).stdout)["stats"]
    check(not j["failed"], f"--stats: {j}")
    return j["forked"]


def test_forked(e):
    """--forked-checkpoint (DMTCP_FORKED_CHECKPOINT=1) is kept in the
    image, so a restart keeps the mode; dmtcp_restart
    --(no-)forked-checkpoint and the variable change it."""
    e.coordinator()
    for how, env, want in ((["--forked-checkpoint"], {}, True), ([], {}, False),
                           ([], {"DMTCP_FORKED_CHECKPOINT": "1"}, True),
                           (["--no-forked-checkpoint"],
                            {"DMTCP_FORKED_CHECKPOINT": "1"}, False)):
        ck = os.path.join(e.work, f"forked-{len(how)}-{len(env)}-{want}")
        e.spawn([e.tool("dmtcp_launch"), "--ckptdir", ck, *how, "sleep",
                 "300"], env=dict(e.env, **env))
        e.wait_peers(1)
        e.command("-bc")
        check(last_round_forked(e) == want,
              f"launch {how} {env}: forked should be {want}")
        e.command("-k")
        e.wait_peers(0, running=False)
        # Restarted as it was, then with the mode turned around.
        for rhow, rwant in (([], want), (["--forked-checkpoint"], True),
                            (["--no-forked-checkpoint"], False)):
            e.spawn([e.tool("dmtcp_restart"), *rhow, "--restartdir", ck])
            e.wait_peers(1)
            e.command("-bc")
            check(last_round_forked(e) == rwant,
                  f"launch {how} {env}, restart {rhow}: forked should be "
                  f"{rwant}")
            e.command("-k")
            e.wait_peers(0, running=False)
            for f in images(ck)[:-1]:
                os.unlink(f)


def test_stats(e):
    """Ours beyond upstream: --json status and list name the computation,
    its generation and each process with its last image; --stats gives the
    last round's steps per process, as text and as JSON."""
    e.coordinator()
    procs = [e.spawn([e.tool("dmtcp_launch"), "sleep", "300"])
             for _ in range(2)]
    e.wait_peers(2)
    r = e.run([e.tool("dmtcp_command"), "--stats"])
    check(r.returncode == 0 and "no round has ended yet" in r.stdout,
          f"--stats before any round: {r.returncode} {r.stdout}{r.stderr}")
    r = e.run([e.tool("dmtcp_command"), "-bc"])
    check(r.returncode == 0 and r.stderr == "",
          f"-bc (no terminal: no progress line): {r.stdout}{r.stderr!r}")
    pids = sorted(p.pid for p in procs)
    for cmd in ("-s", "-l"):
        j = json.loads(e.run([e.tool("dmtcp_command"), "--json",
                              cmd]).stdout)
        check(j["computation_id"] and j["generation"] == 1,
              f"--json {cmd}: {j}")
        got = sorted(p["pid"] for p in j["processes"])
        check(got == pids, f"--json {cmd}: pids {got}, expected {pids}")
        for p in j["processes"]:
            check(p["program"] == "sleep" and p["state"] == "RUNNING" and
                  p["last_image"].endswith("_gen1.dmtcp") and
                  p["last_image_bytes"] == os.path.getsize(p["last_image"]),
                  f"--json {cmd}: {p}")
    j = json.loads(e.run([e.tool("dmtcp_command"), "--json",
                          "--stats"]).stdout)["stats"]
    check(j["kind"] == "checkpoint" and j["generation"] == 1 and
          not j["failed"] and "write" in j["steps"], f"--stats: {j}")
    check(sorted(p["pid"] for p in j["processes"]) == pids,
          f"--stats processes: {j}")
    busy = [p["busy_ms"] for p in j["processes"]]
    check(busy == sorted(busy, reverse=True), f"not slowest first: {busy}")
    for p in j["processes"]:
        check(len(p["steps_ms"]) == len(j["steps"]) and
              sum(p["steps_ms"]) == p["busy_ms"] and
              p["busy_ms"] <= j["total_ms"] and
              p["image_bytes"] == os.path.getsize(p["image"]),
              f"--stats row: {p}")
    text = e.command("--stats")
    check(text.startswith("checkpoint of generation 1: ") and
          all(f"sleep[{pid}]@" in text for pid in pids),
          f"--stats text: {text}")


def on_terminal(argv, env, cwd, until, timeout=60):
    """Runs argv with stderr on a new pty (stdout to a pipe); returns
    (exit status or None, what the terminal received).  Reads until the
    process exits or until(received) is true."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave,
                         start_new_session=True)
    os.close(slave)
    got = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every writer has closed the terminal
                chunk = b""
            got += chunk
            if not chunk and p.poll() is not None:
                break
        elif p.poll() is not None:
            break
        if until(got.decode(errors="replace")):
            break
    os.close(master)
    return p, got.decode(errors="replace")


def test_progress(e):
    """On a terminal, a checkpoint or restart longer than a second shows a
    live line (redrawn with \\r, cleared at the end); --quiet shows none.  The
    slow_round test plugin makes both last 1.5 s."""
    e.coordinator()
    plugin = os.path.join(e.tests, "libslow_round.so")
    e.spawn([e.tool("dmtcp_launch"), "--with-plugin", plugin, "sleep", "300"])
    e.wait_peers(1)
    clear = "\r\x1b[K"
    p, got = on_terminal([e.tool("dmtcp_command"), "-bc"], e.env, e.work,
                         lambda g: False)
    check(p.wait() == 0, f"-bc exit {p.returncode}: {got!r}")
    check(re.search(r"\r\x1b\[Kcheckpoint 1: [01]/1 images, [0-9.]+ MB "
                    r"written, [0-9]+ MB/s, 1\.[0-9] s \([A-Z_]+\)", got)
          and got.endswith(clear),
          f"-bc on a terminal: no progress line, or not cleared: {got!r}")
    p, got = on_terminal([e.tool("dmtcp_command"), "--quiet", "-bc"], e.env,
                         e.work, lambda g: False)
    check(p.wait() == 0 and got == "", f"--quiet -bc: {p.returncode} {got!r}")
    p, got = on_terminal([e.tool("dmtcp_command"), "-kc"], e.env, e.work,
                         lambda g: False)
    check(p.wait() == 0 and "checkpoint 3: " in got, f"-kc: {got!r}")
    e.wait_peers(0, running=False)
    imgs = [i for i in images(e.work) if i.endswith("_gen3.dmtcp")]
    check(len(imgs) == 1, f"images of generation 3: {images(e.work)}")
    # dmtcp_restart becomes the program: read until the line is cleared.
    p, got = on_terminal([e.tool("dmtcp_restart"), *imgs], e.env, e.work,
                         lambda g: re.search(r"restart 3: .*\r\x1b\[K$", g,
                                             re.S) is not None)
    e.procs.append(p)
    check(re.search(r"\r\x1b\[Krestart 3: 0/1 processes back, 0\.0 of "
                    r"[0-9.]+ MB, 0 MB/s, 1\.[0-9] s \(RESTARTED\)", got)
          and got.endswith(clear),
          f"restart on a terminal: no progress line, or not cleared: {got!r}")
    e.wait_peers(1)
    check(p.poll() is None, "the restarted program is not running")


def test_logfile(e):
    """DMTCP_LOG_FILE (upstream's logging-quiet): the log goes to that file,
    which exists from the start even when nothing is logged (DMTCP_QUIET=2),
    and still takes lines after a restart."""
    e.coordinator()
    quiet = os.path.join(e.work, "quiet.log")
    env = dict(e.env, DMTCP_LOG_FILE=quiet, DMTCP_QUIET="2")
    e.spawn([e.tool("dmtcp_launch"), "sleep", "300"], env=env)
    e.wait_peers(1)
    e.command("-bc")
    check(os.path.exists(quiet), "DMTCP_LOG_FILE not created")
    text = open(quiet).read()
    check("warning" not in text and "info" not in text,
          f"DMTCP_QUIET=2 logged: {text!r}")
    e.command("-k")
    e.wait_peers(0, running=False)
    # A restarted process logs there too: its file plugin's line on a file
    # changed since the checkpoint.
    log = os.path.join(e.work, "restart.log")
    data = os.path.join(e.work, "data.txt")
    open(data, "w").close()
    ck2 = os.path.join(e.work, "ck2")
    env = dict(e.env, DMTCP_LOG_FILE=log, DMTCP_CHECKPOINT_DIR=ck2)
    code = f"import time; f = open({data!r}); time.sleep(300)"
    prog = e.spawn([e.tool("dmtcp_launch"), sys.executable, "-c", code],
                   env=env)
    e.wait_peers(1)
    # It joins the computation before Python runs the code: checkpointed
    # before open(), it would have no file to find changed.
    fds = f"/proc/{prog.pid}/fd"
    deadline = time.time() + 30
    while not any(os.path.realpath(os.path.join(fds, fd)) ==
                  os.path.realpath(data)
                  for fd in os.listdir(fds)):
        check(time.time() < deadline, f"{data} never opened")
        time.sleep(0.02)
    e.command("-bc")
    e.command("-k")
    e.wait_peers(0, running=False)
    with open(data, "a") as f:
        f.write("changed\n")
    imgs = images(ck2)
    check(len(imgs) == 1, f"images: {imgs}")
    p = e.spawn([e.tool("dmtcp_restart"), *imgs], env=env)
    e.wait_peers(1)
    # The line comes when the file plugin restores its files, which may be
    # after the process counts as a peer again.
    deadline = time.time() + 30
    while "changed since the checkpoint" not in (
            text := open(log).read() if os.path.exists(log) else ""):
        if time.time() > deadline or p.poll() is not None:
            e.command("-k")
            p.wait(timeout=30)
            raise Failure(f"the restarted process did not log to "
                          f"DMTCP_LOG_FILE: {text!r}; its stderr: "
                          f"{p.stderr.read()!r}")
        time.sleep(0.05)
    e.command("-k")
    p.wait(timeout=30)
    err = p.stderr.read()
    check("changed since" not in err, f"logged to stderr too: {err!r}")


def test_badpath(e):
    e.coordinator()
    r = e.run([e.tool("dmtcp_launch"), os.path.join(e.tests, "e2e_bad_path")])
    check(r.returncode == 0 and "PASS" in r.stdout,
          f"exit {r.returncode}: {r.stdout} {r.stderr}")


def test_kvdata(e):
    """--write-kv-data: at quit, the key-value database of the last restart
    (what the plugins published) in dmtcp_coordinator_db-*.json, valid
    JSON whatever bytes the plugins' keys and values hold."""
    e.coordinator("--write-kv-data")
    e.spawn([e.tool("dmtcp_launch"), "/bin/sleep", "300"])
    e.wait_peers(1)
    e.command("-bc")
    e.command("-k")
    e.wait_peers(0, running=False)
    e.spawn([e.tool("dmtcp_restart"), *images(e.work)])
    e.wait_peers(1)
    e.command("-k")
    e.wait_peers(0, running=False)
    e.run([e.tool("dmtcp_command"), "-q"])
    e.port = None
    deadline = time.time() + 10
    while not glob.glob(os.path.join(e.work, "dmtcp_coordinator_db-*.json")):
        check(time.time() < deadline, "no dmtcp_coordinator_db-*.json")
        time.sleep(0.05)
    path, = glob.glob(os.path.join(e.work, "dmtcp_coordinator_db-*.json"))
    check(os.stat(path).st_mode & 0o777 == 0o600,
          f"{path}: mode {os.stat(path).st_mode & 0o777:o}")
    with open(path, encoding="ascii") as f:  # non-ASCII bytes are escaped
        db = json.load(f)
    check(list(db) == ["kvdb"] and isinstance(db["kvdb"], dict),
          f"{path}: {str(db)[:200]}")
    kv = db["kvdb"]
    # The pid plugin publishes each restarted process's pid.
    check(any(k.startswith("pid:") for k in kv), f"no pid: key in {list(kv)}")
    check(all(ord(c) < 256 for k, v in kv.items() for c in k + v),
          "a key or value is not one code point per byte")
    print(f"  {len(kv)} keys in {os.path.basename(path)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--tests")
    ap.add_argument("case", choices=["table", "launch", "restart", "tmpdir",
                                     "nocheckpoint", "modifyenv", "badpath",
                                     "ownenv", "stats", "progress",
                                     "forked", "logfile", "kvdata"])
    a = ap.parse_args()
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    e = Env(a.bin)
    e.tests = a.tests
    try:
        globals()["test_" + a.case](e)
    except Failure as f:
        print(f"FAIL {a.case}: {f}")
        return 1
    finally:
        e.close()
    print(f"PASS {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
