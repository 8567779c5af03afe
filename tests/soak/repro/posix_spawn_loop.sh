#!/bin/bash
# Usage: posix_spawn_loop.sh [BIN [CYCLES]]: checkpoints, kills and restarts
# posix_spawn_loop.c under BIN's tools (default build/bin) until a restarted
# loop prints FAIL (docs/soak.md, "Found"); here within 1 to 10 cycles.
set -u
B=$(realpath "${1:-build/bin}")
N=${2:-50}
W=$(mktemp -d /tmp/dmtcp-spawn-repro.XXXXXX)
cc -O1 -o "$W/posix_spawn_loop" "$(dirname "$0")/posix_spawn_loop.c" || exit 2
cd "$W" || exit 2
export DMTCP_CHECKPOINT_DIR=$W
"$B/dmtcp_coordinator" --daemon -q -p 0 --port-file "$W/port" || exit 2
export DMTCP_COORD_PORT=$(cat "$W/port") DMTCP_COORD_HOST=127.0.0.1
"$B/dmtcp_launch" "$W/posix_spawn_loop" > out 2>&1 &
sleep 0.5
rc=1
for i in $(seq 1 "$N"); do
  sleep "0.$((RANDOM % 3))"
  if ! m=$("$B/dmtcp_command" -bc 2>&1); then
    echo "cycle $i: dmtcp_command -bc: $m"
    break
  fi
  "$B/dmtcp_command" -k > /dev/null
  sleep 0.3
  bash "$W/dmtcp_restart_script.sh" >> out 2>&1 &
  sleep 0.5
  if grep -q FAIL out; then
    echo "REPRODUCED at cycle $i: $(grep FAIL out)"
    "$B/dmtcp_inspect" --objects "$W"/ckpt_*.dmtcp | grep ' pid '
    rc=0
    break
  fi
done
"$B/dmtcp_command" -q > /dev/null 2>&1
[ $rc = 0 ] || echo "not reproduced in $N cycles"
echo "work directory: $W"
exit $rc
