# A shell waiting for a fork+exec'd command across checkpoint and restart:
# as `bash -c 'sleep 6; echo after'`, restarted mid-sleep, must print
# "after" only once the sleep is over, not at once.  Run as
# bash -c "$(cat bash_wait.sh)".  Time frozen in a checkpoint or dead
# between kill and restart does not count as sleeping, so at least 6 s of
# wall time pass; a shell that lost its child went on at once.
start=$EPOCHREALTIME
echo READY
sleep 6
end=$EPOCHREALTIME
echo after
# Microseconds, without a fork.
elapsed=$(( (${end/./} - ${start/./}) / 1000 ))
if [ "$elapsed" -lt 5800 ]; then
  echo "FAIL: sleep 6 returned to the shell after $elapsed ms"
  exit 1
fi
echo "slept $elapsed ms"
echo PASS
