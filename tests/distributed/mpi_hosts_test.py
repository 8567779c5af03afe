#!/usr/bin/env python3
"""An MPI job of 4 ranks over 2 simulated hosts, its daemons started over
real ssh, checkpointed mid-run, killed, restarted with the hosts swapped;
its result must equal a native run's (docs/mpi.md, "Several hosts").

Usage: mpi_hosts_test.py BIN_DIR WORK_DIR SOURCE FLAVOUR [swap|same]
  FLAVOUR  openmpi      mpirun.openmpi, orted on host B over ssh; its
                        default transports: shared memory (vader, with
                        cross-memory attach) between the two ranks of a
                        host, TCP between hosts
           openmpi_tcp  the same with --mca btl self,tcp
           mpich        mpiexec.mpich (hydra), hydra_pmi_proxy on B over
                        ssh

Hosts A and B as in dist_test.py, each with a real sshd (ssh_test.py).
"ssh" is a two-line script in the test's directory that adds the client
configuration (-F); the MPI launchers are told to use it, the runtime
recognizes it by its name (docs/ssh.md) and the restart script uses it as
DMTCP_REMOTE_SHELL.

1. SOURCE (mpi_ring.c) compiled with the flavour's mpicc; a native run on
   A and B (2 ranks each) gives the expected RESULT line.
2. The coordinator on A (--bind); the job under dmtcp_launch on A: the
   coordinator must list processes on both hosts.  A quarter of the way
   the test checkpoints while the job runs on; three quarters of the way
   the job waits for the go file.  Kill everything and the coordinator.
3. The restart script on A with --hostfile "A=B B=A" (swap, the
   default): mpirun (or mpiexec) and ranks 0-1 on B, the remote daemon
   and ranks 2-3 on A; same: no host map, each host's images on it.  The
   go file; the job's RESULT line, relayed back to the script on A, must
   be the native one.

Needs root (ip netns, sshd): otherwise one SKIP line and exit 77; without
the flavour's packages or sshd likewise.  Prints
"PASS distributed mpi_hosts_FLAVOUR" (_same appended for same)."""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from dist_test import (HOSTS, Hosts, kill_computation, need_hosts,  # noqa
                       run, run_case, start_coordinator, text,
                       wait_for, wait_restarted)
from harness import Failure, LoggedPopen  # noqa: E402
from mpi_test import RANKS, result_line  # noqa: E402
from ssh_test import SSHD, start_sshds  # noqa: E402

SWAP = "dmtcp-host-a=dmtcp-host-b\ndmtcp-host-b=dmtcp-host-a\n"
A, B = HOSTS["a"][1], HOSTS["b"][1]
# mpicc, launcher, package
FLAVOURS = {"openmpi": ("mpicc.openmpi", "mpirun.openmpi", "openmpi-bin"),
            "openmpi_tcp": ("mpicc.openmpi", "mpirun.openmpi", "openmpi-bin"),
            "mpich": ("mpicc.mpich", "mpiexec.mpich", "mpich")}


def flavour_argv(flavour, work, ssh):
    """(mpicc, launcher argv before the program, iterations).
    The hosts are named by address: the names of the simulated hosts are
    known only to the ssh configuration."""
    if flavour.startswith("openmpi"):
        hostfile = os.path.join(work, "ompi-hosts")
        with open(hostfile, "w") as f:
            f.write(f"{A} slots=2\n{B} slots=2\n")
        argv = ["mpirun.openmpi", "--hostfile", hostfile, "-np", str(RANKS),
                "--map-by", "slot", "--mca", "plm_rsh_agent", ssh]
        if flavour == "openmpi_tcp":
            argv += ["--mca", "btl", "self,tcp"]
        return "mpicc.openmpi", argv, 3000
    hostfile = os.path.join(work, "hydra-hosts")
    with open(hostfile, "w") as f:
        f.write(f"{A}:2\n{B}:2\n")
    # -localhost: the address the proxies reach mpiexec at (its host name
    # resolves nowhere).
    return "mpicc.mpich", ["mpiexec.mpich", "-f", hostfile, "-n",
                           str(RANKS), "-launcher", "ssh", "-launcher-exec",
                           ssh, "-localhost", A], 400


def native_result(hosts, mpicc, launcher, iters, source, work, env):
    """SOURCE compiled with mpicc into WORK/mpi_ring and run natively by
    launcher on host A (without the go file); returns (program, its RESULT
    line)."""
    prog = os.path.join(work, "mpi_ring")
    run([mpicc, "-O2", "-I", os.path.join(HERE, "..", "e2e", "programs"),
         "-o", prog, source])
    native_env = {k: v for k, v in env.items() if k != "DMTCP_TEST_GO"}
    r = subprocess.run(hosts.on("a", [*launcher, prog, str(iters)]),
                       capture_output=True, text=True, timeout=600,
                       env=native_env, cwd=work)
    if r.returncode != 0:
        raise Failure(f"native run exited {r.returncode}: {r.stdout}"
                      f"{r.stderr}")
    want = result_line(r.stdout, "native run")
    print("native:   ", want, flush=True)
    return prog, want


def main():
    bin_dir, workdir, source = (os.path.abspath(a) for a in sys.argv[1:4])
    flavour = sys.argv[4]
    swap = len(sys.argv) <= 5 or sys.argv[5] != "same"
    name = f"mpi_hosts_{flavour}" + ("" if swap else "_same")
    mpicc, launcher, package = FLAVOURS[flavour]
    if shutil.which(mpicc) is None or shutil.which(launcher) is None:
        print(f"SKIP: {mpicc}/{launcher} not installed ({package}: "
              "scripts/setup.sh)")
        sys.exit(77)
    need_hosts(SSHD)
    with run_case(workdir, f"dmtcp-{name}-", name) as case:
        work = case.work
        outputs = case.outputs
        sshbin = os.path.join(work, "sshbin")
        os.makedirs(sshbin)
        ssh = os.path.join(sshbin, "ssh")
        mpicc, launcher, iters = flavour_argv(flavour, work, ssh)
        hosts = case.hosts = Hosts(work)
        client_cfg, _ = start_sshds(hosts, work)
        with open(ssh, "w") as f:
            f.write(f"#!/bin/sh\nexec /usr/bin/ssh -F {client_cfg} \"$@\"\n")
        os.chmod(ssh, 0o755)
        keys = os.path.join(work, "keys")
        ckpt = os.path.join(work, "ckpt")
        os.makedirs(keys)
        os.makedirs(ckpt)
        env = dict(os.environ, DMTCP_TMPDIR=keys, TMPDIR=keys,
                   DMTCP_TEST_GO=os.path.join(work, "go"),
                   DMTCP_REMOTE_SHELL=ssh, OMPI_ALLOW_RUN_AS_ROOT="1",
                   OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        for k in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT",
                  "DMTCP_CHECKPOINT_DIR", "DMTCP_RESTART_HOSTS",
                  "DMTCP_SSH_PLUGIN"):
            env.pop(k, None)
        tool = lambda n: os.path.join(bin_dir, n)  # noqa: E731
        # 1. Native, on both hosts.
        prog, want = native_result(hosts, mpicc, launcher, iters, source,
                                   work, env)

        # 2. Under DMTCP: checkpoint a quarter of the way, kill.
        start_coordinator(hosts, tool, work, ckpt, env)

        def command(*args, check=True):
            return run(hosts.on("a", [tool("dmtcp_command"), *args]),
                       env=env, check=check)

        out = os.path.join(work, "job.out")
        outputs.append(out)
        job = LoggedPopen(hosts.on("a", [tool("dmtcp_launch"),
                                         "--ckpt-signal", "40", *launcher,
                                         prog, str(iters)]),
                          out, env=env, cwd=work)
        wait_for(lambda: "READY" in text(out) or job.poll() is not None,
                 "the job to reach a quarter", timeout=300)
        if job.poll() is not None:
            raise Failure(f"the job exited {job.poll()} early")
        listing = command("-l").stdout
        print(listing.strip(), flush=True)
        for h in "ab":
            if listing.count(f"@{HOSTS[h][0]},") < 3:
                raise Failure(f"fewer than 3 processes on {HOSTS[h][0]} "
                              "in the computation")
        running = listing.count("RUNNING")
        print(command("-bc").stdout.strip(), flush=True)
        if "WAITING" in text(out):
            print("(the checkpoint came after the job reached its wait: it "
                  "did not run on after it this time)", flush=True)
        wait_for(lambda: "WAITING" in text(out) or job.poll() is not None,
                 "the job to run on to the three quarters", timeout=300)
        script = os.path.join(ckpt, "dmtcp_restart_script.sh")
        if "ckpt_hosts=('dmtcp-host-a' 'dmtcp-host-b')" not in text(script):
            raise Failure("the restart script does not name both hosts")
        kill_computation(command, (job,))

        # 3. Restart with the hosts swapped.
        restart_env = {k: v for k, v in env.items()
                       if k not in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT")}
        hostfile = os.path.join(work, "swap")
        with open(hostfile, "w") as f:
            f.write(SWAP)
        out_r = os.path.join(work, "restart.out")
        outputs.append(out_r)
        restart = LoggedPopen(hosts.on("a", [script, "--hostfile",
                                             hostfile] if swap else [script]),
                              out_r, env=restart_env, cwd=work)
        after = wait_restarted(restart, command, running)
        for h, other in (("a", "b"), ("b", "a")) if swap else ():
            if after.count(f"@{HOSTS[other][0]},") != \
                    listing.count(f"@{HOSTS[h][0]},"):
                raise Failure(f"{HOSTS[h][0]}'s processes are not on "
                              f"{HOSTS[other][0]} after the restart")
        open(env["DMTCP_TEST_GO"], "w").close()
        rc = restart.wait(timeout=240)
        if rc != 0:
            raise Failure(f"the restart script exited {rc}")
        got = result_line(text(out_r), "restarted run")
        print("restarted:", got, flush=True)
        if got != want:
            raise Failure("the restarted job's result differs from the "
                          "native run's")


if __name__ == "__main__":
    main()
