#!/usr/bin/env python3
"""A python asyncio TCP echo server and its clients in one process, with
traffic running through the checkpoint.  Each client sends numbered lines
(a keyed payload) without pause and checks every echo arrives once and in
order; after the go each sends a last batch, a new client connects, and
the counts are checked.  Prints READY, then PASS."""
import asyncio
import hashlib
import os
import sys

CLIENTS = 5


def line(client, seq):
    h = hashlib.sha256(f"{client}:{seq}".encode()).hexdigest()
    return f"{client} {seq} {h * (1 + seq % 7)}\n".encode()


def go_seen():
    go = os.environ.get("DMTCP_TEST_GO")
    return go is None or os.path.exists(go)


async def echo(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def client(n, port, state):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    got = 0
    final = None  # the number of lines, once the last is written

    async def check():
        nonlocal got
        while final is None or got < final:
            data = await reader.readline()
            if not data:
                print(f"FAIL: client {n}: end of file after {got} echoes")
                sys.exit(1)
            if data != line(n, got):
                print(f"FAIL: client {n}: echo {got} is wrong: {data[:60]!r}")
                sys.exit(1)
            got += 1

    checker = asyncio.create_task(check())
    while not state["stop"]:
        writer.write(line(n, sent))
        sent += 1
        await writer.drain()
        if sent % 50 == 0:
            await asyncio.sleep(0.001)
    for _ in range(100):  # a last batch after the go
        writer.write(line(n, sent))
        sent += 1
    final = sent
    await writer.drain()
    await asyncio.wait_for(checker, 60)
    if got != sent:
        print(f"FAIL: client {n}: {got} echoes of {sent} lines")
        sys.exit(1)
    writer.close()
    return sent


async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state = {"stop": False}
    tasks = [asyncio.create_task(client(n, port, state))
             for n in range(CLIENTS)]
    await asyncio.sleep(0.3)
    print("READY", flush=True)
    while not go_seen():
        await asyncio.sleep(0.01)
    state["stop"] = True
    counts = await asyncio.gather(*tasks)
    state["stop"] = False
    late = asyncio.create_task(client(CLIENTS, port, state))
    await asyncio.sleep(0.1)
    state["stop"] = True
    await late
    server.close()
    print(f"lines echoed: {sum(counts)}", flush=True)
    print("PASS", flush=True)


asyncio.run(main())
