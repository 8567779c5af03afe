#!/usr/bin/env python3
"""dmtcp_inspect on real images of tests/inspect/inspect_target.c, whose
state the test knows exactly (see that file).

  view     header (program, pid, generation, ...), the two regions the
           program mapped (address, size, perms, stored and skipped bytes),
           as text and as JSON parsed here; a corrupt or foreign file gives
           one line and exit 1, never a crash
  verify   the intact image passes (exit 0); a flipped byte in the data
           region's pages, a truncated copy and a damaged trailer each give
           exit 1 and name the right place (the region, or the trailer)
  diff     generations 1 and 2 (the program rewrote one page between them):
           the header's generation and exactly that page are reported
  decoder  a plugin's own notes, decoded by its own library (--decoder),
           listed undecoded without it, and compared by --diff
  existing images of existing end-to-end programs (memory, threads,
           shared memory, fork and exec, mutexes): intact, every region
           accounted for, threads, views parse
"""
import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
from failure_modes import Env, Failure, check, one_line_error  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
DATA = 0x5a5a00000000
READ_ONLY = 0x5a5b00000000
PAGE = 4096
ARGS = ["alpha", "two words", "--gamma=3"]


def inspect(e, *args):
    r, _ = e.run([e.tool("dmtcp_inspect"), *args], timeout=60)
    check(r.returncode < 128, f"dmtcp_inspect {args} died: {r.returncode}")
    return r


def inspect_json(e, *args):
    r = inspect(e, "--json", *args)
    try:
        return r, json.loads(r.stdout)
    except ValueError as ex:
        raise Failure(f"--json {args}: not JSON ({ex}): {r.stdout[:400]!r}")


def region_at(img, start):
    for reg in img["regions"]:
        if int(reg["start"], 16) == start:
            return reg
    raise Failure(f"no region at {start:#x} in {img['image']}")


class Program:
    """Launches inspect_target, takes generation 1 (copied aside) and, after
    the program changed a page, generation 2."""

    def __init__(self, e, *launch_opts):
        self.e = e
        self.change = os.path.join(e.work, "change")
        env = dict(e.env, INSPECT_CHANGE=self.change)
        self.proc = e.launch(*launch_opts,
                             os.path.join(e.tests, "inspect_target"), *ARGS,
                             env=env)
        out = open(os.path.join(e.work, "prog.out")).read()
        self.pid = int(out.split("PID ")[1].split()[0])
        self.fd = int(out.split("FD ")[1].split()[0])
        self.pipe = [int(x) for x in out.split("PIPE ")[1].split()[:2]]
        self.timer = int(out.split("TIMER ")[1].split()[0])
        self.eventfd = int(out.split("EVENTFD ")[1].split()[0])
        self.sem = int(out.split("SEM ")[1].split()[0])
        self.gen1 = self.checkpoint("gen1")

    def checkpoint(self, name):
        r, _ = self.e.run([self.e.tool("dmtcp_command"), "-bc"], timeout=120)
        check(r.returncode == 0, f"checkpoint failed: {r.stdout}{r.stderr}")
        copy = os.path.join(self.e.work, f"{name}.img")
        shutil.copyfile(self.e.image(), copy)
        return copy

    def second_generation(self):
        open(self.change, "w").close()
        out = os.path.join(self.e.work, "prog.out")
        deadline = time.time() + 30
        while "CHANGED" not in open(out).read():
            check(time.time() < deadline, "program never changed its page")
            time.sleep(0.02)
        return self.checkpoint("gen2")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        # The semaphore set outlives the program: not ours to leave.
        subprocess.run(["ipcrm", "-s", str(self.sem)], capture_output=True)


def check_plugin_objects(img, p, built):
    """The objects of the plugins this build has (each alone in a
    -DDMTCP_PLUGINS build)."""
    h = img["header"]
    if "libdmtcp_file.so" in built:
        check_file_objects(img, p)
    if "libdmtcp_pid.so" in built:
        check_pid_objects(img, p, h)
    if "libdmtcp_timer.so" in built:
        check_timer_objects(img, p)
    if "libdmtcp_event.so" in built:
        # The event plugin's eventfd, its counter saved by this process.
        mine = [o for o in img["objects"] if o["owner"] == "event"]
        check(mine == [{"owner": "event", "kind": "eventfd",
                        "fd": p.eventfd, "flags": os.O_RDWR, "leader": 1,
                        "saved_by": p.pid, "count": 7, "semaphore": 0}],
              f"the eventfd: {mine}")
    if "libdmtcp_sysvipc.so" in built:
        # The sysvipc plugin's semaphore set, saved by this process.
        mine = [o for o in img["objects"] if o["owner"] == "sysvipc"]
        check(mine == [{"owner": "sysvipc", "kind": "sem", "id": p.sem,
                        "real_id": p.sem, "key": 0, "saver": 1}],
              f"the semaphore set: {mine}")


def check_file_objects(img, p):
    e_work = os.path.dirname(p.gen1)
    # The file plugin's objects: the file at offset 3, the pipe's ends
    # with its 5 unread bytes saved (this process is the leader of both).
    fds = {o["fd"]: o for o in img["objects"]
           if o["owner"] == "file" and o["kind"] == "fd"}
    f = fds.get(p.fd)
    check(f is not None and f["type"] == "file" and
          f["path"] == os.path.join(e_work, "inspect.data") and
          f["offset"] == 3 and f["flags"] == "O_RDWR" and f["cloexec"] == 1,
          f"the file at fd {p.fd}: {f}")
    r_end, w_end = fds.get(p.pipe[0]), fds.get(p.pipe[1])
    check(r_end is not None and r_end["type"] == "pipe" and
          r_end["end"] == "read" and r_end["saved_bytes"] == 5 and
          r_end["leader"] == 1 and r_end["saved_by"] == p.pid,
          f"the pipe's read end: {r_end}")
    check(w_end is not None and w_end["type"] == "pipe" and
          w_end["end"] == "write", f"the pipe's write end: {w_end}")
    check(all(fd in fds for fd in (0, 1, 2)), f"fds 0-2: {sorted(fds)}")


def check_pid_objects(img, p, h):
    # The pid plugin's table: at least this process and its main thread.
    pids = [(o["virtual"], o["real"]) for o in img["objects"]
            if o["owner"] == "pid" and o["kind"] == "pid"]
    check((p.pid, h["real_pid"]) in pids, f"pid table {pids}")


def check_timer_objects(img, p):
    # The timer plugin's POSIX timer: armed for 1000 s (a little has
    # passed), every 100 s.
    timers = [o for o in img["objects"] if o["owner"] == "timer"]
    check(len(timers) == 1, f"timers {timers}")
    t = timers[0]
    check(t["kind"] == "posix timer" and t["id"] == p.timer and
          t["clock"] == "CLOCK_MONOTONIC" and t["notify"] == "none" and
          t["interval_ns"] == 100 * 10**9 and
          900 * 10**9 < t["left_ns"] <= 1000 * 10**9, f"the timer: {t}")


def test_view(e):
    p = Program(e)
    p.stop()
    r, imgs = inspect_json(e, p.gen1)
    check(r.returncode == 0, f"view failed: {r.stderr}")
    check(isinstance(imgs, list) and len(imgs) == 1, f"one image: {imgs}")
    img = imgs[0]
    h = img["header"]
    check(h["program"] == "inspect_target", f"program {h['program']!r}")
    check(h["pid"] == p.pid, f"pid {h['pid']}, the program said {p.pid}")
    check(h["real_pid"] > 0, f"real pid {h['real_pid']}")
    check(h["generation"] == 1, f"generation {h['generation']}")
    check(h["format_version"] >= 4, f"format {h['format_version']}")
    check(h["uid"] == os.getuid(), f"uid {h['uid']}")
    check(h["host"] == os.uname().nodename, f"host {h['host']}")
    check(h["computation_id"] != "", "no computation id")
    check(abs(h["time_ns"] / 1e9 - time.time()) < 600, f"time {h['time']}")
    # The runtime's notes: arguments, libraries, cwd; threads.
    check(h["args"] == [os.path.join(e.tests, "inspect_target"), *ARGS],
          f"args {h['args']}")
    # Every library dmtcp_launch preloads by default: the runtime and each
    # internal plugin this build has (the checks below depend on them).
    built = sorted(f for f in os.listdir(os.path.join(e.bin, "..", "lib",
                                                      "dmtcp"))
                   if f.startswith("libdmtcp") and f.endswith(".so"))
    check(sorted(h["plugins"]) == built,
          f"plugins {h['plugins']}, this build has {built}")
    check(h["cwd"] == os.getcwd(), f"cwd {h['cwd']}, expected {os.getcwd()}")
    roles = sorted(t["role"] for t in img["threads"])
    check(roles == ["checkpoint", "main"], f"threads {img['threads']}")
    main = [t for t in img["threads"] if t["role"] == "main"][0]
    check(main["tid"] == p.pid, f"main thread {main}, pid {p.pid}")

    data = region_at(img, DATA)
    check(data["size"] == 16 * PAGE, f"data region size {data['size']}")
    check(data["end"] == hex(DATA + 16 * PAGE), f"end {data['end']}")
    check(data["perms"] == "rw-p", f"perms {data['perms']}")
    check(data["backing"] == "anonymous" and data["name"] == "",
          f"backing {data['backing']} {data['name']!r}")
    check(data["data_bytes"] == 8 * PAGE, f"data {data['data_bytes']}")
    check(data["skipped_bytes"] == 8 * PAGE and
          data["skipped_kind"] == "zero", f"skipped {data}")
    # Random bytes do not compress: stored raw, one chunk per page.
    check(data["stored_bytes"] == 8 * PAGE, f"stored {data['stored_bytes']}")
    check(data["chunks"] == 8, f"chunks {data['chunks']}")
    ro = region_at(img, READ_ONLY)
    check(ro["perms"] == "r--p" and ro["size"] == 4 * PAGE and
          ro["data_bytes"] == 4 * PAGE, f"read-only region {ro}")
    check_plugin_objects(img, p, built)
    # Every byte of every region is accounted for.
    for reg in img["regions"]:
        check(reg["data_bytes"] + reg["skipped_bytes"] == reg["size"],
              f"region {reg['start']} does not add up: {reg}")
    t = img["totals"]
    check(t["stored_bytes"] == sum(x["stored_bytes"] for x in img["regions"])
          and t["regions"] == len(img["regions"]), f"totals {t}")
    check(t["stored_bytes"] < os.path.getsize(p.gen1), "stored > file")

    # The text view says the same things.
    r = inspect(e, p.gen1)
    check(r.returncode == 0 and r.stderr == "", f"text view: {r.stderr}")
    text = r.stdout
    for want in ("inspect_target", f"{p.pid} (real", "0x5a5a00000000-"
                 "0x5a5a00010000", "rw-p", "r--p", "alpha 'two words' "
                 "--gamma=3", f"tid {p.pid} (real"):
        check(want in r.stdout, f"text view lacks {want!r}:\n{r.stdout}")
    r = inspect(e, "--header", p.gen1)
    check("inspect_target" in r.stdout and "0x5a5a" not in r.stdout and
          "type=pipe" not in r.stdout, f"--header shows more:\n{r.stdout}")
    if "libdmtcp_file.so" in built:
        check(f"file fd fd={p.fd} type=file path=" in text,
              f"the text view lacks fd {p.fd}:\n{text}")
        r = inspect(e, "--objects", p.gen1)
        check("type=pipe" in r.stdout and "0x5a5a" not in r.stdout,
              f"--objects:\n{r.stdout}")

    # Bad input: one line, exit 1, other images still shown.
    bad = os.path.join(e.work, "bad.img")
    good = open(p.gen1, "rb").read()
    for name, content in (("empty", b""), ("foreign", b"#!/bin/sh\n" * 50),
                          ("header only", good[:100]),
                          ("half", good[:len(good) // 2])):
        with open(bad, "wb") as f:
            f.write(content)
        r = inspect(e, bad)
        line = one_line_error(r, name)
        check(r.returncode == 1 and bad in line, f"{name}: {line}")
        r = inspect(e, bad, p.gen1)
        check(r.returncode == 1 and "inspect_target" in r.stdout,
              f"{name}: the good image after it is not shown")
        print(f"  {name}: {line}")
    r = inspect(e, "--bogus", p.gen1)
    check(r.returncode == 2, f"unknown option: exit {r.returncode}")


def verify_damaged(e, path, content, where, region=None):
    with open(path, "wb") as f:
        f.write(content)
    r, res = inspect_json(e, "--verify", path)
    check(r.returncode == 1, f"{where}: --verify exit {r.returncode}")
    res = res[0]
    check(not res["intact"] and res["where"] == where,
          f"expected damage in the {where}: {res}")
    if region is not None:
        check(res["region"] is not None and
              int(res["region"]["start"], 16) == region,
              f"first bad region should be {region:#x}: {res}")
    r = inspect(e, "--verify", path)
    check(r.returncode == 1, f"{where}: text --verify exit {r.returncode}")
    lines = r.stdout.splitlines()
    check(len(lines) == 1 and "DAMAGED" in lines[0],
          f"{where}: not one line: {r.stdout!r}")
    if region is not None:
        check(f"first bad region {res['region']['index']} [{region:#x}-" in
              lines[0], f"{where}: the region is not named: {lines[0]}")
    print(f"  {where}: {lines[0]}")


def test_verify(e):
    p = Program(e)
    p.stop()
    r, res = inspect_json(e, "--verify", p.gen1)
    check(r.returncode == 0 and res[0]["intact"], f"intact image: {res}")
    r = inspect(e, "--verify", p.gen1)
    check(r.returncode == 0 and "intact" in r.stdout, f"text: {r.stdout}")

    good = open(p.gen1, "rb").read()
    # The data region's page 0 is stored raw: find it by its bytes.
    seed = 1000
    page0 = bytearray()
    while len(page0) < 64:
        seed ^= seed >> 12
        seed ^= (seed << 25) & (2**64 - 1)
        seed ^= seed >> 27
        page0 += ((seed * 2685821657736338717) % 2**64).to_bytes(8, "little")
    at = good.find(bytes(page0))
    check(at > 0, "page 0 of the data region is not in the image raw")
    bad = os.path.join(e.work, "damaged.img")
    flipped = bytearray(good)
    flipped[at + 100] ^= 0x10
    verify_damaged(e, bad, bytes(flipped), "region", DATA)
    verify_damaged(e, bad, good[:at + 2000], "region", DATA)
    trailer = bytearray(good)
    trailer[-3] ^= 1  # the trailer's own checksum
    verify_damaged(e, bad, bytes(trailer), "trailer")
    verify_damaged(e, bad, good[:-10], "truncated")
    # Without --verify, a flipped data byte is not looked for (raw pages
    # are passed over), but the trailer is always checked.
    with open(bad, "wb") as f:
        f.write(bytes(trailer))
    r = inspect(e, bad)
    one_line_error(r, "view of a bad trailer")


def test_diff(e):
    p = Program(e)
    gen2 = p.second_generation()
    p.stop()
    r, d = inspect_json(e, "--diff", p.gen1, gen2)
    check(r.returncode == 1, f"--diff exit {r.returncode}: {r.stderr}")
    gens = [h for h in d["header"] if h["field"] == "generation"]
    check(gens == [{"field": "generation", "a": 1, "b": 2}],
          f"generation change: {d['header']}")
    data = [x for x in d["regions"] if int(x["start"], 16) == DATA]
    check(len(data) == 1 and data[0]["change"] == "changed" and
          data[0]["fields"] == [] and data[0]["contents_differ"] ==
          [[hex(DATA + 4 * PAGE), hex(DATA + 5 * PAGE)]],
          f"the changed page: {data}")
    check(not [x for x in d["regions"] if int(x["start"], 16) == READ_ONLY],
          "the read-only region did not change")
    r = inspect(e, "--diff", p.gen1, gen2)
    want = (f"region [{DATA:#x}-{DATA + 16 * PAGE:#x}) rw-p: contents differ "
            f"in [{DATA + 4 * PAGE:#x}-{DATA + 5 * PAGE:#x})")
    check(r.returncode == 1 and want in r.stdout and
          "header generation: 1 -> 2" in r.stdout,
          f"text diff lacks {want!r}:\n{r.stdout}")
    r = inspect(e, "--diff", p.gen1, p.gen1)
    check(r.returncode == 0, f"an image against itself: exit {r.returncode}")


def test_decoder(e):
    """A plugin's own notes and decoder (tests/inspect/note_plugin.c)."""
    lib = os.path.join(e.tests, "libinspect_note.so")
    p = Program(e, "--with-plugin", lib)
    gen2 = p.second_generation()
    p.stop()
    out = open(os.path.join(e.work, "prog.out")).read()
    check("NOTE" not in out, f"the plugin complained: {out}")
    r, imgs = inspect_json(e, "--decoder", lib, "--objects", p.gen1, gen2)
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    for img, value in zip(imgs, (42, 43)):
        mine = [o for o in img["objects"] if o["owner"] == "example"]
        check(mine == [{"owner": "example", "kind": "counter",
                        "value": value}], f"{img['image']}: {mine}")
        check("libinspect_note.so" not in img.get("header", {}).get(
            "plugins", []), "--objects shows the header")
    # Without the decoder the note is still listed, undecoded.
    r, imgs = inspect_json(e, "--objects", p.gen1)
    mine = [o for o in imgs[0]["objects"] if o["owner"] == "example"]
    check(mine == [{"owner": "example", "kind": "note", "type": 1, "size": 8,
                    "decoded": "no decoder"}], f"undecoded: {mine}")
    r, imgs = inspect_json(e, "--header", p.gen1)
    check("libinspect_note.so" in imgs[0]["header"]["plugins"],
          f"plugins: {imgs[0]['header']['plugins']}")
    # --diff lists the object that changed.
    r, d = inspect_json(e, "--decoder", lib, "--diff", p.gen1, gen2)
    changed = sorted((o["change"], o["object"]["value"]) for o in d["objects"]
                     if o["object"]["owner"] == "example")
    check(changed == [("only in a", 42), ("only in b", 43)],
          f"objects diff: {d['objects']}")
    # A library that is not there: one line, exit 2.
    r = inspect(e, "--decoder", os.path.join(e.work, "nope.so"), p.gen1)
    line = one_line_error(r, "missing decoder")
    check(r.returncode == 2 and "nope.so" in line, f"missing decoder: {line}")


EXISTING = [("e2e_memory", "8"), ("e2e_threads",), ("e2e_shared_mem", "memfd"),
            ("e2e_fork_exec",), ("e2e_mutexes",)]


def test_existing(e):
    """Images of the existing end-to-end programs: each verifies intact,
    every region's bytes add up, the stored bytes fit in the file, every
    process has its main and checkpoint threads, and the views parse."""
    for prog in EXISTING:
        e.new_coordinator()
        p = e.launch(os.path.join(e.tests, prog[0]), *prog[1:])
        r, _ = e.run([e.tool("dmtcp_command"), "-bc"], timeout=120)
        check(r.returncode == 0, f"{prog}: checkpoint failed: {r.stderr}")
        e.run([e.tool("dmtcp_command"), "-k"])
        p.wait()
        images = sorted(os.path.join(e.work, f) for f in os.listdir(e.work)
                        if f.endswith(".dmtcp"))
        check(images, f"{prog}: no image")
        r, res = inspect_json(e, "--verify", *images)
        check(r.returncode == 0 and all(x["intact"] for x in res),
              f"{prog}: --verify {res}")
        r, imgs = inspect_json(e, *images)
        check(r.returncode == 0 and len(imgs) == len(images),
              f"{prog}: view {r.stderr}")
        for img in imgs:
            name = os.path.basename(img["image"])
            for reg in img["regions"]:
                check(reg["data_bytes"] + reg["skipped_bytes"] == reg["size"]
                      and reg["stored_bytes"] <= reg["data_bytes"] + 4096 *
                      reg["chunks"], f"{name}: region {reg}")
            check(img["totals"]["stored_bytes"] < img["file_size"],
                  f"{name}: stored more than the file holds")
            roles = [t["role"] for t in img["threads"]]
            check(roles.count("main") == 1 and roles.count("checkpoint") == 1,
                  f"{name}: threads {img['threads']}")
            check(img["header"]["program"] == prog[0],
                  f"{name}: program {img['header']['program']}")
        r = inspect(e, *images)
        check(r.returncode == 0 and r.stderr == "", f"{prog}: text view")
        print(f"  {prog[0]}: {len(images)} image(s) intact, "
              f"{sum(len(i['regions']) for i in imgs)} regions add up")
        for f in images:
            os.unlink(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--tests", required=True)
    cases = {"view": test_view, "verify": test_verify, "diff": test_diff,
             "decoder": test_decoder, "existing": test_existing}
    ap.add_argument("case", choices=sorted(cases))
    a = ap.parse_args()
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    e = Env(os.path.abspath(a.bin), os.path.abspath(a.tests))
    ok = False
    try:
        cases[a.case](e)
        ok = True
    except (Failure, subprocess.SubprocessError, OSError) as ex:
        print(f"FAILED: {ex}")
    finally:
        e.quit()
        subprocess.run(["rm", "-rf", e.work])
        while True:
            try:
                if os.waitpid(-1, 0)[0] <= 0:
                    break
            except ChildProcessError:
                break
    print(f"{'PASS' if ok else 'FAIL'} {a.case}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
