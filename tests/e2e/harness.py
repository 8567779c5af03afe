#!/usr/bin/env python3
"""End-to-end driver: runs one self-checking program in one mode.

A test program sets up its state, prints READY, waits until the file named
by $DMTCP_TEST_GO exists, verifies its state and prints PASS.  Modes:

  native    the program alone (proves the test itself)
  launched  under dmtcp_launch, no checkpoint
  resume    checkpoint (blocking), then go: the same process continues
  restart   checkpoint, kill, dmtcp_restart, then go
  restart2  restart, checkpoint the restarted process, kill, restart again
            (the second time with the generated dmtcp_restart_script.sh)
  again     restart, kill, and restart the same image a second time
  moved     the images are moved to another directory before the restart,
            which runs the restart script with --restartdir

--in-terminal runs the program, and later dmtcp_restart, under script(1):
each in a terminal of its own.  --ckpt-kill: the restart modes checkpoint
and kill in one step (dmtcp_command -kc).  --pid-namespace runs the whole
test in a user and pid namespace of its own; there --restart-old-pid gives
the restarted root its old pid back (ns_last_pid).  --between-restarts
TEXT: in restart2 mode the program gets a turn between the two restarts
(the harness creates $DMTCP_TEST_GO1 after the first and waits for TEXT
before the second checkpoint); in the other modes GO1 never appears.
--down S: the computation stays down S seconds before each restart.

The harness is a child subreaper, so a process that escapes (a child of a
restarted program, a stray coordinator) is found and counted as a failure.
Every wait is bounded.
"""
import argparse
import ctypes
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
IPC_RMID = 0
STEP_TIMEOUT = float(os.environ.get("DMTCP_TEST_TIMEOUT", "120"))


class Failure(Exception):
    pass


def subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise Failure("prctl(PR_SET_CHILD_SUBREAPER) failed")


def private_ipc_namespace():
    """--remove-ipc: the test runs in an IPC namespace of its own, so every
    SysV object and POSIX message queue in it is the computation's, and
    removing them all (as a reboot would) touches no one else's.  Root
    needs only CLONE_NEWIPC; another user gets it inside a user namespace
    that maps its own uid and gid to themselves.  Called before any thread
    starts (a user namespace refuses multithreaded callers)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWIPC) == 0:
        return
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWIPC | CLONE_NEWUSER) != 0:
        raise Failure("unshare(CLONE_NEWIPC) failed: "
                      f"{os.strerror(ctypes.get_errno())}")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


def fresh_ipc_namespace():
    """After remove_ipc_objects: what runs next (the restart) runs in a new
    IPC namespace, where the kernel hands out ids from the start again, as
    after a reboot: the new ids are the old ones, given to other objects.
    We hold every capability in our namespace (root, or the user namespace
    private_ipc_namespace made).  Affects this thread only: it is the one
    that starts the restart."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWIPC) != 0:
        raise Failure("unshare(CLONE_NEWIPC) failed: "
                      f"{os.strerror(ctypes.get_errno())}")


def remove_ipc_objects(outputs):
    """Removes every SysV object of our private IPC namespace, and the
    POSIX message queues the program named on lines "MQNAME /name".
    Returns (kind, count) pairs for the log."""
    libc = ctypes.CDLL(None, use_errno=True)
    removed = []
    for kind, rm in (("shm", lambda i: libc.shmctl(i, IPC_RMID, None)),
                     ("sem", lambda i: libc.semctl(i, 0, IPC_RMID)),
                     ("msg", lambda i: libc.msgctl(i, IPC_RMID, None))):
        n = 0
        with open(f"/proc/sysvipc/{kind}") as f:
            for line in f.read().splitlines()[1:]:
                ident = int(line.split()[1])
                if rm(ident) != 0:
                    raise Failure(f"cannot remove {kind} {ident}: "
                                  f"{os.strerror(ctypes.get_errno())}")
                n += 1
        removed.append((kind, n))
    names = set()
    for _, path in outputs:
        with open(path, errors="replace") as f:
            for line in f.read().splitlines():
                if line.startswith("MQNAME /"):
                    names.add(line.split()[1])
    n = 0
    for name in sorted(names):
        if libc.mq_unlink(name.encode()) == 0:
            n += 1
    removed.append(("mq", n))
    return removed


IN_PID_NS = "DMTCP_HARNESS_IN_PID_NS"


def enter_pid_namespace(mode):
    """Runs this harness again as pid 1 of a new pid namespace, inside a
    user namespace (so no privilege is needed) with its own /proc.  We are
    root in there (only root of the namespace may write ns_last_pid), and
    what we create is our own outside.  --kill-child: if unshare is
    killed (a ctest timeout), so are we and with us the namespace.
    Returns only if the system refuses (then prints a SKIP line and exits
    0)."""
    unshare = ["unshare", "--user", "--map-root-user", "--pid", "--fork",
               "--kill-child", "--mount-proc"]
    probe = subprocess.run([*unshare, "true"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        print(f"[harness] SKIP {mode}: no user and pid namespace here: "
              f"{probe.stderr.strip()}", flush=True)
        sys.exit(0)
    env = dict(os.environ, **{IN_PID_NS: "1"})
    os.execvpe(unshare[0], [*unshare, sys.executable, *sys.argv], env)


def reap_all():
    """Reaps every exited child (ours or adopted); returns how many."""
    n = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return n
        if pid == 0:
            return n
        n += 1


def live_children():
    me = str(os.getpid())
    kids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            kids.append(int(pid))
    return kids


def read_proc(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().strip()
    except OSError:
        return "?"


def describe_processes():
    """Prints every process under the harness (a subreaper, so the whole
    computation) and each of its threads: state, kernel wait channel and
    the system call it sits in.  Called before a hung program is killed,
    so a hang in CI leaves a trace of who waited on what."""
    parents = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            stat = read_proc(f"/proc/{pid}/stat")
            if ")" in stat:
                parents[int(pid)] = int(stat.rsplit(")", 1)[1].split()[1])
    ours = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in ours and pid not in ours:
                ours.add(pid)
                changed = True
    ours.discard(os.getpid())
    print("----- processes at the timeout (pid ppid; tid state wchan "
          "syscall) -----")
    for pid in sorted(ours):
        cmd = read_proc(f"/proc/{pid}/cmdline").replace("\0", " ")
        print(f"{pid} {parents.get(pid)} {cmd[:120]}")
        try:
            tids = sorted(os.listdir(f"/proc/{pid}/task"), key=int)
        except OSError:
            continue
        for tid in tids:
            t = f"/proc/{pid}/task/{tid}"
            stat = read_proc(f"{t}/stat")
            state = stat.rsplit(")", 1)[1].split()[0] if ")" in stat else "?"
            comm = read_proc(f"{t}/comm")
            wchan = read_proc(f"{t}/wchan")
            sysc = read_proc(f"{t}/syscall").split(" ")[:3]
            where = ""
            if sysc[0] == "202" and len(sysc) > 1:  # futex: whose word?
                where = " " + mapping_of(pid, sysc[1])
            print(f"    {tid} {comm} {state} {wchan} {' '.join(sysc)}{where}")
    sys.stdout.flush()
    # With gdb at hand, every thread's user stack too (same uid: allowed
    # where there is no Yama, as on these machines).
    gdb = shutil.which("gdb")
    for pid in sorted(ours) if gdb else []:
        try:
            r = subprocess.run([gdb, "-p", str(pid), "-batch", "-nx",
                                "-ex", "thread apply all bt 25"],
                               capture_output=True, text=True, timeout=30)
        except (subprocess.TimeoutExpired, OSError):
            continue
        print(f"----- gdb: {pid} -----")
        print("\n".join(l for l in r.stdout.splitlines()
                        if l.startswith(("#", "Thread"))))
    sys.stdout.flush()


def mapping_of(pid, addr):
    """The /proc/pid/maps line holding address addr (hex text)."""
    try:
        a = int(addr, 16)
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                if lo <= a < hi:
                    parts = line.split()
                    name = parts[5] if len(parts) > 5 else "[anon]"
                    return f"in {name} +{a - lo:#x}"
    except (OSError, ValueError):
        pass
    return ""


class LoggedPopen(subprocess.Popen):
    """A program whose stdout and stderr go to a pipe that a thread copies
    into a file.  The pipe's reader is outside the computation, as a
    terminal would be, so a restarted program writes to dmtcp_restart's
    output (a file would be reopened and appended to, as it should be).
    wait() and poll() report an exit only once the copy is complete."""

    def __init__(self, argv, path, **kw):
        super().__init__(argv, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, **kw)
        out = open(path, "wb")  # exists before anyone reads it
        self._copier = threading.Thread(target=self._copy, args=(out,),
                                        daemon=True)
        self._copier.start()

    def _copy(self, out):
        with out:
            fd = self.stdout.fileno()
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return
                out.write(chunk)
                out.flush()

    def _settle(self):
        # A process that escaped (and holds the pipe) must not hang us.
        self._copier.join(timeout=5)

    def wait(self, timeout=None):
        rc = super().wait(timeout)
        self._settle()
        return rc

    def poll(self):
        rc = super().poll()
        if rc is not None:
            self._settle()
        return rc


def launch_ready(argv, out, env, timeout=30, **kw):
    """Starts argv (a dmtcp_launch command line) with its output logged to
    out and returns it once the program printed READY; fails naming the
    output if it exits first or never gets there."""
    proc = LoggedPopen(argv, out, env=env, **kw)
    deadline = time.time() + timeout
    while True:
        with open(out, errors="replace") as f:
            if "READY" in f.read():
                return proc
        if proc.poll() is not None:
            raise Failure("program exited before READY: " + open(out).read())
        if time.time() > deadline:
            raise Failure("program never got READY")
        time.sleep(0.02)


class Computation:
    """A private coordinator and a work directory for one computation:
    what the e2e harness and the plugin driver (tests/plugin) share."""

    def __init__(self, bin_dir, work):
        # DMTCP_TEST_BIN runs the same tests against other tools: the
        # sanitized ones of scripts/sanitize.sh (docs/sanitizers.md).
        self.bin = os.path.abspath(os.environ.get("DMTCP_TEST_BIN", bin_dir))
        self.work = work
        self.go = os.path.join(self.work, "go")
        self.env = dict(os.environ)
        self.env["DMTCP_TEST_GO"] = self.go
        self.env["DMTCP_TEST_GO1"] = self.go + "1"
        self.env["DMTCP_CHECKPOINT_DIR"] = self.work
        self.port = None
        self.outputs = []  # (label, path) of every output file
        self.coord_logs = []  # every coordinator's log, shown on failure

    def dump_outputs(self, lines, title=""):
        """Prints the last lines of every output file (after a failure)."""
        for label, path in self.outputs:
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            print(f"----- {label} {title}(last {lines} lines) -----")
            print("\n".join(text.splitlines()[-lines:]))
        for path in self.coord_logs:
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            print(f"----- {os.path.basename(path)} (last {lines} lines) -----")
            print("\n".join(text.splitlines()[-lines:]))

    def tool(self, name):
        return os.path.join(self.bin, name)

    def start_coordinator(self, *extra):
        port_file = os.path.join(self.work, "port")
        # Its whole log (-q is about the terminal), for a failure's dump.
        log = os.path.join(self.work,
                           f"coordinator{len(self.coord_logs) + 1}.log")
        self.coord_logs.append(log)
        subprocess.run(
            [self.tool("dmtcp_coordinator"), "--daemon", "-q", "-p", "0",
             "--port-file", port_file, "--coord-logfile", log, *extra],
            env=self.env, check=True, timeout=30)
        with open(port_file) as f:
            self.port = int(f.read().strip())
        self.env["DMTCP_COORD_PORT"] = str(self.port)
        self.env["DMTCP_COORD_HOST"] = "127.0.0.1"

    def command(self, *cmd, check=True):
        try:
            r = subprocess.run([self.tool("dmtcp_command"), *cmd],
                               env=self.env, capture_output=True, text=True,
                               timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            describe_processes()  # a stuck round: who waits on what
            raise
        if check and r.returncode != 0:
            raise Failure(f"dmtcp_command {' '.join(cmd)} failed "
                          f"({r.returncode}): {r.stdout}{r.stderr}")
        return r

    def launch_ready(self, argv, label="launched", timeout=30):
        """dmtcp_launch argv in this computation, once it printed READY;
        its output is shown on failure."""
        out = os.path.join(self.work, label + ".out")
        self.outputs.append((label, out))
        return launch_ready([self.tool("dmtcp_launch"), *argv], out,
                            self.env, timeout)

    def wait_running(self, procs, outs, peers, what="the restart"):
        """Waits until the coordinator says RUNNING with exactly `peers`
        processes; fails with the outputs if one of procs exits first."""
        deadline = time.time() + STEP_TIMEOUT
        while True:
            st = self.command("--status").stdout
            if "RUNNING=yes" in st and f"NUM_PEERS={peers}" in st:
                return
            if time.time() > deadline or any(p.poll() is not None
                                             for p in procs):
                raise Failure(f"{what} did not come up: " + " | ".join(
                    open(o, errors="replace").read() for o in outs))
            time.sleep(0.05)

    def images(self):
        return sorted(os.path.join(self.work, f) for f in os.listdir(self.work)
                      if f.startswith("ckpt_") and f.endswith(".dmtcp"))


class Run(Computation):
    def __init__(self, args):
        super().__init__(args.bin, tempfile.mkdtemp(prefix="dmtcp-e2e-",
                                                    dir=args.workdir))
        self.args = args
        self.proc = None
        self.env["DMTCP_TEST_MODE"] = args.mode
        if args.down > 0:
            # The program may check what the down time did (timers).
            self.env["DMTCP_TEST_DOWN"] = str(args.down)
        if args.pid_namespace:
            # We are root in our user namespace: /tmp/dmtcp-0 may be the
            # real root's, which we must not (and cannot) use.
            tmp = os.path.join(self.work, "tmp")
            os.mkdir(tmp, 0o700)
            self.env["DMTCP_TMPDIR"] = tmp
        self.ckpts = {}  # output label -> checkpoints taken while it ran

    # -- helpers -------------------------------------------------------
    def log(self, msg):
        print(f"[harness] {msg}", flush=True)

    def spawn(self, argv, label):
        if self.args.in_terminal:
            # A terminal of its own, as a user at a shell prompt would have.
            argv = ["script", "-qefc", shlex.join(argv), "/dev/null"]
        path = os.path.join(self.work, f"{label}.out")
        self.outputs.append((label, path))
        self.proc = LoggedPopen(argv, path, env=self.env)
        self.current_out = path
        self.current_label = label
        return self.proc

    def output(self):
        with open(self.current_out, errors="replace") as f:
            return f.read()

    def wait_for_text(self, text, count=1):
        deadline = time.time() + STEP_TIMEOUT
        while time.time() < deadline:
            if self.output().count(text) >= count:
                return
            if self.proc.poll() is not None:
                raise Failure(f"program exited ({self.proc.returncode}) "
                              f"before printing {text!r}")
            time.sleep(0.02)
        describe_processes()
        raise Failure(f"timed out waiting for {text!r}")

    def finish(self):
        with open(self.go, "w"):
            pass
        try:
            rc = self.proc.wait(timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            describe_processes()
            self.proc.kill()
            raise Failure("program did not finish after go")
        out = self.output()
        if rc != self.args.expect_status:
            raise Failure(f"exit status {rc}, expected {self.args.expect_status}")
        if "PASS" not in out.splitlines():
            raise Failure("program did not print PASS")
        if "FAIL" in out:
            raise Failure("program reported FAIL")

    def checkpoint(self, then_kill=False):
        """A blocking checkpoint; then_kill: the coordinator kills every
        process as the round ends (dmtcp_command -kc), so the program runs
        no further than its checkpoint, as after a crash right then."""
        r = self.command("--kcheckpoint" if then_kill else "--bcheckpoint")
        self.log(r.stdout.strip())
        if self.args.max_images_mib is not None:
            # Older generations' images are gone once this one commits.
            total = sum(os.path.getsize(i) for i in self.images())
            self.log(f"images: {total} bytes")
            if total > self.args.max_images_mib << 20:
                raise Failure(f"the images hold {total} bytes, more than "
                              f"{self.args.max_images_mib} MiB")
        self.ckpts[self.current_label] = \
            self.ckpts.get(self.current_label, 0) + 1

    def check_ckpt_warnings(self):
        """--forbid-output: no line of any output matches.
        --ckpt-warning: exactly one matching line in each output per
        checkpoint taken while it ran (none without a checkpoint).
        --first-ckpt-warning: the same for the launched program's output
        only (what a restart loses, e.g. a POSIX timer, is not seen by a
        later checkpoint)."""
        for regex in self.args.forbid_output:
            pattern = re.compile(regex)
            for label, path in self.outputs:
                with open(path, errors="replace") as f:
                    for line in f.read().splitlines():
                        if pattern.search(line):
                            raise Failure(f"{label}: forbidden line "
                                          f"{line!r}")
        checks = [(self.args.ckpt_warning, None),
                  (self.args.first_ckpt_warning, "launched")]
        for regex, only in checks:
            if not regex:
                continue
            pattern = re.compile(regex)
            for label, path in self.outputs:
                if only is not None and label != only:
                    continue
                with open(path, errors="replace") as f:
                    lines = f.read().splitlines()
                got = sum(1 for line in lines if pattern.search(line))
                want = self.ckpts.get(label, 0)
                if got != want:
                    raise Failure(f"{label}: {got} line(s) match "
                                  f"{regex!r}, expected {want}")

    def kill_program(self, killed=False):
        # The computation ends as after a crash: every process gets
        # SIGKILL (the coordinator's kill), none is warned.  killed: -kc
        # did it already.
        if not killed:
            self.command("--kill")
        self.proc.wait(timeout=STEP_TIMEOUT)
        self.wait_until_running(0)
        reap_all()
        if self.args.remove_ipc:
            removed = remove_ipc_objects(self.outputs)
            fresh_ipc_namespace()
            self.log("removed the computation's IPC objects: " +
                     ", ".join(f"{kind} {n}" for kind, n in removed) +
                     "; the restart runs in a new IPC namespace")

    def restart(self, label, use_script=False, ckptdir=None):
        imgs = self.images()
        if not imgs:
            raise Failure("no checkpoint image was written")
        if self.args.down > 0:
            self.log(f"down for {self.args.down} s before the restart")
            time.sleep(self.args.down)
        if use_script:
            script = os.path.join(self.work, "dmtcp_restart_script.sh")
            self.log(f"restarting {len(imgs)} image(s) with {script}")
            # The script execs dmtcp_restart: same pid.
            self.spawn_restart(["/bin/bash", script], label)
        elif ckptdir is not None:
            # The program learns the --ckptdir it should see from
            # dmtcp_restart's environment (dmtcp_get_restart_env).
            self.log(f"restarting {len(imgs)} image(s), --ckptdir {ckptdir}")
            saved = self.env
            self.env = dict(saved, DMTCP_TEST_CKPTDIR=ckptdir)
            self.spawn([self.tool("dmtcp_restart"), "--ckptdir", ckptdir,
                        *imgs], label)
            self.env = saved
        else:
            self.log(f"restarting {len(imgs)} image(s)")
            self.spawn_restart([self.tool("dmtcp_restart"), *imgs], label)
        self.wait_until_running(len(imgs))

    def spawn_restart(self, argv, label):
        """--restart-old-pid: the restored root (dmtcp_restart itself)
        gets the number the launched root had, so its real pid equals its
        virtual one.  ns_last_pid is written in our own pid namespace
        (--pid-namespace), where nothing else takes a number meanwhile."""
        if not self.args.restart_old_pid:
            self.spawn(argv, label)
            return
        old = self.root_pid
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(old - 1))
        self.spawn(argv, label)
        if self.proc.pid != old:
            raise Failure(f"dmtcp_restart got pid {self.proc.pid}, "
                          f"not the old {old}")
        self.log(f"dmtcp_restart has the root's old pid {old}")

    def restart_moved(self):
        """Moves the images away and restarts through the script's
        --restartdir (images copied to another machine or directory)."""
        imgs = self.images()
        if not imgs:
            raise Failure("no checkpoint image was written")
        moved = os.path.join(self.work, "moved")
        os.mkdir(moved)
        for img in imgs:
            os.rename(img, os.path.join(moved, os.path.basename(img)))
        script = os.path.join(self.work, "dmtcp_restart_script.sh")
        # One process per image of the newest generation; older ones are
        # moved too (an incremental image needs its predecessors).
        gens = [int(m.group(1)) for m in
                (re.search(r"_gen(\d+)\.dmtcp$", i) for i in imgs) if m]
        procs = gens.count(max(gens)) if gens else len(imgs)
        self.log(f"restarting {procs} moved image(s) with --restartdir")
        self.spawn(["/bin/bash", script, "--restartdir", moved], "moved")
        self.wait_until_running(procs)

    def remove_before_restart(self):
        """--remove-before-restart: paths of the run's directory removed
        just before the last restart, as if the restart host lacked them
        (the restarts before it still find them)."""
        for name in self.args.remove_before_restart:
            path = os.path.join(self.work, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)
            self.log(f"removed {name} before the restart")

    def wait_until_running(self, processes):
        """Waits until the coordinator has no round running and `processes`
        processes: exactly 0 after a kill; after a restart, at least that
        many (a restored program may go on forking) or a finished restart
        round (some may have exited since)."""
        deadline = time.time() + STEP_TIMEOUT
        while time.time() < deadline:
            r = self.command("--status", check=False)
            m = re.search(r"NUM_PEERS=(\d+)", r.stdout)
            have = int(m.group(1)) if m else -1
            # After a restart: every image came back once the restart
            # round is over (a computation, and no round); a restored
            # process may have exited before we looked (a cc1 that was
            # about to end), so fewer may be left.
            restarted = (have > 0 and "Status: RUNNING" in r.stdout and
                         "Computation: (none)" not in r.stdout)
            enough = (have == 0 if processes == 0
                      else have >= processes or restarted)
            # RUNNING=yes needs processes (upstream's meaning); with none,
            # our Status line says no round is running.
            idle = "RUNNING=yes" in r.stdout or (
                processes == 0 and "Status: RUNNING" in r.stdout)
            if enough and idle:
                return
            if processes and self.proc.poll() is not None:
                raise Failure(f"dmtcp_restart exited ({self.proc.returncode})")
            time.sleep(0.05)
        raise Failure("restart did not finish in time")

    # -- modes ---------------------------------------------------------
    def launched_argv(self):
        return [self.tool("dmtcp_launch"), *self.args.launch_opt,
                *self.args.program]

    def run(self):
        mode = self.args.mode
        if mode == "native":
            self.spawn(self.args.program, "native")
            self.wait_for_text("READY")
            self.finish()
            self.check_ckpt_warnings()
            return
        self.start_coordinator()
        self.spawn(self.launched_argv(), "launched")
        self.root_pid = self.proc.pid
        self.wait_for_text("READY")
        if mode == "launched":
            self.finish()
            self.check_ckpt_warnings()
            return
        ckpt_kill = self.args.ckpt_kill and mode != "resume"
        if not self.args.self_ckpt:
            self.checkpoint(then_kill=ckpt_kill)
        if mode == "resume":
            self.finish()
            self.check_ckpt_warnings()
            return
        self.kill_program(killed=ckpt_kill and not self.args.self_ckpt)
        if mode == "moved":
            self.remove_before_restart()
            self.restart_moved()
            time.sleep(self.args.settle)
            self.finish()
            return
        ckptdir = None
        if self.args.new_coordinator:
            # Restart somewhere else: the old coordinator is gone and the
            # new one listens on another port, keeps its key in another
            # DMTCP_TMPDIR and is named by another spelling of the host;
            # --ckptdir names the same directory another way.
            old_port = self.port
            self.command("--quit")
            tmp2 = os.path.join(self.work, "tmp2")
            os.mkdir(tmp2, 0o700)
            self.env["DMTCP_TMPDIR"] = tmp2
            self.start_coordinator()
            self.env["DMTCP_COORD_HOST"] = "localhost"
            ckptdir = os.path.join(self.work, "..",
                                   os.path.basename(self.work))
            self.log(f"restarting with a new coordinator: port {old_port} "
                     f"-> {self.port}, DMTCP_TMPDIR={tmp2}, host localhost")
        if mode not in ("again", "restart2"):
            self.remove_before_restart()
        self.restart("restart1", ckptdir=ckptdir)
        if mode == "again":
            time.sleep(self.args.settle)
            self.kill_program()
            self.remove_before_restart()
            self.restart("again")
        if mode == "restart2":
            time.sleep(self.args.settle)
            if self.args.between_restarts is not None:
                with open(self.go + "1", "w"):
                    pass
                self.wait_for_text(self.args.between_restarts)
            self.checkpoint(then_kill=ckpt_kill)
            self.kill_program(killed=ckpt_kill)
            self.remove_before_restart()
            # The second time through the script the coordinator wrote.
            self.restart("restart2", use_script=True)
        time.sleep(self.args.settle)
        for text in self.args.expect_after_restart:
            self.wait_for_text(text)
        self.finish()
        self.check_ckpt_warnings()

    def cleanup(self):
        if self.port is not None:
            self.command("--quit", check=False)
        deadline = time.time() + 10
        while time.time() < deadline:
            reap_all()
            if not live_children():
                return True
            time.sleep(0.05)
        leftovers = live_children()
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        reap_all()
        return not leftovers


def argument_parser():
    """The harness's options (also parsed by tests/soak/soak.py, which
    runs the same tests through many cycles)."""
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--mode", required=True,
                   choices=["native", "launched", "resume", "restart",
                            "restart2", "again", "moved"])
    p.add_argument("--workdir", default=None)
    p.add_argument("--launch-opt", action="append", default=[])
    p.add_argument("--expect-status", type=int, default=0)
    p.add_argument("--settle", type=float, default=0.2,
                   help="seconds the program runs after a restart before go")
    p.add_argument("--down", type=float, default=0,
                   help="seconds between the kill and each restart (the "
                        "program sees them as $DMTCP_TEST_DOWN)")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--in-terminal", action="store_true",
                   help="run the program and dmtcp_restart under script(1)")
    p.add_argument("--self-ckpt", action="store_true",
                   help="the program checkpoints itself before READY")
    p.add_argument("--new-coordinator", action="store_true",
                   help="restart with a new coordinator on another port")
    p.add_argument("--expect-after-restart", action="append", default=[],
                   help="text the restarted program must print")
    p.add_argument("--ckpt-warning", default=None,
                   help="a regex: each checkpoint prints exactly one "
                        "matching line (in the checkpointed process's "
                        "output), and nothing else does")
    p.add_argument("--first-ckpt-warning", default=None,
                   help="the same, for the first checkpoint only")
    p.add_argument("--forbid-output", action="append", default=[],
                   help="a regex no output line may match")
    p.add_argument("--remove-ipc", action="store_true",
                   help="run in a private IPC namespace and remove every "
                        "SysV object and named POSIX message queue in it "
                        "after each kill, as a reboot would; the restart "
                        "then runs in a new IPC namespace, where the "
                        "kernel's ids start over")
    p.add_argument("--max-images-mib", type=int, default=None,
                   help="after each checkpoint the images together may "
                        "hold at most this many MiB")
    p.add_argument("--between-restarts", default=None, metavar="TEXT",
                   help="restart2: after the first restart create "
                        "$DMTCP_TEST_GO1, wait for TEXT, then checkpoint")
    p.add_argument("--ckpt-kill", action="store_true",
                   help="restart modes: checkpoint and kill in one step "
                        "(dmtcp_command -kc), so the program does not run "
                        "on between its checkpoint and the kill")
    p.add_argument("--pid-namespace", action="store_true",
                   help="run in a user and pid namespace of our own "
                        "(unshare -Urpf --mount-proc); a SKIP line when "
                        "the system refuses one")
    p.add_argument("--restart-old-pid", action="store_true",
                   help="the restarted root gets its old pid back "
                        "(ns_last_pid; needs --pid-namespace)")
    p.add_argument("--remove-before-restart", action="append", default=[],
                   help="a path under the run's directory removed just "
                        "before the last restart (the restart host lacks "
                        "it)")
    p.add_argument("program", nargs=argparse.REMAINDER)
    return p


def main():
    p = argument_parser()
    args = p.parse_args()
    if args.program and args.program[0] == "--":
        args.program = args.program[1:]
    if not args.program:
        p.error("no program")
    if args.restart_old_pid and not args.pid_namespace:
        p.error("--restart-old-pid needs --pid-namespace")
    if args.pid_namespace and os.environ.get(IN_PID_NS) is None:
        enter_pid_namespace(args.mode)
    subreaper()
    if args.remove_ipc:
        try:
            private_ipc_namespace()
        except (Failure, OSError) as e:
            print(f"[harness] FAILED ({args.mode}): {e}", flush=True)
            sys.exit(1)
    run = Run(args)
    ok = False
    try:
        run.run()
        ok = True
    except (Failure, subprocess.SubprocessError, OSError) as e:
        print(f"[harness] FAILED ({args.mode}): {e}", flush=True)
    clean = run.cleanup()
    if not clean:
        print("[harness] FAILED: processes left behind", flush=True)
        ok = False
    if not ok:
        run.dump_outputs(40, "output ")
    elif not args.keep:
        subprocess.run(["rm", "-rf", run.work])
    print(f"[harness] {'PASS' if ok else 'FAIL'} {args.mode} "
          f"{os.path.basename(args.program[0])}", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
