# A shell waiting for a fork+exec'd command across checkpoint and restart:
# as `bash -c 'sleep 20; echo after'` restarted mid-sleep, it must go on
# only once the sleep is over, not at once.  Run as
# bash -c "$(cat bash_wait.sh)".  Time frozen in a checkpoint or dead
# between kill and restart does not count as sleeping, so at least 6 s of
# wall time pass; a shell that lost its child went on at once.
start=$EPOCHREALTIME
main=$BASHPID
shopt -s nullglob
# A watcher (a fork-only subshell) says READY once the foreground `sleep`
# below runs and, under DMTCP, has joined (it holds the coordinator socket
# in the protected fd range 820-899): a checkpoint taken while the child
# still execs is another matter (issue 10, item 1).  It then stays, with
# builtins only, until go.
(
  for ((i = 0; i < 2000000; i++)); do
    kids=()
    read -r -a kids < "/proc/$main/task/$main/children"
    for kid in "${kids[@]}"; do
      comm=
      read -r comm < "/proc/$kid/comm"
      joined=(/proc/$kid/fd/8[2-9][0-9])
      if [ "$comm" = sleep ] &&
         { [ -z "${DMTCP_COORD_PORT:-}" ] || [ ${#joined[@]} -gt 0 ]; }; then
        break 2
      fi
    done
  done
  for ((k = 0; k < 3000; k++)); do :; done
  echo READY
  while [ ! -e "$DMTCP_TEST_GO" ]; do
    for ((k = 0; k < 3000; k++)); do :; done
  done
) &
watcher=$!
sleep 6
status=$?
end=$EPOCHREALTIME
echo after
wait "$watcher"
[ "$status" -eq 0 ] || { echo "FAIL: sleep exited $status"; exit 1; }
# Microseconds, without a fork.
elapsed=$(( (${end/./} - ${start/./}) / 1000 ))
if [ "$elapsed" -lt 5800 ]; then
  echo "FAIL: sleep 6 returned to the shell after $elapsed ms"
  exit 1
fi
echo "slept $elapsed ms"
echo PASS
