#!/usr/bin/env python3
"""A process that runs ssh to a second host and talks to its remote child
through the channel, checkpointed, killed, restarted (docs/ssh.md).

Usage: ssh_test.py BIN_DIR WORK_DIR SSH_CHANNEL [same|swap]

Simulated hosts A and B as in dist_test.py (network + UTS namespaces), each
running a real sshd (openssh-server) of its own, key authentication for
root, host key and authorized key in the test's directory.

1. The coordinator on A (--bind).  On A, under dmtcp_launch:
   "ssh_channel caller ssh -F CONFIG dmtcp-host-b ssh_channel answer".
   The runtime runs ssh as dmtcp_ssh: the answer joins the computation on
   B; the coordinator must list processes on both hosts.
2. Checked numbers flow: caller -> answer's stdin, answers back on its
   stdout and its stderr, 64 ahead each way.
3. Checkpoint, kill everything and the coordinator.  No ssh process may be
   left of the computation (the real ssh is gone once the channel runs).
4. The restart script on A, its remote shell real ssh too
   (DMTCP_REMOTE_SHELL="ssh -F CONFIG"):
     same  each host's images on their host;
     swap  --hostfile "A=B B=A": the caller on B, the answer on A.
   The go file: 1000 more numbers each way, the stop mark, end of input,
   the answer's last line and exit status (42) through the channel; every
   byte checked, and each side says where it ran.

Needs root (ip netns, sshd): otherwise one SKIP line and exit 77; without
sshd (openssh-server) likewise.  Prints "PASS distributed ssh_MODE"."""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from dist_test import (HOSTS, Hosts, kill_computation, need_hosts,  # noqa
                       run, run_case, start_coordinator, text, wait_for,
                       wait_restarted)
from harness import Failure, LoggedPopen  # noqa: E402

SSHD = "/usr/sbin/sshd"
BASHRC = os.path.join(os.path.expanduser("~root"), ".bashrc")
MODES = {"same": ("", "dmtcp-host-a", "dmtcp-host-b"),
         "swap": ("dmtcp-host-a=dmtcp-host-b\ndmtcp-host-b=dmtcp-host-a\n",
                  "dmtcp-host-b", "dmtcp-host-a")}


def start_sshds(hosts, work, names="ab"):
    """A real sshd on each of names' hosts (A and B by default, at
    hosts.map's addresses); returns (client config path, processes)."""
    addrs = hosts.map
    d = os.path.join(work, "ssh")
    os.makedirs(d)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
         os.path.join(d, "hostkey")])
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
         os.path.join(d, "id")])
    shutil.copy(os.path.join(d, "id.pub"), os.path.join(d, "authorized"))
    os.makedirs("/run/sshd", exist_ok=True)  # privilege separation
    empty = os.path.join(d, "empty")
    open(empty, "w").close()
    procs = []
    for h in names:
        cfg = os.path.join(d, f"sshd-{h}.conf")
        with open(cfg, "w") as f:
            f.write(f"ListenAddress {addrs[h][1]}:22\n"
                    f"HostKey {d}/hostkey\n"
                    f"AuthorizedKeysFile {d}/authorized\n"
                    f"PidFile {d}/sshd-{h}.pid\n"
                    "PermitRootLogin prohibit-password\n"
                    "PasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\n"
                    "UsePAM no\nStrictModes no\nPrintMotd no\n"
                    "X11Forwarding no\n")
        # The hosts' root has a plain shell start-up: this machine's
        # ~/.bashrc (pyenv and the like) would talk on every session's
        # stderr.  So sshd runs in a mount namespace of its own with an
        # empty file over it.
        start = f"exec {SSHD} -D -e -f {cfg}"
        if os.path.exists(BASHRC):
            start = f"mount --bind {empty} {BASHRC} && {start}"
        procs.append(LoggedPopen(hosts.on(h, [
            "unshare", "--mount", "--propagation", "private", "/bin/sh",
            "-c", start]), os.path.join(d, f"sshd-{h}.log")))
    client = os.path.join(d, "config")
    with open(client, "w") as f:
        for h in names:
            f.write(f"Host {addrs[h][0]}\n  HostName {addrs[h][1]}\n")
        f.write(f"Host *\n  IdentityFile {d}/id\n  IdentitiesOnly yes\n"
                "  User root\n  StrictHostKeyChecking no\n"
                "  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
                "  BatchMode yes\n  ConnectTimeout 20\n")
    for h, other in zip(names, names[1:] + names[0]):
        def answers(h=h, other=other):
            r = subprocess.run(hosts.on(h, ["ssh", "-F", client,
                                            addrs[other][0], "uname", "-n"]),
                               capture_output=True, text=True, timeout=60)
            return r.returncode == 0 and r.stdout.strip() == addrs[other][0]
        wait_for(answers, f"sshd on {addrs[other][0]}")
    return client, procs


def main():
    bin_dir, workdir, prog = (os.path.abspath(a) for a in sys.argv[1:4])
    mode = sys.argv[4] if len(sys.argv) > 4 else "swap"
    host_map, caller_host, answer_host = MODES[mode]
    need_hosts(SSHD)
    with run_case(workdir, "dmtcp-ssh-", f"ssh_{mode}") as case:
        work = case.work
        outputs = case.outputs
        hosts = case.hosts = Hosts(work)
        client_cfg, _ = start_sshds(hosts, work)
        keys = os.path.join(work, "keys")
        ckpt = os.path.join(work, "ckpt")
        os.makedirs(keys)
        os.makedirs(ckpt)
        shell = f"ssh -F {client_cfg}"
        env = dict(os.environ, DMTCP_TMPDIR=keys, TMPDIR=keys,
                   DMTCP_TEST_GO=os.path.join(work, "go"),
                   DMTCP_REMOTE_SHELL=shell)
        for k in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT",
                  "DMTCP_CHECKPOINT_DIR", "DMTCP_RESTART_HOSTS",
                  "DMTCP_SSH_PLUGIN"):
            env.pop(k, None)
        tool = lambda name: os.path.join(bin_dir, name)  # noqa: E731

        start_coordinator(hosts, tool, work, ckpt, env)

        def command(*args, check=True):
            return run(hosts.on("a", [tool("dmtcp_command"), *args]),
                       env=env, check=check)

        # 1-2. The caller on A, its ssh to B.
        out_a = os.path.join(work, "caller.out")
        outputs.append(out_a)
        caller = LoggedPopen(hosts.on("a", [
            tool("dmtcp_launch"), prog, "caller", "ssh", "-F", client_cfg,
            HOSTS["b"][0], prog, "answer"]), out_a, env=env)
        wait_for(lambda: "READY" in text(out_a) or caller.poll() is not None,
                 "the stream through ssh")
        if caller.poll() is not None:
            raise Failure(f"the caller exited {caller.poll()}")
        listing = command("-l").stdout
        print(listing.strip(), flush=True)
        if "@dmtcp-host-b" not in listing:
            raise Failure("the remote command did not join the computation")
        running = listing.count("RUNNING")

        # 3. Checkpoint, kill everything.
        time.sleep(0.3)  # numbers in flight
        print(command("-bc").stdout.strip(), flush=True)
        script = os.path.join(ckpt, "dmtcp_restart_script.sh")
        if "ckpt_hosts=('dmtcp-host-a' 'dmtcp-host-b')" not in text(script):
            raise Failure("the restart script does not name both hosts")
        kill_computation(command, (caller,))

        # 4. Restart: the remote shell of the script is real ssh as well.
        restart_env = {k: v for k, v in env.items()
                       if k not in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT")}
        argv = [script]
        if host_map:
            hostfile = os.path.join(work, "hostfile")
            with open(hostfile, "w") as f:
                f.write(host_map)
            argv += ["--hostfile", hostfile]
        out_r = os.path.join(work, "restart.out")
        outputs.append(out_r)
        restart = LoggedPopen(hosts.on("a", argv), out_r, env=restart_env)

        listing = wait_restarted(restart, command, running)
        if f"@{answer_host}," not in listing or \
                f"@{caller_host}," not in listing:
            raise Failure(f"after restart the processes are not on "
                          f"{caller_host} and {answer_host}")

        open(env["DMTCP_TEST_GO"], "w").close()
        rc = restart.wait(timeout=120)
        out = text(out_r)
        print(out.strip(), flush=True)
        if rc != 0:
            raise Failure(f"the restart script exited {rc}")
        if "PASS caller" not in out or "FAIL" in out or \
                f"caller on {caller_host}:" not in out or \
                f"answer on {answer_host}:" not in out:
            raise Failure(f"the caller did not finish on {caller_host} "
                          f"with its answer on {answer_host}")


if __name__ == "__main__":
    main()
