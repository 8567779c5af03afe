# Run as: bash -c "$(cat bash_loop.sh)"  -- a shell's variables, arrays and
# arithmetic survive, and it keeps running commands afterwards.
declare -a squares
for i in $(seq 1 500); do squares[$i]=$((i * i)); done
sum=0
for v in "${squares[@]}"; do sum=$((sum + v)); done
echo READY
n=0
# Builtins only while waiting: no child process is alive at checkpoint time.
while [ ! -e "$DMTCP_TEST_GO" ]; do
  n=$((n + 1))
  for ((k = 0; k < 3000; k++)); do :; done
done
check=0
for i in $(seq 1 500); do
  [ "${squares[$i]}" -eq $((i * i)) ] || { echo "FAIL: squares[$i]"; exit 1; }
  check=$((check + squares[$i]))
done
[ "$check" -eq "$sum" ] || { echo "FAIL: sum $check != $sum"; exit 1; }
[ "$sum" -eq 41791750 ] || { echo "FAIL: sum $sum"; exit 1; }
out=$(echo hello | tr a-z A-Z)
[ "$out" = HELLO ] || { echo "FAIL: pipeline gave $out"; exit 1; }
echo PASS
