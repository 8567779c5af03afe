#!/usr/bin/env python3
"""Runs an e2e harness command with a TCP server outside the computation.

The server (a thread of this process, never launched) listens on
127.0.0.1, passes its port in OUTSIDE_PORT, greets every connection with
1000 bytes of stream 1, echoes what it receives, and on a lone "P" sends
500 bytes of stream 3.  Usage: outside_driver.py HARNESS ARGS..."""
import os
import socket
import subprocess
import sys
import threading


def pattern(key, length):
    # Must match socket_test.h's pat(): xorshift64* of a keyed counter.
    out = bytearray()
    mask = (1 << 64) - 1
    for i in range(length):
        s = ((key + 1) * 0x9e3779b97f4a7c15 + (i // 8) + 1) & mask
        s ^= s >> 12
        s ^= (s << 25) & mask
        s ^= s >> 27
        v = (s * 2685821657736338717) & mask
        out.append((v >> (8 * (i % 8))) & 0xff)
    return bytes(out)


def serve(conn):
    with conn:
        conn.sendall(pattern(1, 1000))
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            if data == b"P":
                conn.sendall(pattern(3, 500))
            else:
                conn.sendall(data)


def main():
    lis = socket.socket()
    lis.bind(("127.0.0.1", 0))
    lis.listen(16)

    def accept_loop():
        while True:
            conn, _ = lis.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    env = dict(os.environ, OUTSIDE_PORT=str(lis.getsockname()[1]))
    sys.exit(subprocess.run(sys.argv[1:], env=env).returncode)


if __name__ == "__main__":
    main()
