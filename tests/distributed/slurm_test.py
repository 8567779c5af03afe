#!/usr/bin/env python3
"""The Slurm batch recipe end to end (docs/slurm.md): a job checkpointed
on the signal Slurm sends before its time limit, restarted by a follow-up
job on the other node; the result must equal a native run's.

Usage: slurm_test.py BIN_DIR WORK_DIR COUNTER BATCH_SCRIPT

Hosts A and B as in dist_test.py (network and UTS namespaces on a
bridge).  A private cluster in the test's directory: munged (its own key
and socket, which both hosts reach through the shared file system),
slurmctld on A, slurmd on A and on B (nodes dmtcp-host-a, dmtcp-host-b),
a slurm.conf of our own (SLURM_CONF; process tracking by the process
tree, no cgroups, no accounting).

1. COUNTER (slurm_counter.c) natively: the expected RESULT line.
2. Job 1 on A: sbatch --time=1 --signal=B:USR1@10 BATCH_SCRIPT COUNTER
   (docs/examples/dmtcp_slurm_job.sh: a coordinator, dmtcp_launch -i 3).
   Job 2, submitted at once: the same with --dependency=afterany:JOB1 on
   B.  The counter computes its first half, then prints a tick line every
   100 ms (with its checkpoint generation) until the go file.
3. Slurm signals job 1 some 20-50 s in (its time-limit checks run every
   30 s); the script checkpoints (-kc) and the job ends COMPLETED, exit
   0, before the time limit.  The images and the restart script are in
   the checkpoint directory, from a generation after some periodic ones
   (-i 3).
4. Job 2 starts on B when job 1 has ended: the restart script maps A to
   B and restarts there.  Its first tick line that says "restarts 1"
   must be of the last generation and later than every tick of the
   generations before (so the images were the last ones, not a periodic
   checkpoint's).  Then the go file: job 2 ends COMPLETED, exit 0, its
   RESULT equals the native one, "on dmtcp-host-b".

Needs root (ip netns) and slurmctld, slurmd, slurm-client and munge:
otherwise one SKIP line and exit 77.  Every daemon is ours (started
here, in the foreground) and killed by pid at the end, pass or fail.
Prints "PASS distributed slurm"."""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from dist_test import (HOSTS, Hosts, need_hosts, run, run_case,  # noqa: E402
                       text, wait_for)
from harness import Failure, LoggedPopen  # noqa: E402
from mpi_test import result_line  # noqa: E402

DAEMONS = {"munged": "/usr/sbin/munged", "slurmctld": "/usr/sbin/slurmctld",
           "slurmd": "/usr/sbin/slurmd", "slurmstepd": "/usr/sbin/slurmstepd"}
CLIENTS = ("sbatch", "scontrol", "sinfo")
STEPS, HALF = 20000, 10000
INTERVAL = 3  # the jobs' periodic checkpoints (DMTCP_SLURM_INTERVAL)
ENDED = ("COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL")
TICK = re.compile(r"^tick (\d+) generation (-?\d+) restarts (-?\d+)$", re.M)


def need_slurm():
    missing = [n for n, p in DAEMONS.items() if not os.access(p, os.X_OK)]
    missing += [c for c in CLIENTS if shutil.which(c) is None]
    if missing:
        print(f"SKIP: no {', '.join(missing)} (install slurmctld slurmd "
              "slurm-client munge: scripts/setup.sh)")
        sys.exit(77)


def slurm_conf(d, munge_socket, nodes):
    """A cluster of nodes' hosts (A first: slurmctld's) whose every file
    is under d."""
    plugstack = os.path.join(d, "plugstack.conf")
    open(plugstack, "w").close()  # not the machine's /etc/slurm one
    a = HOSTS["a"]
    # slurmstepd makes UNIX sockets in the spool directories, whose paths
    # must fit in 108 bytes: a short directory of our own under /tmp, not
    # one under the build tree (whose depth is the checkout's).
    spool = tempfile.mkdtemp(prefix="dmtcp-spool-", dir="/tmp")
    atexit.register(shutil.rmtree, spool, ignore_errors=True)
    node_lines = "".join(f"NodeName={HOSTS[h][0]} NodeAddr={HOSTS[h][1]} "
                         "CPUs=1 State=UNKNOWN\n" for h in nodes)
    conf = os.path.join(d, "slurm.conf")
    with open(conf, "w") as f:
        f.write(f"""ClusterName=dmtcptest
SlurmctldHost={a[0]}({a[1]})
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={d}/state
SlurmdSpoolDir={spool}/%n
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd-%n.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd-%n.log
PlugStackConfig={plugstack}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/builtin
SelectType=select/linear
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
{node_lines}PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
    os.makedirs(os.path.join(d, "state"))
    for h in nodes:
        os.makedirs(os.path.join(spool, HOSTS[h][0]))
    return conf


def start_cluster(case, hosts, work, env, nodes="ab"):
    """munged, slurmctld on A, slurmd on each of nodes' hosts (A and B by
    default); returns the slurm directory once every node is idle."""
    d = os.path.join(work, "slurm")
    m = os.path.join(work, "munge")
    os.makedirs(d)
    os.makedirs(m, mode=0o700)
    key = os.path.join(m, "munge.key")
    with open(key, "wb") as f:
        f.write(os.urandom(1024))
    os.chmod(key, 0o400)
    sock = os.path.join(m, "munge.socket")
    # -F: in the foreground (ours to kill); -f: as root, in a directory
    # whose parents munged would find too open.
    munged = os.path.join(m, "munged.out")
    case.outputs.append(munged)
    LoggedPopen(hosts.on("a", [DAEMONS["munged"], "-F", "-f", "-S", sock,
                               f"--key-file={key}",
                               f"--pid-file={m}/munged.pid",
                               f"--log-file={m}/munged.log",
                               f"--seed-file={m}/munged.seed",
                               f"--origin={HOSTS['a'][1]}"]), munged)
    wait_for(lambda: os.path.exists(sock), "munged's socket", timeout=30)
    conf = slurm_conf(d, sock, nodes)
    env["SLURM_CONF"] = conf
    case.outputs += [os.path.join(d, "slurmctld.log")]
    LoggedPopen(hosts.on("a", [DAEMONS["slurmctld"], "-D", "-f", conf]),
                os.path.join(d, "slurmctld.out"), env=env)
    for h in nodes:
        name = HOSTS[h][0]
        case.outputs.append(os.path.join(d, f"slurmd-{name}.log"))
        LoggedPopen(hosts.on(h, [DAEMONS["slurmd"], "-D", "-f", conf, "-N",
                                 name]),
                    os.path.join(d, f"slurmd-{name}.out"), env=env)

    def idle():
        r = run(hosts.on("a", ["sinfo", "-h", "-N", "-o", "%N %t"]),
                env=env, check=False)
        states = dict(ln.split() for ln in r.stdout.splitlines()
                      if len(ln.split()) == 2)
        return r.returncode == 0 and all(
            states.get(HOSTS[h][0]) == "idle" for h in nodes)
    wait_for(idle, "every node idle in sinfo", timeout=60)
    return d


def job_info(hosts, env, job):
    """scontrol show job's fields."""
    r = run(hosts.on("a", ["scontrol", "-o", "show", "job", job]), env=env)
    return dict(f.split("=", 1) for f in r.stdout.split() if "=" in f)


def wait_job_state(hosts, env, job, states, timeout):
    def reached():
        return job_info(hosts, env, job).get("JobState") in states
    wait_for(reached, f"job {job} to be {'/'.join(states)}", timeout=timeout)
    return job_info(hosts, env, job)


def checkpointed_job(hosts, env, job, out, submitted):
    """Waits for job (submitted at time `submitted`, output file out) to
    end; it must have ended COMPLETED with exit 0 after checkpointing on
    Slurm's signal.  Prints the batch script's lines; returns the output."""
    info = wait_job_state(hosts, env, job, ENDED, timeout=100)
    output = text(out)
    print(f"job {job} ended after {time.time() - submitted:.0f} s:\n" +
          "\n".join(ln for ln in output.splitlines()
                    if ln.startswith("dmtcp_slurm_job")), flush=True)
    if info.get("JobState") != "COMPLETED" or \
            info.get("ExitCode") != "0:0":
        raise Failure(f"job {job}: {info.get('JobState')} exit "
                      f"{info.get('ExitCode')} (Reason "
                      f"{info.get('Reason')})")
    if "signal: checkpointing before the time limit" not in output or \
            "checkpointed (generation" not in output:
        raise Failure(f"job {job} did not checkpoint on the signal")
    return output


def images_in(ckpt):
    """The checkpoint images in directory ckpt."""
    return [f for f in os.listdir(ckpt)
            if f.startswith("ckpt_") and f.endswith(".dmtcp")]


def text_of(path):
    """A file's text, "" while it does not exist (a job's output file is
    made when the job starts)."""
    try:
        return text(path)
    except FileNotFoundError:
        return ""


def ticks(output):
    """[(tick, generation, restarts)] in output's order."""
    return [tuple(int(x) for x in m.groups())
            for m in TICK.finditer(output)]


def main():
    bin_dir, workdir, counter, script = (os.path.abspath(a)
                                         for a in sys.argv[1:5])
    need_hosts()
    need_slurm()
    with run_case(workdir, "dmtcp-slurm-", "slurm") as case:
        work = case.work
        hosts = case.hosts = Hosts(work)
        ckpt = os.path.join(work, "ckpt")
        go = os.path.join(work, "go")
        # TMPDIR: the batch script's temporary directory and the
        # coordinators' keys in the test's directory, removed with it.
        tmp = os.path.join(work, "tmp")
        os.makedirs(tmp, mode=0o700)
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}",
                   TMPDIR=tmp, DMTCP_SLURM_CKPTDIR=ckpt,
                   DMTCP_SLURM_INTERVAL=str(INTERVAL))
        for k in ("DMTCP_COORD_HOST", "DMTCP_COORD_PORT",
                  "DMTCP_CHECKPOINT_DIR", "DMTCP_RESTART_HOSTS",
                  "DMTCP_TEST_GO", "DMTCP_TMPDIR", "SLURM_CONF"):
            env.pop(k, None)

        # 1. Native.
        r = subprocess.run([counter, str(STEPS), str(HALF)],
                           capture_output=True, text=True, timeout=60,
                           env=env)
        if r.returncode != 0:
            raise Failure(f"native run exited {r.returncode}: {r.stdout}")
        want = result_line(r.stdout, "native run")
        print("native:   ", want, flush=True)

        start_cluster(case, hosts, work, env)
        env["DMTCP_TEST_GO"] = go

        # 2. Job 1 on A, job 2 after it on B.
        outs = [os.path.join(work, f"job{n}.out") for n in (1, 2)]
        case.outputs += outs

        def sbatch(out, node, *extra):
            r = run(hosts.on("a", ["sbatch", "--parsable", "-J", "dmtcp",
                                   "-w", node, "--time=1",
                                   "--signal=B:USR1@10", "-o", out, "-D",
                                   work, *extra, script, counter,
                                   str(STEPS), str(HALF)]), env=env)
            return r.stdout.strip().split(";")[0]
        job1 = sbatch(outs[0], HOSTS["a"][0])
        submitted = time.time()
        job2 = sbatch(outs[1], HOSTS["b"][0], f"--dependency=afterany:{job1}")
        print(f"job 1: {job1} on {HOSTS['a'][0]}; job 2: {job2} on "
              f"{HOSTS['b'][0]} after it", flush=True)

        # 3. Job 1 runs, is signalled, checkpoints, ends before its limit.
        wait_for(lambda: "READY" in text_of(outs[0]), "job 1's program",
                 timeout=60)
        out1 = checkpointed_job(hosts, env, job1, outs[0], submitted)
        restart_script = os.path.join(ckpt, "dmtcp_restart_script.sh")
        m = re.search(r"after checkpoint generation (\d+)",
                      text(restart_script))
        gen = int(m.group(1)) if m else -1
        images = images_in(ckpt)
        print(f"images: {images}, generation {gen}", flush=True)
        if len(images) != 1 or os.path.getsize(
                os.path.join(ckpt, images[0])) < (1 << 20):
            raise Failure(f"not one image of the counter's 1 MiB: {images}")
        if f"checkpointed (generation {gen})" not in out1:
            raise Failure(f"the restart script's generation {gen} is not "
                          "the signal's checkpoint")
        before = ticks(out1)
        if not before or max(g for _, g, _ in before) < 1 or gen < 2:
            raise Failure("no periodic checkpoint before the signal's "
                          f"(generation {gen})")

        # 4. Job 2 restarts on B.
        def restarted():
            if job_info(hosts, env, job2).get("JobState") in (
                    "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"):
                raise Failure("job 2 ended before the go file")
            return any(r == 1 for _, _, r in ticks(text_of(outs[1])))
        wait_for(restarted, "job 2's first tick after the restart",
                 timeout=60)
        info = job_info(hosts, env, job2)
        if info.get("NodeList") != HOSTS["b"][0]:
            raise Failure(f"job 2 ran on {info.get('NodeList')}")
        after = ticks(text_of(outs[1]))
        at = next(i for i, (_, _, r) in enumerate(after) if r == 1)
        first = after[at]
        print(f"job 2's first tick: {first}", flush=True)
        # A tick line whose status was read just before the checkpoint is
        # printed after the restart with the old numbers: one at most.
        if at > 1 or (at == 1 and after[0][2] != 0):
            raise Failure(f"job 2's ticks before the restarted one: "
                          f"{after[:at]}")
        last_earlier = max((t for t, g, _ in before if g < gen), default=-1)
        if first[1] != gen or first[0] <= last_earlier:
            raise Failure(f"job 2 restarted as tick {first[0]} generation "
                          f"{first[1]}, not after tick {last_earlier} from "
                          f"generation {gen}")
        open(go, "w").close()
        info = wait_job_state(hosts, env, job2, ENDED, timeout=60)
        out2 = text(outs[1])
        if info.get("JobState") != "COMPLETED" or \
                info.get("ExitCode") != "0:0":
            raise Failure(f"job 2: {info.get('JobState')} exit "
                          f"{info.get('ExitCode')}")
        got = result_line(out2, "job 2")
        print("restarted:", got, flush=True)
        if got != want:
            raise Failure("job 2's result differs from the native run's")
        if f"on {HOSTS['b'][0]}\nPASS" not in out2:
            raise Failure(f"job 2's program did not end on {HOSTS['b'][0]}")
        if "FAIL" in out1 + out2:
            raise Failure("the counter failed")
        print(f"total {time.time() - submitted:.0f} s after the first "
              "sbatch", flush=True)


if __name__ == "__main__":
    main()
