# A shell loop with constant process churn (tests/e2e/real_programs.py,
# case churn): each turn runs a pipeline through tr and sed and a sleep, so
# several short-lived processes start and end every second, and checks what
# the pipeline printed.  Runs until $DMTCP_TEST_GO exists, then prints
# "turns N wrong M" and PASS when M is 0.
# Run as: bash -c "$(cat churn.sh)" (the shell keeps no fd on the script).
n=0
wrong=0
echo READY
while [ ! -e "$DMTCP_TEST_GO" ]; do
  n=$((n + 1))
  out=$(echo "turn $n of the churn" | tr a-z A-Z | sed -e 's/TURN/T/' -e 's/ OF THE / /')
  if [ "$out" != "T $n CHURN" ]; then
    echo "WRONG turn $n: '$out'"
    wrong=$((wrong + 1))
  fi
  sleep 0.05
done
echo "turns $n wrong $wrong"
[ "$n" -gt 0 ] && [ "$wrong" -eq 0 ] && echo PASS
