"""The plugin scenarios run by driver.py.  Each takes (args, new_session)
and raises harness.Failure on the first broken expectation."""
import os
import re
import subprocess
import time

from checks import expect, in_order


def between(lines, start, end):
    """The lines strictly between the first `start` and the next `end`."""
    expect(start in lines, f"no line {start!r}")
    a = lines.index(start)
    expect(end in lines[a:], f"no line {end!r} after {start!r}")
    return lines[a + 1:lines.index(end, a)]


# ---- example --------------------------------------------------------------
W = "*** The plugin is being called before checkpointing. ***"
R = "*** Resume: the plugin has now been checkpointed. ***"
RS = "*** The plugin is now being restarted. ***"


def example(args, new):
    s = new(name="example")
    s.start_coordinator()
    s.launch([s.prog("plugin_prog"), "wait"],
             ["--with-plugin", s.plugin("example")])
    s.wait_for_text("READY")
    expect(W not in s.text(), "announced a checkpoint before there was one")
    s.checkpoint()
    s.wait_for_text(R)
    launched = s.lines()
    in_order(launched, ["READY", W, R], "checkpoint+resume")
    expect(launched.count(W) == 1 and launched.count(R) == 1,
           "each line once per checkpoint")
    expect(RS not in launched, "restart announced at resume")
    s.kill()
    s.restart()
    s.wait_for_text(RS)
    s.finish()
    restarted = s.lines()
    in_order(restarted, [RS, "PASS"], "restart")
    expect(W not in restarted and R not in restarted,
           "checkpoint/resume announced at restart")


# ---- sleep1 / sleep2 -------------------------------------------------------
def sleep_lines(lines):
    got = between(lines, "prog: calling sleep", "prog: sleep returned")
    real = between(lines, "prog: calling real sleep",
                   "prog: real sleep returned")
    expect(real == [], f"the real sleep went through a wrapper: {real}")
    names = []
    for line in got:
        m = re.fullmatch(r"(sleep\d): (before 1|after, elapsed ([\d.]+) s)",
                         line)
        expect(m is not None, f"unexpected line {line!r}")
        if m.group(3) is not None:
            expect(float(m.group(3)) >= 0.9, f"{line!r}: slept too little")
        names.append(f"{m.group(1)} {m.group(2).split(',')[0]}")
    return names


def sleep(args, new):
    s = new(name="sleep")
    s.start_coordinator()
    prog = [s.prog("plugin_prog"), "sleep"]
    p1, p2 = s.plugin("sleep1"), s.plugin("sleep2")
    nest_21 = ["sleep2 before 1", "sleep1 before 1", "sleep1 after",
               "sleep2 after"]
    nest_12 = ["sleep1 before 1", "sleep2 before 1", "sleep2 after",
               "sleep1 after"]
    cases = [
        ("sleep1", ["--with-plugin", p1], {}, None,
         ["sleep1 before 1", "sleep1 after"]),
        ("sleep2-sleep1", ["--with-plugin", f"{p2}:{p1}"], {}, None,
         nest_21),
        ("sleep1-sleep2", ["--with-plugin", f"{p1}:{p2}"], {}, None,
         nest_12),
        ("env", [], {"DMTCP_PLUGIN": f"{p2}:{p1}"}, None, nest_21),
        ("relative", ["--with-plugin", "./libsleep2.so:libsleep1.so"], {},
         s.tests, nest_21),
    ]
    for label, opts, env, cwd, want in cases:
        saved = dict(s.env)
        s.env.update(env)
        s.launch(prog, opts, label=label, cwd=cwd)
        s.env = saved
        rc = s.proc.wait(timeout=60)
        expect(rc == 0, f"{label}: exit status {rc}")
        got = sleep_lines(s.lines())
        expect(got == want, f"{label}: nesting {got}, expected {want}")
        s.log(f"{label}: {got}")


# ---- example-db ------------------------------------------------------------
DB = re.compile(r"example-db: (parent|child) pid (\d+) peer (\d+) "
                r"restart (\d)")


def db_round(lines, restart):
    seen = {}
    for line in lines:
        m = DB.fullmatch(line)
        if m and int(m.group(4)) == restart:
            expect(m.group(1) not in seen, f"two lines for {m.group(1)}")
            seen[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    expect(set(seen) == {"parent", "child"}, f"round {restart}: {seen}")
    (ppid, ppeer), (cpid, cpeer) = seen["parent"], seen["child"]
    expect(ppeer == cpid and cpeer == ppid,
           f"restart={restart}: parent {ppid} learned {ppeer}, child "
           f"{cpid} learned {cpeer}")
    return ppid, cpid


def example_db(args, new):
    s = new(name="example-db")
    s.env["EXAMPLE_DB_SLOW"] = "child"  # the barrier must wait for it
    s.start_coordinator()
    # Without the pid plugin the pids really change at restart, as in the
    # tutorial: what was learned before is stale and must be asked again.
    s.launch([s.prog("fork_pair")], ["--with-plugin", s.plugin("example_db"),
                                     "--disable-pid-plugin"])
    s.wait_for_text("READY")
    s.wait_running(2)
    s.checkpoint()
    s.wait_for(lambda: len([l for l in s.lines() if DB.fullmatch(l)]) >= 2,
               "both example-db lines")
    before = db_round(s.lines(), 0)
    s.kill()
    s.restart()
    s.wait_for(lambda: len([l for l in s.lines() if DB.fullmatch(l)]) >= 2,
               "both example-db lines after restart")
    after = db_round(s.lines(), 1)
    # New pids after restart: the answers cannot be remembered ones.
    expect(set(before).isdisjoint(after),
           f"pids before {before} and after restart {after} overlap")
    s.finish()
    bad = [l for l in s.lines("launched") if "FAIL" in l]
    expect(not bad, f"launched: {bad}")
    s.log(f"pids before {before}, after restart {after}")


# ---- publish/subscribe rules ---------------------------------------------
def pubsub_rules(args, new):
    s = new(name="pubsub")
    s.start_coordinator()
    s.launch([s.prog("outside_round")],
             ["--with-plugin", s.plugin("pubsub_rules")])
    s.wait_for_text("READY")
    for k in (1, 2):
        s.checkpoint()
        s.wait_for_text(f"rules: round {k} restart 0 ok")
    launched = s.lines()
    in_order(launched, ["rules: INIT outside a round refused",
                        "prog: outside-round calls refused", "READY",
                        "rules: round 1 restart 0 ok",
                        "rules: round 2 restart 0 ok"], "launched")
    bad = [l for l in launched if "FAIL" in l]
    expect(not bad, f"launched: {bad}")
    s.kill()
    s.restart()
    # The image was written before round 2's REGISTER: the restarted
    # process counts the restart round as its round 2 (and finds round 1's
    # key gone).
    s.wait_for_text("rules: round 2 restart 1 ok")
    s.finish()


# ---- safe helpers ------------------------------------------------------------
def hook_helpers(args, new):
    s = new(name="helpers")
    s.env["MALLOC_ARENA_MAX"] = "1"
    s.start_coordinator()
    s.launch([s.prog("malloc_held")],
             ["--with-plugin", s.plugin("hook_helpers")])
    s.wait_for_text("READY")
    in_order(s.lines(), ["prog: a thread holds the malloc lock", "READY"],
             "launched")
    s.checkpoint()
    s.wait_for(lambda: any("helpers: RESUME alloc ok" in l
                           for l in s.lines()), "RESUME alloc")
    got = [l.split("helpers: ")[1] for l in s.lines() if "helpers: " in l]
    expect(got == ["WRITE_CKPT alloc ok", "RESUME alloc ok"], f"{got}")
    s.kill()
    s.restart()
    s.wait_for(lambda: any("helpers: RESTART alloc ok" in l
                           for l in s.lines()), "RESTART alloc")
    s.finish()
    got = [l.split("helpers: ")[1] for l in s.lines() if "helpers: " in l]
    expect(got == ["RESTART alloc ok"], f"after restart: {got}")


from scenarios_order import (event_order, event_order_forked,  # noqa: E402
                             lifecycle)
from scenarios_misc import (applic_delayed_ckpt,  # noqa: E402
                            applic_initiated_ckpt,
                            applic_initiated_ckpt_forked, install, selection)
from scenarios_wrappers import alloc_wrappers  # noqa: E402
from scenarios_v3 import v3_hooks, v3_kvdb  # noqa: E402

ALL = {
    "example": example,
    "sleep": sleep,
    "example_db": example_db,
    "pubsub_rules": pubsub_rules,
    "hook_helpers": hook_helpers,
    "event_order": event_order,
    "event_order_forked": event_order_forked,
    "lifecycle": lifecycle,
    "applic_initiated_ckpt": applic_initiated_ckpt,
    "applic_initiated_ckpt_forked": applic_initiated_ckpt_forked,
    "applic_delayed_ckpt": applic_delayed_ckpt,
    "selection": selection,
    "install": install,
    "alloc_wrappers": alloc_wrappers,
    "v3_hooks": v3_hooks,
    "v3_kvdb": v3_kvdb,
}
