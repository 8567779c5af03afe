#!/bin/bash
# dmtcp_slurm_job.sh: a Slurm batch script that runs a program under DMTCP,
# checkpoints it before the job's time limit and restarts it in the next
# job, on whatever node that job gets (docs/slurm.md).
#
#   sbatch --time=T --signal=B:USR1@S dmtcp_slurm_job.sh PROGRAM [ARGS...]
#   sbatch --time=T --signal=B:USR1@S --dependency=afterany:JOBID \
#          dmtcp_slurm_job.sh PROGRAM [ARGS...]
#
# Each job does one of three things, by what the checkpoint directory
# holds:
#   nothing there        start a coordinator and `dmtcp_launch -i N PROGRAM`
#   a restart script     restart from the last images, on this job's
#                        nodes (the checkpoint's hosts mapped to them in
#                        order); ARGS are not used
#   a "finished" file    the program ended in an earlier job: say so, exit
#
# On USR1 (sent by Slurm S seconds before the time limit, to this script
# only: the "B:") it checkpoints (`dmtcp_command -kc`: images written,
# then the processes killed) and the job ends with status 0 before Slurm
# kills it; the next job restarts from those images.  When the program
# ends by itself, its status goes to CKPTDIR/finished and the job exits
# with it.
#
# Settings (environment; sbatch passes the submitting shell's):
#   DMTCP_SLURM_CKPTDIR   the images: one directory per computation, on a
#                         file system every node sees (default:
#                         $SLURM_SUBMIT_DIR/dmtcp-ckpt)
#   DMTCP_SLURM_INTERVAL  seconds between periodic checkpoints, a safety
#                         net against node failures (default 3600;
#                         0 = only the one before the time limit)
#   DMTCP_TMPDIR          jobs of several nodes: the key directory, which
#                         every node must see (default CKPTDIR/.keys)
#   DMTCP_REMOTE_SHELL    jobs of several nodes: how the restart reaches
#                         the other nodes (default ssh)
# The DMTCP tools must be on PATH (or set DMTCP_BIN to their directory).
#
# A job of several nodes (sbatch -N 2 ...) runs PROGRAM on the first one;
# PROGRAM starts the rest over ssh (mpiexec -launcher ssh, mpirun --mca
# plm rsh: not srun, whose processes DMTCP cannot reach), and they join
# the coordinator at this node's address (docs/slurm.md).
set -u

log() {
  echo "dmtcp_slurm_job: $(date -u +%H:%M:%S) $*"
}

# A signal that comes before the coordinator or the program is up is
# remembered and handled once they are.
signalled=0
trap 'signalled=1' USR1

bin=${DMTCP_BIN:+$DMTCP_BIN/}
ckptdir=${DMTCP_SLURM_CKPTDIR:-${SLURM_SUBMIT_DIR:-$PWD}/dmtcp-ckpt}
interval=${DMTCP_SLURM_INTERVAL:-3600}
node=$(uname -n)
mkdir -p "$ckptdir" || exit 1

# One node: the coordinator on loopback.  Several: on this node's address
# (Slurm's NodeAddr), with its key where every node reads it, and a
# restart maps the checkpoint's hosts, sorted, to this job's nodes.
coord_addr=127.0.0.1
restart_hosts=$node
if [ "${SLURM_JOB_NUM_NODES:-1}" -gt 1 ]; then
  coord_addr=$(scontrol -o show node "${SLURMD_NODENAME:-$node}" |
    sed -n 's/.* NodeAddr=\([^ ]*\).*/\1/p')
  coord_addr=${coord_addr:-$node}
  restart_hosts=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | tr '\n' ' ')
  export DMTCP_TMPDIR=${DMTCP_TMPDIR:-$ckptdir/.keys}
  [ -d "$DMTCP_TMPDIR" ] || mkdir -m 700 "$DMTCP_TMPDIR" || exit 1
fi

if [ -e "$ckptdir/finished" ]; then
  log "the program ended in an earlier job (status $(cat "$ckptdir/finished"));" \
      "nothing to do"
  exit 0
fi

# Our own coordinator on a port the kernel picks (two jobs on one node
# never share one), a child of this script: Slurm's process tracking sees
# it and it exits with the last process (--exit-on-last).
rundir=$(mktemp -d) || exit 1
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  rm -rf "$rundir"
}
trap cleanup EXIT
"${bin}dmtcp_coordinator" --exit-on-last -q -p 0 --bind "$coord_addr" \
  --port-file "$rundir/port" --ckptdir "$ckptdir" &
coord_pid=$!
for _ in $(seq 300); do
  [ -s "$rundir/port" ] && break
  kill -0 "$coord_pid" 2>/dev/null || break
  sleep 0.1
done
port=$(cat "$rundir/port" 2>/dev/null)
if [ -z "$port" ]; then
  log "the coordinator did not start"
  exit 1
fi
export DMTCP_COORD_HOST=$coord_addr DMTCP_COORD_PORT=$port

# The program's output goes through a pipe (to cat, outside the
# computation) to this job's output file.  A restarted process gets
# dmtcp_restart's stdout and stderr in place of such a pipe, so each job's
# output is in its own file; had the program written to the first job's
# output file directly, every restart would reopen that file.
if [ -e "$ckptdir/dmtcp_restart_script.sh" ]; then
  log "restarting on ${restart_hosts% } from $(sed -n 's/.*after checkpoint \(generation [0-9]*\).*/\1/p' \
      "$ckptdir/dmtcp_restart_script.sh") in $ckptdir"
  # The checkpoint's hosts are this job's nodes now, in order;
  # --restartdir: the images are looked for in $ckptdir, wherever the
  # directory was when they were written.
  DMTCP_RESTART_HOSTS=$restart_hosts "$ckptdir/dmtcp_restart_script.sh" \
    -h "$coord_addr" -p "$port" --restartdir "$ckptdir" \
    > >(cat) 2> >(cat >&2) &
else
  log "launching on $node: $*"
  "${bin}dmtcp_launch" -j -i "$interval" "$@" > >(cat) 2> >(cat >&2) &
fi
pid=$!

checkpoint() {
  log "signal: checkpointing before the time limit"
  if "${bin}dmtcp_command" --quiet -kc; then
    log "checkpointed ($(sed -n 's/.*after checkpoint \(generation [0-9]*\).*/\1/p' \
        "$ckptdir/dmtcp_restart_script.sh")) and stopped; a job with" \
        "DMTCP_SLURM_CKPTDIR=$ckptdir restarts it"
    checkpointed=0
  else
    log "the checkpoint failed; the next job restarts from the last" \
        "complete one, if any"
    "${bin}dmtcp_command" --quiet -k
    checkpointed=1
  fi
}
checkpointed=
trap checkpoint USR1
if [ "$signalled" -eq 1 ]; then
  checkpoint
fi

# wait returns early (status > 128) when the signal comes; go on waiting
# until the program (dmtcp_launch or the restart script) is gone.
while :; do
  wait "$pid"
  status=$?
  if ! kill -0 "$pid" 2>/dev/null; then
    break
  fi
done
"${bin}dmtcp_command" --quiet -q >/dev/null 2>&1
wait "$coord_pid"
wait  # the output copies
if [ -n "$checkpointed" ]; then
  exit "$checkpointed"
fi
log "the program ended with status $status"
(set -C && echo "$status" > "$ckptdir/finished")
exit "$status"
