#!/usr/bin/env python3
"""One computation on two simulated hosts, restarted with the hosts swapped.

Usage: dist_test.py BIN_DIR WORK_DIR SEQ_STREAM [swap|move|merge]

Three hosts are network namespaces joined by a bridge (in a fourth,
"switch" namespace), 10.199.15.1, .2 and .3, each with its own UTS
namespace and host name (dmtcp-host-a, -b, -c), so the images record
different hosts.
Processes are started on a host with nsenter; the restart script reaches
a host through netns_ssh.sh, the test's "ssh" (DMTCP_REMOTE_SHELL).

1. On host A a coordinator opened to the network (--bind 10.199.15.1); a
   process on host B that lacks the computation's key is refused with one
   line; with the shared key directory (DMTCP_TMPDIR) it joins.
2. seq_stream server on B, seq_stream client on A connected to it: checked
   sequence numbers both ways, always some in flight; a child of the
   client shares the connection and sends the stop mark at the end.
3. Checkpoint; the restart script names both hosts; kill everything, the
   coordinator too.
4. The restart script, run on host A, starts a coordinator there and
   restarts each host's images where the host map says, through the
   remote shell for hosts other than A:
     swap   --hostfile "A=B B=A": client on B, server on A (the connection
            between hosts is made over the network again);
     move   DMTCP_RESTART_HOSTS="C A" (positional): client on C, server
            on A (a host the checkpoint never saw);
     merge  DMTCP_RESTART_HOSTS="A=B": both on B, none on A where the
            script runs (the connection is made within one host).
   The coordinator must list them there.
5. The go file: the stream goes on; both check every number (loss,
   duplication, reordering fail) and say where they ran: PASS only if each
   ended on its expected host.

Needs root for ip netns: without it (or without iproute2) it prints one
SKIP line and exits 77.  Prints "PASS distributed swap" on success."""
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import Failure, LoggedPopen, reap_all, subreaper  # noqa: E402

NET = "10.199.15"
PORT = 7015  # the server's; inside the hosts' own namespaces
HOSTS = {"a": ("dmtcp-host-a", f"{NET}.1"), "b": ("dmtcp-host-b", f"{NET}.2"),
         "c": ("dmtcp-host-c", f"{NET}.3")}
# mode: (host map as a hostfile's text or DMTCP_RESTART_HOSTS, where the
# client and the server end up)
MODES = {
    "swap": ("hostfile", "# swap the hosts\ndmtcp-host-a=dmtcp-host-b\n"
             "dmtcp-host-b=dmtcp-host-a\n", "dmtcp-host-b", "dmtcp-host-a"),
    "move": ("env", "dmtcp-host-c dmtcp-host-a", "dmtcp-host-c",
             "dmtcp-host-a"),
    "merge": ("env", "dmtcp-host-a=dmtcp-host-b", "dmtcp-host-b",
              "dmtcp-host-b"),
}


def run(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)
    if check and r.returncode != 0:
        raise Failure(f"{' '.join(argv)}: exit {r.returncode}: "
                      f"{r.stdout}{r.stderr}")
    return r


class Hosts:
    """The simulated hosts: namespaces made here, removed by close().
    hosts maps a key to (host name, address) (HOSTS by default); prefix
    starts the namespaces' names (bench/dist_scale_bench.py passes its own
    hosts and prefix, so that it may run beside these tests)."""

    def __init__(self, work, hosts=None, prefix="dd"):
        self.map = HOSTS if hosts is None else hosts
        tag = f"{prefix}{os.getpid()}"
        self.switch = f"{tag}-sw"
        self.ns = {h: f"{tag}-{h}" for h in self.map}
        self.dir = os.path.join(work, "hosts")  # DMTCP_TEST_HOSTS
        self.uts_dir = f"/run/{tag}"
        self.made = []
        os.makedirs(self.dir)
        os.makedirs(self.uts_dir)
        run(["ip", "netns", "add", self.switch])
        self.made.append(("netns", self.switch))
        sw = ["ip", "-n", self.switch]
        run([*sw, "link", "add", "br0", "type", "bridge"])
        run([*sw, "link", "set", "br0", "up"])
        for h, (name, addr) in self.map.items():
            ns = self.ns[h]
            run(["ip", "netns", "add", ns])
            self.made.append(("netns", ns))
            run([*sw, "link", "add", f"v{h}", "type", "veth", "peer", "name",
                 "eth0", "netns", ns])
            run([*sw, "link", "set", f"v{h}", "master", "br0", "up"])
            run(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            uts = os.path.join(self.uts_dir, f"uts-{h}")
            open(uts, "w").close()
            run(["unshare", f"--uts={uts}", "hostname", name])
            self.made.append(("uts", uts))
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(f"{ns} {uts}\n")

    def on(self, h, argv):
        uts = os.path.join(self.uts_dir, f"uts-{h}")
        return ["nsenter", f"--net=/run/netns/{self.ns[h]}", f"--uts={uts}",
                *argv]

    def close(self):
        for kind, what in reversed(self.made):
            if kind == "uts":
                subprocess.run(["umount", what], capture_output=True)
                os.unlink(what)
            else:
                subprocess.run(["ip", "netns", "del", what],
                               capture_output=True)
        shutil.rmtree(self.uts_dir, ignore_errors=True)


def descendants():
    """Every process below us (the restart script's, under nsenter, too)."""
    parent = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    parent[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [], [os.getpid()]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        todo += kids
    return found


def wait_for(pred, what, timeout=60):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise Failure(f"timed out waiting for {what}")
        time.sleep(0.05)


def text(path):
    with open(path, errors="replace") as f:
        return f.read()


def start_coordinator(hosts, tool, work, ckpt, env):
    """The coordinator on A, open to the network (--bind); env gets its
    address."""
    port_file = os.path.join(work, "port")
    addr = hosts.map["a"][1]
    run(hosts.on("a", [tool("dmtcp_coordinator"), "--daemon", "-q",
                       "--bind", addr, "-p", "0", "--port-file",
                       port_file, "--ckptdir", ckpt]), env=env)
    env.update(DMTCP_COORD_HOST=addr,
               DMTCP_COORD_PORT=text(port_file).strip())


def kill_computation(command, procs):
    """dmtcp_command -k, the launched processes waited for, the
    coordinator stopped.  command(*args, check=True) runs dmtcp_command."""
    command("-k")
    for p in procs:
        p.wait(timeout=60)
    command("-q")
    wait_for(lambda: command("-s", check=False).returncode != 0,
             "the coordinator to go")
    reap_all()


def wait_restarted(restart, command, count):
    """Until the coordinator lists count running processes (the restart
    script must not exit meanwhile); returns the listing."""
    def restarted():
        if restart.poll() is not None:
            raise Failure(f"the restart script exited {restart.poll()}")
        r = command("-l", check=False)
        return r.returncode == 0 and r.stdout.count("RUNNING") == count
    wait_for(restarted, f"{count} processes to restart", timeout=120)
    listing = command("-l").stdout
    print("after restart:\n" + listing.strip(), flush=True)
    return listing


def report_failure(e, outputs):
    """The failure and the last lines of every output file."""
    print(f"FAIL: {e}", flush=True)
    for path in outputs:
        try:
            print(f"----- {os.path.basename(path)} -----\n" +
                  "\n".join(text(path).splitlines()[-40:]))
        except OSError:
            pass


def clean_up(hosts, work, ok):
    """Kills every process below us, removes the hosts, and the work
    directory if the test passed (kept for a look otherwise)."""
    for pid in descendants():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.2)
    reap_all()
    if hosts is not None:
        hosts.close()
    if ok:
        shutil.rmtree(work, ignore_errors=True)


class Case:
    """One test run: its work directory, its hosts once made (removed at
    the end) and the output files whose tails a failure shows."""

    def __init__(self, work):
        self.work, self.hosts, self.outputs = work, None, []


def need_hosts(sshd=None):
    """One SKIP line and exit 77 without root and ip netns, or without
    sshd (and ssh) when its path is given."""
    if os.geteuid() != 0 or shutil.which("ip") is None or \
            subprocess.run(["ip", "netns", "list"],
                           capture_output=True).returncode != 0:
        print("SKIP: simulated hosts need root and iproute2 (ip netns)")
        sys.exit(77)
    if sshd is not None and (not os.access(sshd, os.X_OK) or
                             shutil.which("ssh") is None):
        print("SKIP: no sshd (install openssh-server: scripts/setup.sh)")
        sys.exit(77)


@contextlib.contextmanager
def run_case(workdir, prefix, name):
    """A test's body: yields a Case in a new work directory under workdir.
    A Failure (a timeout, an OSError) in the body is reported with the
    outputs' last lines and exits 1; either way every process below us is
    killed and the hosts removed; "PASS distributed NAME" on success."""
    subreaper()
    os.makedirs(workdir, exist_ok=True)
    case = Case(tempfile.mkdtemp(prefix=prefix, dir=workdir))
    ok = False
    try:
        yield case
        ok = True
    except (Failure, subprocess.TimeoutExpired, OSError) as e:
        report_failure(e, case.outputs)
    finally:
        clean_up(case.hosts, case.work, ok)
    if not ok:
        sys.exit(1)
    print(f"PASS distributed {name}")


def main():
    bin_dir, workdir, seq = (os.path.abspath(a) for a in sys.argv[1:4])
    mode = sys.argv[4] if len(sys.argv) > 4 else "swap"
    how, host_map, client_host, server_host = MODES[mode]
    need_hosts()
    with run_case(workdir, "dmtcp-dist-", mode) as case:
        work = case.work
        outputs = case.outputs
        hosts = case.hosts = Hosts(work)
        keys = os.path.join(work, "keys")  # the shared key directory
        ckpt = os.path.join(work, "ckpt")
        os.makedirs(keys)
        os.makedirs(ckpt)
        # TMPDIR too: the coordinator's copy of its key for other tools
        # goes to $TMPDIR/dmtcp-<uid>, which every simulated host would see
        # in /tmp.
        env = dict(os.environ, DMTCP_TMPDIR=keys, TMPDIR=keys,
                   DMTCP_TEST_GO=os.path.join(work, "go"),
                   DMTCP_TEST_HOSTS=hosts.dir,
                   DMTCP_REMOTE_SHELL=os.path.join(HERE, "netns_ssh.sh"))
        for k in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT",
                  "DMTCP_CHECKPOINT_DIR", "DMTCP_RESTART_HOSTS"):
            env.pop(k, None)
        tool = lambda name: os.path.join(bin_dir, name)  # noqa: E731

        # 1. The coordinator on A, open to the network.
        start_coordinator(hosts, tool, work, ckpt, env)

        def command(h, *args, check=True):
            return run(hosts.on(h, [tool("dmtcp_command"), *args]), env=env,
                       check=check)

        # Without the key the other host is refused, in one line.
        other = os.path.join(work, "otherkeys")
        os.makedirs(other)
        r = run(hosts.on("b", [tool("dmtcp_launch"), "true"]),
                env=dict(env, DMTCP_TMPDIR=other, TMPDIR=other), check=False)
        if r.returncode == 0 or "key" not in r.stderr or \
                len(r.stderr.strip().splitlines()) != 1:
            raise Failure("a process without the key was not refused in one "
                          f"line: exit {r.returncode}: {r.stderr}")
        print("without the key:", r.stderr.strip(), flush=True)

        # 2. Server on B, client on A.
        out_b = os.path.join(work, "server.out")
        out_a = os.path.join(work, "client.out")
        outputs += [out_b, out_a]
        server = LoggedPopen(hosts.on("b", [tool("dmtcp_launch"), seq,
                                            "server", str(PORT)]),
                             out_b, env=env)
        wait_for(lambda: "LISTENING" in text(out_b) or
                 server.poll() is not None, "the server")
        client = LoggedPopen(hosts.on("a", [tool("dmtcp_launch"), seq,
                                            "client", HOSTS["b"][1],
                                            str(PORT)]), out_a, env=env)
        wait_for(lambda: "READY" in text(out_a) and "READY" in text(out_b)
                 or client.poll() is not None or server.poll() is not None,
                 "the stream")
        listing = command("a", "-l").stdout
        print(listing.strip(), flush=True)
        for h in "ab":
            if f"@{HOSTS[h][0]}" not in listing:
                raise Failure(f"no process on {HOSTS[h][0]} in the "
                              "coordinator")

        # 3. Checkpoint, kill everything.
        time.sleep(0.3)  # numbers in flight
        print(command("a", "-bc").stdout.strip(), flush=True)
        script = os.path.join(ckpt, "dmtcp_restart_script.sh")
        s = text(script)
        if "ckpt_hosts=('dmtcp-host-a' 'dmtcp-host-b')" not in s:
            raise Failure("the restart script does not name both hosts")
        on_a = lambda *a, **k: command("a", *a, **k)  # noqa: E731
        kill_computation(on_a, (server, client))

        # 4. Restart where the host map says.
        restart_env = {k: v for k, v in env.items()
                       if k not in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT")}
        argv = [script]
        if how == "hostfile":
            hostfile = os.path.join(work, "hostfile")
            with open(hostfile, "w") as f:
                f.write(host_map)
            argv += ["--hostfile", hostfile]
        else:
            restart_env["DMTCP_RESTART_HOSTS"] = host_map
        out_r = os.path.join(work, "restart.out")
        outputs.append(out_r)
        restart = LoggedPopen(hosts.on("a", argv), out_r, env=restart_env)

        listing = wait_restarted(restart, on_a, 3)
        # The client and its child, the server.
        for host in (client_host, server_host):
            if listing.count(f"@{host},") != \
                    (client_host, client_host, server_host).count(host):
                raise Failure(f"after restart the processes are not on "
                              f"{client_host} and {server_host}")

        # 5. The stream goes on.
        open(env["DMTCP_TEST_GO"], "w").close()
        rc = restart.wait(timeout=120)
        out = text(out_r)
        print(out.strip(), flush=True)
        if rc != 0:
            raise Failure(f"the restart script exited {rc}")
        for role, host in (("client", client_host),
                           ("server", server_host)):
            if f"PASS {role}" not in out or f"{role} on {host}:" not in out:
                raise Failure(f"the {role} did not finish on {host}")
        if "FAIL" in out:
            raise Failure("a side failed")


if __name__ == "__main__":
    main()
