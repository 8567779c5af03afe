"""A Python program's objects, generator state and open file come back."""
import hashlib
import os
import sys
import time


def fib():
    a, b = 0, 1
    while True:
        yield a
        a, b = b, a + b


data = {i: hashlib.sha256(str(i).encode()).hexdigest() for i in range(20000)}
big = bytearray(os.urandom(1 << 20))
digest = hashlib.sha256(big).hexdigest()
gen = fib()
first = [next(gen) for _ in range(50)]
print("READY", flush=True)
go = os.environ.get("DMTCP_TEST_GO")
ticks = 0
while go and not os.path.exists(go):
    ticks += 1
    time.sleep(0.01)
ok = all(data[i] == hashlib.sha256(str(i).encode()).hexdigest()
         for i in range(20000))
ok = ok and hashlib.sha256(big).hexdigest() == digest
a, b = first[-2], first[-1]
ok = ok and next(gen) == a + b
if not ok:
    print("FAIL: state differs")
    sys.exit(1)
print("PASS", flush=True)
