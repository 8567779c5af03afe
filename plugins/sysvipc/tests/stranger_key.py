#!/usr/bin/env python3
"""A SysV key the computation used is taken on the restart host by an
object outside the computation (made here, by this driver, between kill and
restart): dmtcp_restart stops within seconds with one line naming the key,
and nothing shares the stranger's object.  Once the stranger's object is
gone, the same images restart and PASS.  Once for each kind: a segment, a
semaphore set, a message queue (proc_listing.c's), a POSIX message queue
(posix_mq.c's, two processes).  Runs in a private IPC namespace (harness
--remove-ipc's), so it touches no one else's objects."""
import ctypes
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../tests/e2e"))
import harness  # noqa: E402
from harness import Failure  # noqa: E402

IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_RMID = 0
SETVAL = 16
GETVAL = 12
libc = ctypes.CDLL(None, use_errno=True)


def proc_column(kind, ident, col):
    with open(f"/proc/sysvipc/{kind}") as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if int(fields[1]) == ident:
                return int(fields[col])
    raise Failure(f"the stranger's {kind} {ident} is gone")


class SysV:
    program, peers, phrase = "sysvipc_proc_listing", 1, "is taken"

    @property
    def needle(self):
        return f"{self.key:#x}"


class Shm(SysV):
    """proc_listing.c's segment; untouched: attached by nobody."""
    key, name = 0x600001, "shm"

    def make(self):
        return libc.shmget(self.key, 4096, IPC_CREAT | IPC_EXCL | 0o600)

    def untouched(self, ident):
        return proc_column("shm", ident, 6) == 0

    def remove(self, ident):
        libc.shmctl(ident, IPC_RMID, None)


class Sem(SysV):
    """proc_listing.c's set; untouched: the value we set is still there."""
    key, name = 0x600002, "sem"

    def make(self):
        ident = libc.semget(self.key, 2, IPC_CREAT | IPC_EXCL | 0o600)
        if ident >= 0:
            libc.semctl(ident, 0, SETVAL, 42)
        return ident

    def untouched(self, ident):
        return libc.semctl(ident, 0, GETVAL) == 42

    def remove(self, ident):
        libc.semctl(ident, 0, IPC_RMID)


class Msg(SysV):
    """proc_listing.c's queue; untouched: still empty."""
    key, name = 0x600003, "msg"

    def make(self):
        return libc.msgget(self.key, IPC_CREAT | IPC_EXCL | 0o600)

    def untouched(self, ident):
        return proc_column("msg", ident, 4) == 0  # qnum

    def remove(self, ident):
        libc.msgctl(ident, IPC_RMID, None)


class MqAttr(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long),
                ("msgsize", ctypes.c_long), ("curmsgs", ctypes.c_long),
                ("reserved", ctypes.c_long * 4)]


class Mq:
    """posix_mq.c's main queue (two processes); untouched: still empty."""
    program, peers, phrase = "sysvipc_posix_mq", 2, "exists on this host"
    name = needle = "/sysvipc-test-main"

    def make(self):
        libc.mq_open.restype = ctypes.c_int
        return libc.mq_open(self.name.encode(),
                            os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600, None)

    def untouched(self, fd):
        attr = MqAttr()
        return libc.mq_getattr(fd, ctypes.byref(attr)) == 0 and \
            attr.curmsgs == 0

    def remove(self, fd):
        libc.mq_close(fd)
        libc.mq_unlink(self.name.encode())


def main():
    harness.subreaper()
    harness.private_ipc_namespace()
    for kind in (Shm(), Sem(), Msg(), Mq()):
        if not one_kind(kind):
            return 1
    print("PASS stranger_key")
    return 0


def one_kind(kind):
    bin_dir = sys.argv[1]
    program = os.path.join(os.path.dirname(sys.argv[2]), kind.program)
    comp = harness.Computation(bin_dir, harness.tempfile.mkdtemp(
        prefix="dmtcp-stranger-", dir=sys.argv[3] if len(sys.argv) > 3 else None))
    comp.start_coordinator()
    stranger = -1
    ok = False
    try:
        proc = comp.launch_ready([program])
        comp.command("--bcheckpoint")
        comp.command("--kill")
        proc.wait(timeout=30)
        harness.reap_all()
        harness.remove_ipc_objects(comp.outputs)
        stranger = kind.make()
        if stranger < 0:
            raise Failure(f"cannot make the stranger's {kind.name}")
        start = time.time()
        r = harness.subprocess.run(
            [comp.tool("dmtcp_restart"), *comp.images()], env=comp.env,
            capture_output=True, text=True, timeout=60)
        took = time.time() - start
        harness.reap_all()
        lines = [l for l in r.stderr.splitlines() if kind.phrase in l]
        if r.returncode == 0 or len(lines) != 1 or \
                kind.needle not in lines[0]:
            raise Failure(f"restart with the key taken: rc {r.returncode}, "
                          f"stderr {r.stderr!r}")
        if took > 10:
            raise Failure(f"restart took {took:.1f} s to give up")
        print(f"key taken: {lines[0]} (rc {r.returncode}, {took:.2f} s)")
        if not kind.untouched(stranger):
            raise Failure(f"the stranger's {kind.name} was touched")
        # Everything the failed restart made goes, as would a reboot's.
        kind.remove(stranger)
        stranger = -1
        harness.remove_ipc_objects(comp.outputs)
        out = os.path.join(comp.work, "restarted.out")
        proc = harness.LoggedPopen(
            [comp.tool("dmtcp_restart"), *comp.images()], out, env=comp.env)
        comp.wait_running([proc], [out], kind.peers,
                          "restart with the key free")
        open(comp.go, "w").close()
        rc = proc.wait(timeout=60)
        text = open(out).read()
        if rc != 0 or "PASS" not in text.splitlines():
            raise Failure(f"restart with the key free: rc {rc}, {text}")
        print(f"{kind.name}: key free again: restarted and PASS")
        ok = True
    except Failure as e:
        print(f"FAIL stranger_key ({kind.name}): {e}")
    finally:
        if stranger >= 0:
            kind.remove(stranger)
        comp.command("--quit", check=False)
        harness.reap_all()
    return ok


if __name__ == "__main__":
    sys.exit(main())
