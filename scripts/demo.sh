#!/usr/bin/env bash
# The main job: a live program is checkpointed, killed, and restarted from
# its image, visibly continuing where it was.  DMTCP_BIN picks the tools
# (default: build/bin; scripts/test_deb.sh runs it with the installed ones).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${DMTCP_BIN:-$PWD/build/bin}
work=$(mktemp -d /tmp/dmtcp-demo-XXXXXX)
cd "$work"
cat > counter.py <<'PROG'
import time
total = 0
for i in range(1, 41):
    total += i
    print(f"counter: {i}  (running total {total})", flush=True)
    time.sleep(0.25)
print(f"counter: finished, total {total} (expected {sum(range(1, 41))})")
PROG
"$bin/dmtcp_coordinator" --daemon --exit-on-last -q -p 0 --port-file port
export DMTCP_COORD_PORT=$(cat port)
echo "== launching a counter under DMTCP (coordinator port $DMTCP_COORD_PORT)"
"$bin/dmtcp_launch" python3 counter.py &
pid=$!
sleep 2
echo "== checkpointing"
"$bin/dmtcp_command" --bcheckpoint
sleep 1
echo "== killing the program (pid $pid)"
kill -9 $pid; wait $pid 2>/dev/null || true
echo "== restarting from $(ls ckpt_*.dmtcp)"
"$bin/dmtcp_restart" ckpt_*.dmtcp
echo "== the restarted program finished; images were in $work"
