"""Application API examples, plugin selection and the installed tree."""
import os
import subprocess

from checks import expect, in_order
from harness import Failure


# ---- applic-initiated-ckpt ---------------------------------------------------
def applic_initiated_ckpt(args, new, forked=False):
    s = new(name="applic-init")
    if forked:
        # dmtcp_checkpoint() returns once the image is on disk, also when a
        # copy writes it while the program runs (forked checkpoints).
        s.env["DMTCP_FORKED_CHECKPOINT"] = "1"
    # The same binary without DMTCP: the weak symbols are absent.
    env = {k: v for k, v in s.env.items() if k != "DMTCP_TEST_GO"}
    native = subprocess.run([s.prog("applic_initiated_ckpt")], env=env,
                            capture_output=True, text=True, timeout=60)
    expect(native.returncode == 0 and native.stdout.splitlines() ==
           ["applic: no DMTCP", "READY", "PASS"],
           f"native run: {native.returncode} {native.stdout!r}")
    s.start_coordinator()
    s.launch([s.prog("applic_initiated_ckpt")])
    s.wait_for_text("READY")
    launched = s.lines()
    in_order(launched, ["applic: checkpointing", "applic: after checkpoint",
                        "READY"], "launched")
    expect("applic: after restart" not in launched, "restart reported")
    expect(len(s.images()) == 1, "no image from dmtcp_checkpoint()")
    s.kill()
    s.restart()
    s.wait_for_text("READY")
    s.finish()
    restarted = s.lines()
    in_order(restarted, ["applic: after restart", "READY", "PASS"],
             "restart")
    expect("applic: after checkpoint" not in restarted and
           "applic: checkpointing" not in restarted,
           "the restarted process checkpointed again")


# ---- applic-delayed-ckpt -----------------------------------------------------
def applic_initiated_ckpt_forked(args, new):
    applic_initiated_ckpt(args, new, forked=True)


def applic_delayed_ckpt(args, new):
    s = new(name="applic-delayed")
    s.start_coordinator()
    s.launch([s.prog("applic_delayed_ckpt")], ["-i", "1"])
    s.wait_for_text("READY")
    s.finish()
    in_order(s.lines(), ["applic: checkpoints disabled",
                         "applic: a checkpoint was requested while disabled",
                         "applic: held back for a second",
                         "applic: checkpoints enabled",
                         "applic: checkpointed after enable", "READY",
                         "PASS"], "launched")


# ---- plugin selection errors ---------------------------------------------------
def selection(args, new):
    s = new(name="selection")
    s.start_coordinator()
    bad = s.path("libgarbage.so")
    with open(bad, "w") as f:
        f.write("not an ELF file\n")
    missing = "/nonexistent/libnope.so"
    cases = [
        ("missing", ["--with-plugin", missing], {}, [missing, "not found"]),
        ("missing-env", [], {"DMTCP_PLUGIN": missing},
         [missing, "not found"]),
        ("missing-second", ["--with-plugin",
                            f"{s.plugin('sleep1')}:{missing}"], {},
         [missing, "not found"]),
        ("garbage", ["--with-plugin", bad], {}, [bad, "cannot be loaded"]),
        ("unresolved", ["--with-plugin", s.plugin("unresolved")], {},
         ["cannot be loaded", "dmtcp_test_no_such_function"]),
    ]
    for label, opts, env, words in cases:
        e = dict(s.env)
        e.update(env)
        r = subprocess.run([s.tool("dmtcp_launch"), *opts,
                            s.prog("plugin_prog"), "hello"], env=e,
                           capture_output=True, text=True, timeout=60)
        err = r.stderr.strip().splitlines()
        expect(r.returncode != 0, f"{label}: exit status 0")
        expect("prog: hello" not in r.stdout, f"{label}: the program ran")
        expect(len(err) == 1, f"{label}: {len(err)} error lines: {err}")
        expect(all(w in err[0] for w in words), f"{label}: {err[0]!r}")
        s.log(f"{label}: {err[0]}")


# ---- install tree: out-of-tree plugin, installed tools -------------------------
def run(cmd, env=None, cwd=None):
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        raise Failure(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout


def install(args, new):
    probe = new(name="install")
    prefix = probe.path("prefix")
    run(["cmake", "--install", args.build, "--prefix", prefix])
    for f in ("bin/dmtcp_launch", "bin/dmtcp_checkpoint", "bin/dmtcp_restart",
              "bin/dmtcp_coordinator", "bin/dmtcp_command",
              "lib/dmtcp/libdmtcp.so", "include/dmtcp/plugin.h",
              "include/dmtcp/hook_allocator.h",
              "include/dmtcp/virtual_id_table.h",
              "include/dmtcp.h", "include/dmtcp/plugin3.h",
              "include/dmtcp/v3/kvdb.h", "include/dmtcp/v3/dmtcpalloc.h",
              "lib/pkgconfig/dmtcp.pc",
              "lib/cmake/dmtcp/dmtcpConfig.cmake"):
        expect(os.path.exists(os.path.join(prefix, f)), f"not installed: {f}")
    src = os.path.join(args.source, "out-of-tree")
    oot = probe.path("oot")
    run(["cmake", "-S", src, "-B", oot, "-G", "Ninja",
         f"-DCMAKE_PREFIX_PATH={prefix}"])
    run(["cmake", "--build", oot])
    by_cmake = os.path.join(oot, "libhello_cmake.so")
    expect(os.path.exists(by_cmake), "find_package build made no plugin")
    expect(os.path.exists(os.path.join(oot, "libv3_kvdb_cmake.so")),
           "find_package build made no 3.x plugin")
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib",
                                                        "pkgconfig"))
    cflags = run(["pkg-config", "--cflags", "dmtcp"], env=env).split()
    libs = run(["pkg-config", "--libs", "dmtcp"], env=env).split()
    incs = [os.path.realpath(f[2:]) for f in cflags if f.startswith("-I")]
    expect(os.path.realpath(os.path.join(prefix, "include")) in incs,
           f"pkg-config --cflags points elsewhere: {cflags}")
    hello = os.path.join(src, "hello.c")
    by_pc = probe.path("libhello_pc.so")
    run(["cc", "-shared", "-Wall", "-Wextra", "-Werror", *cflags,
         '-DHELLO_NAME="pkgconfig"', hello, "-o", by_pc, *libs])
    # The 3.x-style plugins, unchanged, from the installed headers.
    common = os.path.join(args.source, "common")
    v3_hooks = probe.path("libv3_hooks_pc.so")
    run(["cc", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", *cflags,
         f"-I{common}", os.path.join(args.source, "v3-hooks", "v3_hooks.c"),
         "-o", v3_hooks, *libs])
    run(["c++", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", *cflags,
         f"-I{common}", os.path.join(args.source, "v3-kvdb", "v3_kvdb.cpp"),
         "-o", probe.path("libv3_kvdb_pc.so"), *libs])
    # A stand-in internal plugin, to select it off by name.
    fake = os.path.join(prefix, "lib", "dmtcp", "libdmtcp_timer.so")
    run(["cc", "-shared", *cflags, '-DHELLO_NAME="timer"', hello, "-o",
         fake, *libs])
    s = new(bin_dir=os.path.join(prefix, "bin"), name="installed")
    s.start_coordinator()
    prog = [s.prog("plugin_prog"), "hello"]
    names = ["cmake", "pkgconfig", "timer"]
    cases = [
        ("all", "dmtcp_launch", [], {}, names),
        ("disable-option", "dmtcp_launch", ["--disable-timer-plugin"], {},
         names[:2]),
        ("disable-env", "dmtcp_checkpoint", [], {"DMTCP_TIMER_PLUGIN": "0"},
         names[:2]),
    ]
    for label, tool, opts, env, on in cases:
        e = dict(s.env)
        e.update(env)
        r = subprocess.run([s.tool(tool), "--with-plugin",
                            f"{by_cmake}:{by_pc}", *opts, *prog], env=e,
                           capture_output=True, text=True, timeout=60)
        expect(r.returncode == 0, f"{label}: {r.returncode} {r.stderr}")
        got = r.stdout.splitlines()
        want = ([f"hello({n}): INIT" for n in on]
                + [f"hello({n}): sleep" for n in on] + ["prog: hello"])
        expect(got == want, f"{label}: got {got}, want {want}")
        s.log(f"{label}: {got}")
    r = subprocess.run([s.tool("dmtcp_launch"), "--with-plugin", v3_hooks,
                        *prog], env=s.env, capture_output=True, text=True,
                       timeout=60)
    # (The stand-in timer plugin says hello too; RUNNING, from the
    # checkpoint thread, may come at any point or not before the exit.)
    got = [l for l in r.stdout.splitlines() if l.startswith(("v3-hooks",
           "prog")) and l != "v3-hooks: RUNNING"]
    want = ["v3-hooks: INIT", "v3-hooks: helpers ok", "v3-hooks: before 0",
            "v3-hooks: after", "prog: hello", "v3-hooks: EXIT"]
    expect(r.returncode == 0 and got == want,
           f"3.x plugin: {r.returncode} got {got}, want {want} {r.stderr}")
