"""A python selectors program across a checkpoint: a pipe and an eventfd
(os.eventfd) registered in the default selector (epoll) with their own
data; after the go, bytes on the pipe and a value on the eventfd each
come back as one event with the right data, and the counter carried
from tick to tick is exact."""
import os
import selectors
import sys
import time

go = os.environ.get("DMTCP_TEST_GO")
sel = selectors.DefaultSelector()
assert isinstance(sel, selectors.EpollSelector), type(sel)
r, w = os.pipe()
os.set_blocking(r, False)
efd = os.eventfd(0, os.EFD_NONBLOCK)
sel.register(r, selectors.EVENT_READ, data="pipe")
sel.register(efd, selectors.EVENT_READ, data="eventfd")
ticks = 0


def tick():
    global ticks
    ticks += 1
    os.write(w, bytes([ticks % 256]))
    os.eventfd_write(efd, ticks)
    seen = {}
    deadline = time.monotonic() + 10
    while len(seen) < 2 and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=5):
            seen[key.data] = True
    if set(seen) != {"pipe", "eventfd"}:
        print(f"FAIL: tick {ticks}: events {sorted(seen)}", flush=True)
        sys.exit(1)
    b = os.read(r, 16)
    v = os.eventfd_read(efd)
    if b != bytes([ticks % 256]) or v != ticks:
        print(f"FAIL: tick {ticks}: pipe {b!r} eventfd {v}", flush=True)
        sys.exit(1)
    if sel.select(timeout=0):
        print(f"FAIL: tick {ticks}: events left over", flush=True)
        sys.exit(1)


tick()
print("READY", flush=True)
while go and not os.path.exists(go):
    tick()
    time.sleep(0.01)
tick()
print(f"ticks {ticks}")
print("PASS", flush=True)
