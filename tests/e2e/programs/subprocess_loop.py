"""A Python program that keeps starting short children with subprocess.run
while it is checkpointed (tests/e2e/real_programs.py, case subprocess).

Every child's exit status and output are checked: a checkpoint must never
make a child exit, lose its output or change its status.  Prints READY after
the first round of children, loops until $DMTCP_TEST_GO exists (and at least
`min_rounds` rounds ran), then prints one line per wrong child, a summary
line "children N wrong M" and PASS when M is 0.
"""
import os
import subprocess
import sys
import time

go = os.environ.get("DMTCP_TEST_GO")
min_rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
children = 0
wrong = []


def expect(argv, status, out, stdin=None):
    global children
    children += 1
    r = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if r.returncode != status or r.stdout != out:
        wrong.append(f"{argv!r}: status {r.returncode} (want {status}), "
                     f"stdout {r.stdout!r} (want {out!r}), "
                     f"stderr {r.stderr.strip()!r}")


def one_round(i):
    expect(["/bin/echo", "child", str(i)], 0, f"child {i}\n")
    expect(["/bin/true"], 0, "")
    expect(["/bin/false"], 1, "")
    expect(["/bin/sh", "-c", f"echo sh {i}; exit 3"], 3, f"sh {i}\n")
    expect(["/usr/bin/tr", "a-z", "A-Z"], 0, f"ROUND {i}\n",
           stdin=f"round {i}\n")


rounds = 0
one_round(rounds)
rounds += 1
print("READY", flush=True)
while rounds < min_rounds or (go and not os.path.exists(go)):
    one_round(rounds)
    rounds += 1
for w in wrong:
    print(f"WRONG CHILD {w}")
print(f"children {children} wrong {len(wrong)}", flush=True)
if not wrong:
    print("PASS")
    sys.exit(0)
print("FAIL")
sys.exit(1)
