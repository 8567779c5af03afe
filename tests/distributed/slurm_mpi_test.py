#!/usr/bin/env python3
"""An MPI job over two nodes under Slurm (docs/slurm.md, "Jobs over several
nodes"): checkpointed on the signal Slurm sends before the time limit,
restarted by a follow-up job on two nodes of which one is new; the result
must equal a native run's.

Usage: slurm_mpi_test.py BIN_DIR WORK_DIR SOURCE BATCH_SCRIPT [openmpi]
  MPICH by default; openmpi: Open MPI with its default transports,
  mpirun --mca plm rsh (orted over ssh, not srun) --mca ras ^slurm (the
  hostfile's hosts, by address, not the allocation's names)

Hosts A, B and C as in dist_test.py, each with a real sshd (ssh_test.py)
and a slurmd; slurmctld on A and munged as in slurm_test.py.

1. SOURCE (mpi_ring.c) compiled with the flavour's mpicc; a native run on
   A and B (2 ranks each, hydra's proxy or orted on B over ssh, outside
   Slurm): the expected RESULT line.
2. Job 1, sbatch -N 2 -w A,B --time=1 --signal=B:USR1@10 BATCH_SCRIPT
   mpiexec.mpich -launcher ssh ... (docs/examples/dmtcp_slurm_job.sh): its
   coordinator binds to A's NodeAddr, its key in CKPTDIR/.keys (the
   script's default for jobs of several nodes); the proxy (or orted) and
   ranks 2-3 on B, started over ssh, join it.  The ring stops three quarters of the
   way until the go file.
3. Slurm signals job 1 (20-50 s in); the script checkpoints (-kc) and the
   job ends COMPLETED, exit 0.  The restart script names both hosts.
4. Job 2 (--dependency=afterany, -N 2 -w B,C) restarts: the script maps
   the checkpoint's hosts to the job's nodes in order, A to B and B to C.
   Its coordinator (found by the port file the script keeps while it
   runs) must list as many processes as there are images, RUNNING, on B
   and C only, at least 3 on each.  Then the go file: job 2 ends
   COMPLETED, exit 0, with the native RESULT line.

Needs root (ip netns, sshd), the slurm packages and the flavour's MPI:
otherwise one SKIP line and exit 77.  Prints "PASS distributed slurm_mpi"
(_openmpi appended for Open MPI)."""
import glob
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from dist_test import HOSTS, Hosts, need_hosts, run, run_case, text, \
    wait_for  # noqa: E402
from harness import Failure  # noqa: E402
from mpi_hosts_test import FLAVOURS, flavour_argv, native_result  # noqa
from mpi_test import result_line  # noqa: E402
from slurm_test import (ENDED, checkpointed_job, images_in,  # noqa: E402
                        job_info, need_slurm, start_cluster, text_of,
                        wait_job_state)
from ssh_test import SSHD, start_sshds  # noqa: E402

NODES = "abc"


def main():
    bin_dir, workdir, source, script = (os.path.abspath(a)
                                        for a in sys.argv[1:5])
    flavour = sys.argv[5] if len(sys.argv) > 5 else "mpich"
    name = "slurm_mpi" + ("" if flavour == "mpich" else f"_{flavour}")
    mpicc, launcher, package = FLAVOURS[flavour]
    if shutil.which(mpicc) is None or shutil.which(launcher) is None:
        print(f"SKIP: {mpicc}/{launcher} not installed ({package}: "
              "scripts/setup.sh)")
        sys.exit(77)
    need_hosts(SSHD)
    need_slurm()
    with run_case(workdir, f"dmtcp-{name}-", name) as case:
        work = case.work
        hosts = case.hosts = Hosts(work)
        sshbin = os.path.join(work, "sshbin")
        os.makedirs(sshbin)
        ssh = os.path.join(sshbin, "ssh")
        mpicc, launcher, iters = flavour_argv(flavour, work, ssh)
        if flavour == "openmpi":
            # Inside an allocation mpirun would start orted with srun and
            # take the allocation's node names for hosts.
            launcher += ["--mca", "plm", "rsh", "--mca", "ras", "^slurm"]
        client_cfg, _ = start_sshds(hosts, work, NODES)
        with open(ssh, "w") as f:
            f.write(f"#!/bin/sh\nexec /usr/bin/ssh -F {client_cfg} \"$@\"\n")
        os.chmod(ssh, 0o755)
        ckpt = os.path.join(work, "ckpt")
        go = os.path.join(work, "go")
        tmp = os.path.join(work, "tmp")
        os.makedirs(tmp, mode=0o700)
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}",
                   TMPDIR=tmp, DMTCP_SLURM_CKPTDIR=ckpt,
                   DMTCP_SLURM_INTERVAL="0", DMTCP_REMOTE_SHELL=ssh,
                   DMTCP_SIGCKPT="40",  # as --ckpt-signal 40 (docs/mpi.md)
                   OMPI_ALLOW_RUN_AS_ROOT="1",
                   OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        for k in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT",
                  "DMTCP_CHECKPOINT_DIR", "DMTCP_RESTART_HOSTS",
                  "DMTCP_TEST_GO", "DMTCP_TMPDIR", "DMTCP_SSH_PLUGIN",
                  "SLURM_CONF"):
            env.pop(k, None)
        # 1. Native, on A and B.
        prog, want = native_result(hosts, mpicc, launcher, iters, source,
                                   work, env)

        start_cluster(case, hosts, work, env, NODES)
        env["DMTCP_TEST_GO"] = go

        # 2. Job 1 on A and B; job 2 after it on B and C.
        outs = [os.path.join(work, f"job{n}.out") for n in (1, 2)]
        case.outputs += outs

        def sbatch(out, nodes, *extra):
            r = run(hosts.on("a", [
                "sbatch", "--parsable", "-J", "dmtcp-mpi", "-N", "2", "-w",
                ",".join(HOSTS[h][0] for h in nodes), "-o", out, "-D", work,
                *extra, script, *launcher, prog, str(iters)]), env=env)
            return r.stdout.strip().split(";")[0]
        job1 = sbatch(outs[0], "ab", "--time=1", "--signal=B:USR1@10")
        submitted = time.time()
        # No signal for job 2: it ends with the ring, once the go file is
        # there.
        job2 = sbatch(outs[1], "bc", "--time=5",
                      f"--dependency=afterany:{job1}")
        print(f"job 1: {job1} on A,B; job 2: {job2} on B,C after it",
              flush=True)

        # 3. Job 1 runs, is signalled, checkpoints, ends before its limit.
        wait_for(lambda: "READY" in text_of(outs[0]), "job 1's ring",
                 timeout=60)
        checkpointed_job(hosts, env, job1, outs[0], submitted)
        restart_script = os.path.join(ckpt, "dmtcp_restart_script.sh")
        if "ckpt_hosts=('dmtcp-host-a' 'dmtcp-host-b')" not in \
                text(restart_script):
            raise Failure("the restart script does not name both hosts")
        images = images_in(ckpt)
        print(f"{len(images)} images", flush=True)

        # 4. Job 2 restarts on B and C.
        keys = os.path.join(ckpt, ".keys")

        def listing():
            if job_info(hosts, env, job2).get("JobState") in ENDED:
                raise Failure("job 2 ended before the go file")
            ports = glob.glob(os.path.join(tmp, "*", "port"))
            if len(ports) != 1 or not text(ports[0]).strip():
                return None
            r = run(hosts.on("b", [
                os.path.join(bin_dir, "dmtcp_command"), "-h",
                HOSTS["b"][1], "-p", text(ports[0]).strip(), "-l"]),
                env=dict(env, DMTCP_TMPDIR=keys), check=False)
            if r.returncode != 0 or \
                    r.stdout.count("RUNNING") != len(images):
                return None
            return r.stdout
        wait_for(listing, f"job 2's {len(images)} processes to run",
                 timeout=90)
        after = listing()
        print("after restart:\n" + after.strip(), flush=True)
        on = {h: after.count(f"@{HOSTS[h][0]},") for h in NODES}
        if on["a"] != 0 or on["b"] < 3 or on["c"] < 3:
            raise Failure(f"processes per host after the restart: {on}")
        open(go, "w").close()
        info = wait_job_state(hosts, env, job2, ENDED, timeout=120)
        out2 = text(outs[1])
        if info.get("JobState") != "COMPLETED" or \
                info.get("ExitCode") != "0:0":
            raise Failure(f"job 2: {info.get('JobState')} exit "
                          f"{info.get('ExitCode')}")
        got = result_line(out2, "job 2")
        print("restarted:", got, flush=True)
        if got != want:
            raise Failure("job 2's result differs from the native run's")
        print(f"total {time.time() - submitted:.0f} s after the first "
              "sbatch", flush=True)


if __name__ == "__main__":
    main()
