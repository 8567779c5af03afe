"""Plugins written against the DMTCP 3.x API (dmtcp/plugin3.h), checked
like the tutorial's examples: v3-hooks (descriptor, event translation, a
wrapper, the wrapper helpers) between the two event-order recorders, and
v3-kvdb (the key-value database and dmtcp_global_barrier across two
processes) beside the tutorial's example-db in the same processes."""
import re
import time

from checks import expect, in_order
from scenarios_order import read_log
from scenarios import db_round, DB


def outer_v3_inner(event, v3_event):
    """A 3.x event on the way in: outer recorder, the descriptor, inner."""
    return [("outer", event, "-"), ("v3", v3_event, "-"),
            ("inner", event, "-")]


def inner_v3_outer(event, v3_event, flag):
    """On the way out: inner, the descriptor (after the inner plugins),
    outer."""
    return [("inner", event, flag), ("v3", v3_event, "-"),
            ("outer", event, flag)]


def both_in(event):
    return [("outer", event, "-"), ("inner", event, "-")]


def both_out(event, flag):
    return [("inner", event, flag), ("outer", event, flag)]


def ckpt_round_c():
    want = outer_v3_inner("PRESUSPEND", "PRESUSPEND")
    want += both_in("THREADS_SUSPEND")
    want += outer_v3_inner("SUSPENDED", "PRECHECKPOINT")
    for e in ("LEADER_ELECTION", "DRAIN", "WRITE_CKPT"):
        want += both_in(e)
    for e in ("RESUME", "REGISTER_NAME_SERVICE_DATA", "SEND_QUERIES"):
        want += both_out(e, "0")
    want += inner_v3_outer("REFILL", "RESUME", "0")
    want += both_out("THREADS_RESUME", "0")
    want += outer_v3_inner("WAIT_FOR_SUSPEND_MSG", "RUNNING")
    return want


def restart_round_c():
    want = []
    for e in ("RESTART", "REGISTER_NAME_SERVICE_DATA", "SEND_QUERIES"):
        want += both_out(e, "1")
    want += inner_v3_outer("REFILL", "RESTART", "1")
    want += both_out("THREADS_RESUME", "1")
    want += outer_v3_inner("WAIT_FOR_SUSPEND_MSG", "RUNNING")
    return want


def check_segment(s, log, start, want_c, want_u, what):
    total = start + len(want_c) + len(want_u)
    s.wait_for(lambda: len(read_log(log)) >= total, what)
    time.sleep(0.5)  # nothing more may come
    recs = read_log(log)[start:]
    expect(len(recs) == total - start, f"{what}: {len(recs)} log lines, "
           f"expected {total - start}")
    got_c = [r.key() for r in recs if r.kind == "C"]
    got_u = [r.key() for r in recs if r.kind == "U"]
    expect(got_c == want_c, f"{what}, checkpoint thread:\n  got  {got_c}\n"
           f"  want {want_c}")
    expect(got_u == want_u, f"{what}, user thread:\n  got  {got_u}\n"
           f"  want {want_u}")
    return recs


def v3_hooks(args, new):
    s = new(name="v3-hooks")
    log = s.path("events.log")
    s.env["DMTCP_TEST_EVENT_LOG"] = log
    s.start_coordinator()
    stack = ":".join([s.plugin("recorder_outer"), s.plugin("v3_hooks"),
                      s.plugin("recorder_inner")])
    s.launch([s.prog("plugin_prog"), "wait"], ["--with-plugin", stack])
    s.wait_for_text("READY")
    expect("v3-hooks: helpers ok" in s.lines(),
           f"helpers: {[l for l in s.lines() if 'v3-hooks' in l]}")
    # Start-up: INIT in main, then the checkpoint thread's first wait.
    recs = check_segment(s, log, 0,
                         outer_v3_inner("WAIT_FOR_SUSPEND_MSG", "RUNNING"),
                         outer_v3_inner("INIT", "INIT"), "start-up")
    n = len(recs)
    user_ckpt = both_in("PRE_SUSPEND_USER_THREAD") + inner_v3_outer(
        "RESUME_USER_THREAD", "THREAD_RESUME", "0")
    for k in (1, 2):
        s.checkpoint()
        recs = check_segment(s, log, n, ckpt_round_c(), user_ckpt,
                             f"checkpoint {k}")
        # PRESUSPEND comes while the user thread still runs: before it
        # is asked to stop.
        pre = next(r.i for r in recs if r.who == "v3" and
                   r.event == "PRESUSPEND")
        stop = next(r.i for r in recs if r.event == "PRE_SUSPEND_USER_THREAD")
        expect(pre < stop, "PRESUSPEND after the user thread was stopped")
        n += len(recs)
        s.log(f"checkpoint {k}: 3.x events in place")
    launched = s.lines()
    in_order(launched, ["READY", "v3-hooks: PRESUSPEND",
                        "v3-hooks: PRECHECKPOINT", "v3-hooks: RESUME",
                        "v3-hooks: THREAD_RESUME"], "checkpoint, stdout")
    expect("v3-hooks: RESTART" not in launched, "RESTART at resume")
    s.kill()
    s.restart()
    recs = check_segment(s, log, n, restart_round_c(),
                         inner_v3_outer("RESUME_USER_THREAD",
                                        "THREAD_RESUME", "1"), "restart")
    n += len(recs)
    s.log("restart: 3.x events in place")
    s.finish()
    restarted = s.lines()
    in_order(restarted, ["v3-hooks: RESTART", "PASS", "v3-hooks: EXIT"],
             "restart, stdout")
    expect("v3-hooks: RESUME" not in restarted and
           "v3-hooks: PRECHECKPOINT" not in restarted,
           "checkpoint events at restart")
    # EXIT: outer and inner record it on the way in, the descriptor hears
    # it after the inner plugins (3.x's reverse order).
    recs = read_log(log)[n:]
    exits = [r.key() for r in recs if r.event == "EXIT"]
    expect(exits == [("outer", "EXIT", "-"), ("inner", "EXIT", "-"),
                     ("v3", "EXIT", "-")], f"EXIT order {exits}")

    # The wrapper nests with a tutorial wrapper in --with-plugin order.
    p_v3, p_s1 = s.plugin("v3_hooks"), s.plugin("sleep1")
    for label, plugins, want in [
            ("v3-sleep1", f"{p_v3}:{p_s1}",
             ["v3-hooks before 1", "sleep1 before 1", "sleep1 after",
              "v3-hooks after"]),
            ("sleep1-v3", f"{p_s1}:{p_v3}",
             ["sleep1 before 1", "v3-hooks before 1", "v3-hooks after",
              "sleep1 after"])]:
        s.env.pop("DMTCP_TEST_EVENT_LOG", None)
        s.launch([s.prog("plugin_prog"), "sleep"], ["--with-plugin", plugins],
                 label=label)
        rc = s.proc.wait(timeout=60)
        expect(rc == 0, f"{label}: exit status {rc}")
        lines = [l.replace("v3-hooks: before", "v3-hooks before")
                  .replace("v3-hooks: after", "v3-hooks after")
                 for l in s.lines() if not l.startswith("v3-hooks: ")
                 or l.startswith(("v3-hooks: before", "v3-hooks: after"))]
        got = [l for l in lines if l.startswith(("sleep1", "v3-hooks"))]
        got = [re.sub(r", elapsed.*", "", l).replace(":", "") for l in got]
        expect(got == want, f"{label}: nesting {got}, expected {want}")
        expect("v3-hooks: helpers ok" in s.lines(), f"{label}: helpers")
        s.log(f"{label}: {got}")


V3 = re.compile(r"v3-kvdb: (parent|child) pid (\d+) peer (\d+) "
                r"arrivals (\d+) restart (\d)")


def v3_round(lines, restart, arrivals):
    seen = {}
    for line in lines:
        m = V3.fullmatch(line)
        if m and int(m.group(5)) == restart:
            expect(m.group(1) not in seen, f"two lines for {m.group(1)}")
            seen[m.group(1)] = (int(m.group(2)), int(m.group(3)),
                                int(m.group(4)))
    expect(set(seen) == {"parent", "child"}, f"round {restart}: {seen}")
    (ppid, ppeer, pa), (cpid, cpeer, ca) = seen["parent"], seen["child"]
    expect(ppeer == cpid and cpeer == ppid,
           f"restart={restart}: parent {ppid} learned {ppeer}, child "
           f"{cpid} learned {cpeer}")
    expect(pa == arrivals and ca == arrivals,
           f"restart={restart}: arrivals {pa} and {ca}, expected "
           f"{arrivals} (the barrier did not wait, or the database was "
           f"emptied)")
    return ppid, cpid


def count(s, pattern, restart):
    return len([l for l in s.lines() if (m := pattern.fullmatch(l)) and
                int(m.group(m.lastindex)) == restart])


def v3_kvdb(args, new):
    s = new(name="v3-kvdb")
    s.env["V3_KVDB_SLOW"] = "child"     # the 3.x barrier must wait for it
    s.env["EXAMPLE_DB_SLOW"] = "parent"  # and the tutorial's, the other way
    s.start_coordinator()
    s.launch([s.prog("fork_pair")],
             ["--with-plugin",
              f"{s.plugin('v3_kvdb')}:{s.plugin('example_db')}",
              "--disable-pid-plugin"])
    s.wait_for_text("READY")
    s.wait_running(2)
    expect("v3-kvdb: init set SUCCESS" in s.lines(), "INIT set")
    s.checkpoint()
    s.wait_for(lambda: count(s, V3, 0) >= 2 and count(s, DB, 0) >= 2,
               "both processes' v3-kvdb and example-db lines")
    launched = s.lines()
    before = v3_round(launched, 0, 2)
    expect(db_round(launched, 0) == before, "example-db saw other pids")
    for role in ("parent", "child"):
        expect(f"v3-kvdb: {role} precheckpoint" in launched,
               f"{role}: no PRECHECKPOINT")
    s.kill()
    s.restart()
    s.wait_for(lambda: count(s, V3, 1) >= 2 and count(s, DB, 1) >= 2,
               "both lines after restart")
    restarted = s.lines()
    after = v3_round(restarted, 1, 4)
    expect(db_round(restarted, 1) == after, "example-db after restart")
    expect(set(before).isdisjoint(after),
           f"pids before {before} and after restart {after} overlap")
    s.finish()
    for label in ("launched", "restart1"):
        bad = [l for l in s.lines(label) if "FAIL" in l]
        expect(not bad, f"{label}: {bad}")
    s.log(f"pids before {before}, after restart {after}")
