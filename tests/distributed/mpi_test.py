#!/usr/bin/env python3
"""An MPI job of 4 ranks on one host, checkpointed mid-run, killed and
restarted; its result must equal a native run's (docs/mpi.md).

Usage: mpi_test.py BIN_DIR WORK_DIR SOURCE FLAVOUR
  FLAVOUR  openmpi      Open MPI (mpirun.openmpi), its default transports
                        on one host: shared memory (vader) with
                        cross-memory attach, PMIx over UNIX sockets
           openmpi_tcp  the same with --mca btl self,tcp
           mpich        MPICH (mpiexec.mpich, hydra)

1. SOURCE (mpi_ring.c) is compiled with the flavour's mpicc; a native run
   gives the expected RESULT line.
2. The job under dmtcp_launch; a quarter of the way rank 0 says READY
   and the test checkpoints (dmtcp_command -bc) while the job runs on;
   three quarters of the way it waits for the go file (WAITING): the
   job's memory, shared segments included, has moved on since the
   checkpoint.  Kill everything (-k).
3. The restart script; the go file; the job finishes and its RESULT line
   (on the restart's output: the launch's was a pipe to us) must be the
   native one.

Without the flavour's packages: one SKIP line, exit 77.  Prints
"PASS distributed mpi_FLAVOUR"."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from dist_test import report_failure, run, text, wait_for  # noqa: E402
from harness import Failure, LoggedPopen, reap_all, subreaper  # noqa: E402

RANKS = 4
FLAVOURS = {
    # mpicc, launcher argv (before the program), package to install,
    # iterations: enough for the job to run on for a while after the
    # checkpoint (MPICH's ranks poll: 4 of them on 2 cores are slow)
    "openmpi": ("mpicc.openmpi", ["mpirun.openmpi", "--oversubscribe",
                                  "-np", str(RANKS)], "openmpi-bin", 10000),
    "openmpi_tcp": ("mpicc.openmpi", ["mpirun.openmpi", "--oversubscribe",
                                      "--mca", "btl", "self,tcp", "-np",
                                      str(RANKS)], "openmpi-bin", 10000),
    "mpich": ("mpicc.mpich", ["mpiexec.mpich", "-n", str(RANKS)], "mpich",
              400),
}


def result_line(output, what):
    lines = [ln for ln in output.splitlines() if ln.startswith("RESULT ")]
    if len(lines) != 1:
        raise Failure(f"{what}: {len(lines)} RESULT lines in:\n{output}")
    return lines[0]


def main():
    bin_dir, workdir, source = (os.path.abspath(a) for a in sys.argv[1:4])
    flavour = sys.argv[4]
    mpicc, launcher, package, iters = FLAVOURS[flavour]
    if shutil.which(mpicc) is None or shutil.which(launcher[0]) is None:
        print(f"SKIP: {mpicc}/{launcher[0]} not installed ({package}: "
              "scripts/setup.sh)")
        sys.exit(77)
    subreaper()
    os.makedirs(workdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f"dmtcp-mpi-{flavour}-", dir=workdir)
    os.chmod(work, 0o700)
    ok = False
    outputs = []
    coordinator = None
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               DMTCP_TEST_GO=os.path.join(work, "go"))
    for k in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT", "DMTCP_CHECKPOINT_DIR"):
        env.pop(k, None)
    tool = lambda name: os.path.join(bin_dir, name)  # noqa: E731
    try:
        prog = os.path.join(work, "mpi_ring")
        run([mpicc, "-O2", "-I", os.path.join(HERE, "..", "e2e", "programs"),
             "-o", prog, source])
        # 1. Native.
        native_env = dict(env)
        native_env.pop("DMTCP_TEST_GO")
        r = subprocess.run([*launcher, prog, str(iters)], capture_output=True,
                           text=True, timeout=600, env=native_env, cwd=work)
        if r.returncode != 0:
            raise Failure(f"native run exited {r.returncode}: {r.stdout}"
                          f"{r.stderr}")
        want = result_line(r.stdout, "native run")
        print("native:   ", want, flush=True)

        # 2. Under DMTCP: checkpoint half-way, kill.
        ckpt = os.path.join(work, "ckpt")
        os.makedirs(ckpt)
        port_file = os.path.join(work, "port")
        coordinator = LoggedPopen([tool("dmtcp_coordinator"), "-q", "-p", "0",
                                   "--port-file", port_file, "--ckptdir",
                                   ckpt], os.path.join(work, "coord.out"),
                                  env=env)
        outputs.append(os.path.join(work, "coord.out"))
        wait_for(lambda: os.path.exists(port_file) and text(port_file).strip(),
                 "the coordinator")
        env["DMTCP_COORD_PORT"] = text(port_file).strip()

        def command(*args, check=True):
            return run([tool("dmtcp_command"), *args], env=env, check=check)

        out = os.path.join(work, "job.out")
        outputs.append(out)
        # mpirun installs a handler for SIGUSR2 (it forwards it to the
        # ranks): checkpoints use another signal.
        job = LoggedPopen([tool("dmtcp_launch"), "--ckpt-signal", "40",
                           *launcher, prog, str(iters)], out, env=env,
                          cwd=work)
        wait_for(lambda: "READY" in text(out) or job.poll() is not None,
                 "the job to reach a quarter", timeout=300)
        if job.poll() is not None:
            raise Failure(f"the job exited {job.poll()} early")
        listing = command("-l").stdout
        print(listing.strip(), flush=True)
        if listing.count("RUNNING") < RANKS + 1:
            raise Failure("not every rank is in the computation")
        print(command("-bc").stdout.strip(), flush=True)
        if "WAITING" in text(out):
            print("(the checkpoint came after the job reached its wait: it "
                  "did not run on after it this time)", flush=True)
        wait_for(lambda: "WAITING" in text(out) or job.poll() is not None,
                 "the job to run on to the three quarters", timeout=300)
        command("-k")
        job.wait(timeout=60)
        # The ranks are not our children: wait until the coordinator has
        # none left, or the restarted images would be refused as running.
        wait_for(lambda: "RUNNING" not in command("-l").stdout,
                 "every process of the job to go")
        reap_all()

        # 3. Restart, go, compare.
        script = os.path.join(ckpt, "dmtcp_restart_script.sh")
        restart = LoggedPopen([script], os.path.join(work, "restart.out"),
                              env=env, cwd=work)
        outputs.append(os.path.join(work, "restart.out"))
        count = listing.count("RUNNING")

        def restarted():
            if restart.poll() is not None:
                raise Failure(f"the restart script exited {restart.poll()}")
            r = command("-l", check=False)
            return r.returncode == 0 and r.stdout.count("RUNNING") == count
        wait_for(restarted, "the job to restart", timeout=120)
        open(env["DMTCP_TEST_GO"], "w").close()
        rc = restart.wait(timeout=600)
        if rc != 0:
            raise Failure(f"the restarted job exited {rc}")
        # The restarted mpirun writes where dmtcp_restart's stdout is.
        got = result_line(text(os.path.join(work, "restart.out")),
                          "restarted run")
        print("restarted:", got, flush=True)
        if got != want:
            raise Failure("the restarted job's result differs from the "
                          "native run's")
        ok = True
    except (Failure, subprocess.TimeoutExpired, OSError) as e:
        report_failure(e, outputs)
    finally:
        if coordinator is not None:
            run([tool("dmtcp_command"), "-k"], env=env, check=False)
            run([tool("dmtcp_command"), "-q"], env=env, check=False)
            try:
                coordinator.wait(timeout=30)
            except subprocess.TimeoutExpired:
                coordinator.kill()
        reap_all()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
    if not ok:
        sys.exit(1)
    print(f"PASS distributed mpi_{flavour}")


if __name__ == "__main__":
    main()
