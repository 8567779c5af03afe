"""Wrappers called through NEXT_FNC in awkward places (alloc-wrappers/)."""
import subprocess

from checks import expect, in_order

AFTER_DLSYM = "alloc: the dlsym after a failed one returned"
COUNTED = "alloc: every call counted"


# ---- alloc-wrappers --------------------------------------------------------
def alloc_wrappers(args, new):
    s = new(name="alloc-wrappers")
    # The program alone: no counters, contents still checked.
    env = {k: v for k, v in s.env.items() if k != "DMTCP_TEST_GO"}
    native = subprocess.run([s.prog("alloc_churn")], env=env,
                            capture_output=True, text=True, timeout=60)
    expect(native.returncode == 0 and native.stdout.splitlines() ==
           [AFTER_DLSYM, "alloc: no wrappers", "READY", "PASS"],
           f"native run: {native.returncode} {native.stdout!r}")
    s.start_coordinator()
    s.launch([s.prog("alloc_churn")],
             ["--with-plugin", s.plugin("alloc_wrappers")])
    s.wait_for_text("READY")
    s.checkpoint()
    s.wait_for_text("alloc: churned after resume")
    launched = s.lines()
    in_order(launched, [AFTER_DLSYM, COUNTED, "READY",
                        "alloc-wrappers: RESUME",
                        "alloc: churned after resume"], "launched")
    bad = [l for l in launched if "FAIL" in l]
    expect(not bad, f"launched: {bad}")
    s.kill()
    s.restart()
    s.wait_for_text("alloc: churned after restart")
    s.finish()
    restarted = s.lines()
    in_order(restarted, ["alloc-wrappers: RESTART",
                         "alloc: churned after restart", COUNTED, "PASS"],
             "restart")
    expect("alloc-wrappers: RESUME" not in restarted, "RESUME at restart")
