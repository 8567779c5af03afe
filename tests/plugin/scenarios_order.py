"""Event order (SPEC section 4) as recorded by the two stacked recorder
plugins (event-order/recorder.c): --with-plugin outer:inner."""
import time

from checks import expect
from harness import Failure

IN = ["THREADS_SUSPEND", "SUSPENDED", "LEADER_ELECTION", "DRAIN",
      "WRITE_CKPT"]
OUT_CKPT = ["RESUME", "REGISTER_NAME_SERVICE_DATA", "SEND_QUERIES", "REFILL",
            "THREADS_RESUME"]
OUT_RESTART = ["RESTART", "REGISTER_NAME_SERVICE_DATA", "SEND_QUERIES",
               "REFILL", "THREADS_RESUME"]


class Rec:
    """One log line: who, event, thread kind, tid, pid, flag."""

    def __init__(self, index, line):
        f = line.split(" ")
        expect(len(f) == 6, f"bad log line {line!r}")
        self.i = index
        self.who, self.event, self.kind = f[0], f[1], f[2]
        self.tid, self.pid, self.flag = int(f[3]), int(f[4]), f[5]

    def key(self):
        return (self.who, self.event, self.flag)


def read_log(path):
    try:
        with open(path) as f:
            return [Rec(i, l.rstrip("\n")) for i, l in enumerate(f)]
    except FileNotFoundError:
        return []


def way_in(event):
    return [("outer", event, "-"), ("inner", event, "-")]


def way_out(event, flag):
    return [("inner", event, flag), ("outer", event, flag)]


def index_of(recs, who, event):
    for r in recs:
        if r.who == who and r.event == event:
            return r.i
    raise Failure(f"no {who} {event}")


def check_round(seg, restart, user_tids=None):
    flag = "1" if restart else "0"
    ckpt = [r for r in seg if r.kind == "C"]
    want = []
    if not restart:
        for e in IN:
            want += way_in(e)
    for e in (OUT_RESTART if restart else OUT_CKPT):
        want += way_out(e, flag)
    want += way_in("WAIT_FOR_SUSPEND_MSG")
    got = [r.key() for r in ckpt]
    expect(got == want, "checkpoint thread order:\n  got  "
           + "\n       ".join(map(str, got)) + "\n  want "
           + "\n       ".join(map(str, want)))
    expect(len({r.tid for r in ckpt}) == 1, "checkpoint events in 2 threads")
    expect(len({r.pid for r in seg}) == 1, "events from two processes")
    users = {}
    for r in seg:
        if r.kind == "U":
            users.setdefault(r.tid, []).append(r)
    expect(len(users) == 4, f"{len(users)} user threads, expected 4")
    expect(ckpt[0].tid not in users, "checkpoint thread recorded as user")
    if user_tids is not None:
        expect(set(users) == set(user_tids),
               f"user threads {sorted(users)} != {sorted(user_tids)}")
    per_thread = [] if restart else way_in("PRE_SUSPEND_USER_THREAD")
    per_thread += way_out("RESUME_USER_THREAD", flag)
    resume_at = index_of(ckpt[::-1], "outer", "THREADS_RESUME")
    for tid, recs in users.items():
        got = [r.key() for r in recs]
        expect(got == per_thread, f"user thread {tid}: {got}")
        for r in recs:
            if r.event == "PRE_SUSPEND_USER_THREAD":
                expect(r.i < index_of(ckpt, "outer", "THREADS_SUSPEND"),
                       f"thread {tid} suspended after THREADS_SUSPEND")
            else:
                expect(r.i > resume_at,
                       f"thread {tid} resumed before THREADS_RESUME")
    return sorted(users)


def settle(s, path, count, what):
    s.wait_for(lambda: len(read_log(path)) >= count, what)
    time.sleep(0.5)  # nothing more may come
    recs = read_log(path)
    expect(len(recs) == count, f"{what}: {len(recs)} log lines, expected "
           f"{count}")
    return recs


def event_order(args, new, forked=False):
    s = new(name="order")
    log = s.path("events.log")
    s.env["DMTCP_TEST_EVENT_LOG"] = log
    if forked:
        # Forked checkpoints: the same events in the same order (the image
        # is written by a copy after WRITE_CKPT; docs/plugins.md).
        s.env["DMTCP_FORKED_CHECKPOINT"] = "1"
    s.start_coordinator()
    s.launch([s.prog("four_threads")], ["--with-plugin",
             f"{s.plugin('recorder_outer')}:{s.plugin('recorder_inner')}"])
    s.wait_for_text("READY")
    # Start-up: INIT in main, 3 x (THREAD_START, PTHREAD_START in the new
    # thread, THREAD_CREATED in main), WAIT_FOR_SUSPEND_MSG: 2 + 18 + 2.
    start = settle(s, log, 22, "start-up events")
    main_tid = start[0].tid
    expect([r.key() for r in start[:2]] == way_in("INIT") and
           start[0].kind == "U", f"INIT first: {[r.key() for r in start]}")
    ckpt = [r for r in start if r.kind == "C"]
    expect([r.key() for r in ckpt] == way_in("WAIT_FOR_SUSPEND_MSG"),
           f"checkpoint thread at start: {[r.key() for r in ckpt]}")
    created = [r for r in start if r.event == "THREAD_CREATED"]
    expect(len(created) == 6 and all(r.tid == main_tid for r in created),
           "THREAD_CREATED in the creating thread")
    workers = {r.tid for r in start if r.event in ("THREAD_START",
                                                   "PTHREAD_START")}
    expect(len(workers) == 3 and main_tid not in workers,
           "THREAD_START/PTHREAD_START in each new thread")
    for tid in workers:
        got = [r.key() for r in start if r.tid == tid]
        expect(got == way_in("THREAD_START") + way_in("PTHREAD_START"),
               f"new thread {tid}: {got}")
    tids = sorted(workers | {main_tid})
    n = len(start)
    for k in (1, 2):
        s.checkpoint()
        recs = settle(s, log, n + 38, f"checkpoint {k}")
        check_round(recs[n:], False, tids)
        n = len(recs)
        s.log(f"checkpoint {k}: order ok")
    s.kill()
    s.restart()
    recs = settle(s, log, n + 20, "restart")
    check_round(recs[n:], True)
    s.log("restart: order ok")
    s.finish()


def event_order_forked(args, new):
    event_order(args, new, forked=True)


def lifecycle(args, new):
    s = new(name="lifecycle")
    log = s.path("events.log")
    s.env["DMTCP_TEST_EVENT_LOG"] = log
    s.start_coordinator()
    s.launch([s.prog("lifecycle")], ["--with-plugin",
             f"{s.plugin('recorder_outer')}:{s.plugin('recorder_inner')}"])
    rc = s.proc.wait(timeout=60)
    expect(rc == 0, f"exit status {rc}: {s.text()}")
    recs = read_log(log)
    prog = {r.event: r for r in recs if r.who == "prog"}
    parent, child = prog["main"].pid, prog["child"].pid
    expect(parent != child, "fork child has the parent's pid")

    def seq(pred):
        return [(r.who, r.event, r.flag) if r.who != "prog"
                else ("prog", r.event) for r in recs if pred(r)]

    main_tid = prog["main"].tid
    want = (way_in("INIT") + [("prog", "main")] + way_in("THREAD_CREATED")
            + way_in("THREAD_CREATED") + [("prog", "fork")]
            + way_in("ATFORK_PREPARE") + way_in("ATFORK_PARENT")
            + [("prog", "end")] + way_in("EXIT"))
    got = seq(lambda r: r.pid == parent and r.tid == main_tid)
    expect(got == want, f"main thread:\n  got  {got}\n  want {want}")
    for name, last in (("thread-returns", "PTHREAD_RETURN"),
                       ("thread-exits", "PTHREAD_EXIT")):
        tid = prog[name].tid
        want = (way_in("THREAD_START") + way_in("PTHREAD_START")
                + [("prog", name)] + way_in(last))
        got = seq(lambda r: r.tid == tid)
        expect(got == want, f"{name}:\n  got  {got}\n  want {want}")
    state = [(w, "POST_EXEC", f"{w}:state-from-{child}")
             for w in ("outer", "inner")]
    want = (way_in("ATFORK_CHILD") + [("prog", "child")]
            + way_in("PRE_EXEC") + state + way_in("INIT")
            + [("prog", "after-exec")] + way_in("EXIT"))
    got = seq(lambda r: r.pid == child and r.kind == "U")
    expect(got == want, f"child:\n  got  {got}\n  want {want}")
    prepare = index_of([r for r in recs if r.pid == parent], "inner",
                       "ATFORK_PREPARE")
    first_child = min(r.i for r in recs if r.pid == child)
    expect(first_child > prepare, "child events before ATFORK_PREPARE")
    # INIT comes before the checkpoint thread starts (in the child: the
    # new image's thread; the old image's may still record up to the exec,
    # so look only after POST_EXEC).  A short-lived process may end before
    # its checkpoint thread records anything, hence "every".
    after = {parent: -1, child: index_of([r for r in recs if r.pid == child],
                                          "inner", "POST_EXEC")}
    for pid in (parent, child):
        last_init = max(r.i for r in recs if r.pid == pid and
                        r.event == "INIT")
        early = [r.i for r in recs if r.pid == pid and r.kind == "C" and
                 after[pid] < r.i < last_init]
        expect(not early, f"pid {pid}: the checkpoint thread ran before INIT")
